#include "agent/win/sntp_client.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "agent/win/handles.h"
#include "agent/win/strings.h"
#include "agent/win/win32.h"

namespace pkiwatch::win {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Datagrams read per address before giving up on it: a flood of forged or
// stale replies must not keep the query looping.
constexpr int kMaxDatagramsPerAddress = 16;
// Lookups that overran their deadline and still run: beyond this no new one
// is started (a dead resolver must not pile up threads).
constexpr int kMaxPendingLookups = 8;
constexpr uint32_t kEOutOfMemory = 0x8007000Eu;
constexpr uint32_t kEFail = 0x80004005u;

struct Address {
  sockaddr_storage storage{};
  int length = 0;
  int family = AF_UNSPEC;
};

// "192.0.2.1:123", "[2001:db8::1]:123".
std::string FormatAddress(const Address& a) {
  wchar_t host[NI_MAXHOST] = {};
  wchar_t service[NI_MAXSERV] = {};
  if (GetNameInfoW(reinterpret_cast<const sockaddr*>(&a.storage), a.length, host, NI_MAXHOST,
                   service, NI_MAXSERV, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  const std::string h = WideToUtf8(host);
  const std::string s = WideToUtf8(service);
  return a.family == AF_INET6 ? "[" + h + "]:" + s : h + ":" + s;
}

std::vector<Address> CollectAddresses(const ADDRINFOW* list, int max) {
  std::vector<Address> out;
  for (const ADDRINFOW* ai = list; ai != nullptr && static_cast<int>(out.size()) < max;
       ai = ai->ai_next) {
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addr == nullptr ||
        ai->ai_addrlen > sizeof(sockaddr_storage)) {
      continue;
    }
    Address a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = static_cast<int>(ai->ai_addrlen);
    a.family = ai->ai_family;
    out.push_back(a);
  }
  return out;
}

// One lookup shared between the caller and its helper thread; whoever
// leaves last frees it.
struct Lookup {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;                // guarded by mutex
  int rc = 0;                       // guarded by mutex; GetAddrInfoW's result
  std::vector<Address> addresses;   // guarded by mutex
};

std::atomic<int> g_pending_lookups{0};

// GetAddrInfoW bounded by `deadline`. Numeric addresses are converted on the
// spot; names are resolved on a detached thread so that a hanging resolver
// cannot hold the caller past its deadline.
StatusOr<std::vector<Address>> Resolve(const sntp::Server& server, SteadyClock::time_point deadline,
                                       int max_addresses) {
  const std::wstring host = Utf8ToWide(server.host);
  const std::wstring port = std::to_wstring(server.port);
  ADDRINFOW hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  UniqueAddrInfo numeric;
  if (GetAddrInfoW(host.c_str(), port.c_str(), &hints, numeric.put()) == 0) {
    return CollectAddresses(numeric.get(), max_addresses);
  }

  if (g_pending_lookups.load() >= kMaxPendingLookups) {
    return Status::Error(kEOutOfMemory, "GetAddrInfoW(" + server.host + "): " +
                                            std::to_string(kMaxPendingLookups) +
                                            " earlier lookups are still pending; not starting another");
  }
  auto lookup = std::make_shared<Lookup>();
  g_pending_lookups.fetch_add(1);
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  try {
    std::thread([lookup, host, port, hints, max_addresses]() {
      // Its own Winsock reference: the caller's may end before this does.
      auto winsock = WinsockScope::Enter();
      UniqueAddrInfo list;
      const int rc = winsock.ok() ? GetAddrInfoW(host.c_str(), port.c_str(), &hints, list.put())
                                  : WSANOTINITIALISED;
      std::vector<Address> addresses;
      if (rc == 0) addresses = CollectAddresses(list.get(), max_addresses);
      {
        std::lock_guard<std::mutex> lock(lookup->mutex);
        lookup->rc = rc;
        lookup->addresses = std::move(addresses);
        lookup->done = true;
      }
      lookup->finished.notify_all();
      g_pending_lookups.fetch_sub(1);
    }).detach();
  } catch (const std::system_error& e) {
    g_pending_lookups.fetch_sub(1);
    return Status::Error(kEOutOfMemory,
                         "std::thread for GetAddrInfoW(" + server.host + "): " + e.what());
  }

  std::unique_lock<std::mutex> lock(lookup->mutex);
  if (!lookup->finished.wait_until(lock, deadline, [&lookup] { return lookup->done; })) {
    return Status::Error(WSATRY_AGAIN, "GetAddrInfoW(" + server.host +
                                           "): no answer within the query's time limit; " +
                                           DescribeError(WSATRY_AGAIN));
  }
  if (lookup->rc != 0) {
    return ApiError("GetAddrInfoW", server.host, static_cast<uint32_t>(lookup->rc));
  }
  if (lookup->addresses.empty()) {
    return Status::Error(WSAHOST_NOT_FOUND,
                         "GetAddrInfoW(" + server.host + "): no IPv4 or IPv6 address");
  }
  return std::move(lookup->addresses);
}

// Random low bits in the transmit timestamp make a blind forged reply
// unlikely to pass the originate check (RFC 4330 section 6).
uint16_t TimestampNoise() {
  uint16_t noise = 0;
  if (!BCRYPT_SUCCESS(BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(&noise), sizeof noise,
                                      BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
    return 0;
  }
  return noise;
}

// One request to one address. Returns the sample, or the error of this
// address (the caller may try the next one).
StatusOr<sntp::Sample> QueryAddress(const Address& address, SteadyClock::duration timeout) {
  const std::string where = FormatAddress(address);
  UniqueSocket sock(socket(address.family, SOCK_DGRAM, IPPROTO_UDP));
  if (!sock) return ApiError("socket", where, static_cast<uint32_t>(WSAGetLastError()));
  // A connected UDP socket only receives datagrams from the server and
  // reports ICMP port unreachable (as WSAECONNRESET on Windows).
  if (connect(sock.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) ==
      SOCKET_ERROR) {
    return ApiError("connect", where, static_cast<uint32_t>(WSAGetLastError()));
  }

  const uint16_t noise = TimestampNoise();
  const auto steady_t1 = SteadyClock::now();
  const auto wall_t1 = std::chrono::system_clock::now();
  const NtpTimestamp t1 = (sntp::ToNtpTimestamp(wall_t1) & ~NtpTimestamp{0xffff}) | noise;
  const auto request = sntp::BuildRequest(t1);
  const int sent = send(sock.get(), reinterpret_cast<const char*>(request.data()),
                        static_cast<int>(request.size()), 0);
  if (sent == SOCKET_ERROR) return ApiError("send", where, static_cast<uint32_t>(WSAGetLastError()));
  if (sent != static_cast<int>(request.size())) {
    return Status::Error(kEFail, "send(" + where + "): short write");
  }

  const auto deadline = steady_t1 + timeout;
  int ignored = 0;
  std::string last_ignored;
  for (int datagram = 0; datagram < kMaxDatagramsPerAddress; ++datagram) {
    const auto now = SteadyClock::now();
    if (now >= deadline) break;
    const auto left = std::chrono::ceil<std::chrono::microseconds>(deadline - now);
    timeval wait;
    wait.tv_sec = static_cast<long>(left.count() / 1000000);
    wait.tv_usec = static_cast<long>(left.count() % 1000000);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(sock.get(), &readable);
    const int ready = select(0, &readable, nullptr, nullptr, &wait);
    if (ready == SOCKET_ERROR) {
      return ApiError("select", where, static_cast<uint32_t>(WSAGetLastError()));
    }
    if (ready == 0) break;
    char buffer[1024];
    const int n = recv(sock.get(), buffer, static_cast<int>(sizeof buffer), 0);
    const auto steady_t4 = SteadyClock::now();
    if (n == SOCKET_ERROR) {
      const int error = WSAGetLastError();
      if (error == WSAEWOULDBLOCK || error == WSAEINTR) continue;
      if (error == WSAEMSGSIZE) {
        ++ignored;
        last_ignored = "datagram larger than " + std::to_string(sizeof buffer) + " bytes";
        continue;
      }
      // On a UDP socket Winsock reports ICMP errors to the request here:
      // WSAECONNRESET for port unreachable, WSAENETRESET for TTL expired.
      Status failed = ApiError("recv", where, static_cast<uint32_t>(error));
      if (error == WSAECONNRESET || error == WSAECONNREFUSED) {
        return Status::Error(failed.hresult(),
                             failed.message() + " (ICMP port unreachable: nothing listens there)");
      }
      return failed;
    }
    const sntp::Datagram received =
        sntp::JudgeDatagram(std::string_view(buffer, static_cast<size_t>(n)), t1);
    if (received.kind == sntp::Datagram::Kind::kStray) {
      ++ignored;
      last_ignored = received.reason;
      continue;
    }
    if (received.kind == sntp::Datagram::Kind::kRejected) {
      return Status::Error(received.error.hresult,
                           "reply from " + where + ": " + received.error.message);
    }
    // t4 from the monotonic clock: a clock step during the exchange must not
    // enter the measurement.
    const NtpTimestamp t4 = sntp::ToNtpTimestamp(
        wall_t1 + std::chrono::duration_cast<std::chrono::system_clock::duration>(steady_t4 -
                                                                                 steady_t1));
    return sntp::MakeSample(received.packet, t1, t4, where);
  }
  std::string message =
      "no valid SNTP reply from " + where + " within " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
      " ms";
  if (ignored > 0) {
    message += " (" + std::to_string(ignored) + " datagram(s) ignored: " + last_ignored + ")";
  }
  message += "; " + DescribeError(WSAETIMEDOUT);
  return Status::Error(WSAETIMEDOUT, std::move(message));
}

}  // namespace

StatusOr<sntp::Sample> QuerySntpServer(std::string_view reference,
                                       const SntpQueryOptions& options) {
  sntp::Result<sntp::Server> server = sntp::ParseReference(reference);
  if (!server.ok()) return Status::Error(server.error().hresult, server.error().message);
  auto winsock = WinsockScope::Enter();
  if (!winsock.ok()) return winsock.status();

  const auto total = std::max(options.timeout, std::chrono::milliseconds(1));
  const auto per_address = std::max(options.per_address_timeout, std::chrono::milliseconds(1));
  const auto deadline = SteadyClock::now() + total;
  auto addresses = Resolve(*server, deadline, std::max(options.max_addresses, 1));
  if (!addresses.ok()) return addresses.status();

  Status first_error;
  for (const Address& address : *addresses) {
    const auto left = deadline - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) break;
    auto sample = QueryAddress(
        address, std::min<SteadyClock::duration>(
                     left, std::chrono::duration_cast<SteadyClock::duration>(per_address)));
    if (sample.ok()) return sample;
    if (first_error.ok()) first_error = sample.status();
  }
  if (!first_error.ok()) return first_error;
  return Status::Error(WSAETIMEDOUT, "SNTP query of " + std::string(reference) +
                                         ": time limit of " + std::to_string(total.count()) +
                                         " ms spent before any address was tried");
}

}  // namespace pkiwatch::win
