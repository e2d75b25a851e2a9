// The Windows Sockets transport of the SNTP client: name resolution
// (GetAddrInfoW, IPv4 and IPv6) bounded by the query's time limit, then one
// UDP request per address on a connected socket, waiting with select().
// Packet format, reply checks and the offset arithmetic are the portable
// core's (agent/probes/sntp_core.h). The agent's QuerySntp on Windows
// (agent/probes/sntp_win.cc) and pkiwatch-diag's clock check call it.
#pragma once

#include <chrono>
#include <string_view>

#include "agent/probes/sntp_core.h"
#include "agent/win/status.h"

namespace pkiwatch::win {

struct SntpQueryOptions {
  // Whole query: name resolution and every address tried.
  std::chrono::milliseconds timeout{5000};
  // Wait for a reply from one address before the next one is tried.
  std::chrono::milliseconds per_address_timeout{2000};
  // At most this many resolved addresses are tried.
  int max_addresses = 4;
};

// Queries `reference` ("host", "host:port", "[v6]:port"; sntp::ParseReference)
// once and returns the first valid reply's measurement. Blocks for at most
// about options.timeout: a name lookup that overruns is abandoned on its
// helper thread, not waited for. Errors carry the Windows Sockets code as
// HRESULT_FROM_WIN32 and name the call and the address:
//  - E_INVALIDARG: the reference does not parse;
//  - WSAHOST_NOT_FOUND, WSANO_DATA, WSATRY_AGAIN (GetAddrInfoW): the name
//    does not resolve, or the lookup did not finish in time (WSATRY_AGAIN);
//  - WSAECONNRESET (ICMP port unreachable: nothing listens there),
//    WSAECONNREFUSED, WSAEHOSTUNREACH, WSAENETUNREACH: the server cannot be
//    reached;
//  - WSAETIMEDOUT: no valid reply in time (datagrams that are not a reply to
//    this request are ignored, and counted in the message);
//  - ERROR_INVALID_DATA: a reply came but is unusable (sntp::ValidateReply);
//  - E_OUTOFMEMORY: too many earlier lookups still pending; other Winsock
//    codes for local socket failures.
// Thread-safe; initializes Winsock itself.
StatusOr<sntp::Sample> QuerySntpServer(std::string_view reference,
                                       const SntpQueryOptions& options);

}  // namespace pkiwatch::win
