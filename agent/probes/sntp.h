// A small SNTP client (RFC 4330) over UDP, IPv4 and IPv6, for the clock
// probe: the Abseil API of the agent. The packet format, the offset
// arithmetic and reference parsing are the standard-library core
// (sntp_core.h), wrapped here; the transport, QuerySntp, is platform code
// chosen by the build (sntp_posix.cc, or sntp_win.cc over the Winsock client
// of agent/win/sntp_client.h) and bounds every wait.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/probes/sntp_core.h"

namespace pkiwatch {

NtpTimestamp ToNtpTimestamp(absl::Time t);

using SntpPacket = sntp::Packet;

// A 48-byte version-4 mode-3 (client) request whose transmit timestamp is
// `transmit`; every other field is zero, as RFC 4330 section 5 asks.
inline std::array<uint8_t, kSntpPacketBytes> BuildSntpRequest(NtpTimestamp transmit) {
  return sntp::BuildRequest(transmit);
}

// Decodes the first 48 bytes; InvalidArgument when shorter. Longer packets
// (extension fields, MAC) are accepted and the rest ignored.
absl::StatusOr<SntpPacket> DecodeSntpPacket(std::string_view bytes);

// sntp::ValidateReply: mode 4, version 3 or 4, leap indicator not 3, stratum
// 1-15 (stratum 0 is a kiss-o'-death whose code is named in the message),
// non-zero transmit timestamp, originate timestamp equal to `sent`.
// FailedPrecondition naming the failed check.
absl::Status ValidateSntpReply(const SntpPacket& reply, NtpTimestamp sent);

// Clock offset (reference minus local; positive when the local clock is
// behind) and round-trip delay from the four timestamps (sntp::ComputeOffset).
struct SntpOffset {
  absl::Duration offset;
  absl::Duration delay;
};
SntpOffset ComputeSntpOffset(NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3, NtpTimestamp t4);

// A dotted IPv4 address for stratum >= 2, four ASCII characters otherwise.
using sntp::FormatReferenceId;

// "host" (port 123), "host:port", "[v6]:port", "[v6]" or a bare IPv6 literal.
// InvalidArgument for an empty host, a bad port or brackets that do not close.
using SntpServer = sntp::Server;
absl::StatusOr<SntpServer> ParseSntpReference(std::string_view reference);

struct SntpOptions {
  // Whole query: name resolution and every address tried.
  absl::Duration timeout = absl::Seconds(5);
  // Wait for a reply from one address before the next one is tried.
  absl::Duration per_address_timeout = absl::Seconds(2);
  // At most this many resolved addresses are tried.
  int max_addresses = 4;
};

struct SntpSample {
  absl::Duration offset;       // reference - local
  absl::Duration delay;        // round trip
  int stratum = 0;
  int leap = 0;
  int version = 0;
  std::string server_address;  // "192.0.2.1:123", "[2001:db8::1]:123"
  std::string reference_id;    // FormatReferenceId
};

// Queries `reference` once and returns the first valid reply. Blocks for at
// most about options.timeout (name resolution runs on a helper thread that
// is abandoned, not waited for, when it overruns). Errors, all naming the
// call and the address:
//  - InvalidArgument: the reference does not parse;
//  - NotFound: the name does not resolve (getaddrinfo's text);
//  - Unavailable: the server refused (ICMP port unreachable) or is
//    unreachable (errno / Windows Sockets text);
//  - DeadlineExceeded: no valid reply in time (replies that fail the
//    originate check are ignored, and counted in the message);
//  - FailedPrecondition: a reply came but is unusable (ValidateSntpReply);
//  - Internal / ResourceExhausted: local socket failures, too many lookups
//    still pending.
// Thread-safe.
absl::StatusOr<SntpSample> QuerySntp(std::string_view reference, const SntpOptions& options);

// For the platform transports: attaches the HRESULT that SntpErrorHresult
// will report for `status`.
absl::Status WithSntpHresult(absl::Status status, uint32_t hresult);

// For the platform transports: a core sample with Abseil durations.
SntpSample ToSntpSample(sntp::Sample sample);

// The HRESULT a Windows client would see for a QuerySntp error: the Windows
// Sockets code of the failed call (WSAHOST_NOT_FOUND, WSATRY_AGAIN,
// WSAECONNREFUSED - WSAECONNRESET from Winsock for ICMP port unreachable -,
// WSAEHOSTUNREACH, WSAENETUNREACH, WSAETIMEDOUT),
// ERROR_INVALID_DATA for an unusable reply, E_INVALIDARG for a bad
// reference, E_FAIL for local failures; 0 for OK.
uint32_t SntpErrorHresult(const absl::Status& status);

}  // namespace pkiwatch
