// The POSIX transport of the SNTP client (sntp.h): bounded name resolution
// and one UDP exchange per address with poll(). Chosen by the build on every
// platform but Windows.
#include "agent/probes/sntp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/error_catalogue.h"

namespace pkiwatch {
namespace {

// Datagrams read per address before giving up on it: a flood of forged or
// stale replies must not keep the probe looping.
constexpr int kMaxDatagramsPerAddress = 16;
// getaddrinfo calls that overran their deadline and still run: beyond this
// no new lookup is started (a dead resolver must not pile up threads).
constexpr int kMaxPendingLookups = 8;

absl::Status WithHresult(absl::Status status, uint32_t hresult) {
  return WithSntpHresult(std::move(status), hresult);
}

uint32_t HresultForErrno(int err) {
  switch (err) {
    case ECONNREFUSED:
      return sntp_hr::kWsaEConnRefused;
    case EHOSTUNREACH:
      return sntp_hr::kWsaEHostUnreach;
    case ENETUNREACH:
      return sntp_hr::kWsaENetUnreach;
    case EADDRNOTAVAIL:
      return sntp_hr::kWsaEAddrNotAvail;
    case ETIMEDOUT:
      return sntp_hr::kWsaETimedOut;
    default:
      return hr::kEFail;
  }
}

// strerror_r comes in a GNU (char*) and an XSI (int) flavour.
[[maybe_unused]] std::string StrErrorResult(int rc, const char* buf) {
  return rc == 0 ? std::string(buf) : std::string("unknown error");
}
[[maybe_unused]] std::string StrErrorResult(const char* text, const char*) {
  return text != nullptr ? std::string(text) : std::string("unknown error");
}
std::string ErrnoText(int err) {
  char buf[256] = {};
  return absl::StrFormat("errno %d %s", err, StrErrorResult(strerror_r(err, buf, sizeof(buf)), buf));
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&&) = delete;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const {
    if (ai != nullptr) freeaddrinfo(ai);
  }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_UNSPEC;
};

std::string FormatAddress(const Address& a) {
  char host[NI_MAXHOST] = {};
  char serv[NI_MAXSERV] = {};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a.storage), a.length, host, sizeof(host),
                  serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  return a.family == AF_INET6 ? absl::StrCat("[", host, "]:", serv) : absl::StrCat(host, ":", serv);
}

std::vector<Address> CollectAddresses(const addrinfo* list, int max) {
  std::vector<Address> out;
  for (const addrinfo* ai = list; ai != nullptr && static_cast<int>(out.size()) < max;
       ai = ai->ai_next) {
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addr == nullptr ||
        ai->ai_addrlen > sizeof(sockaddr_storage)) {
      continue;
    }
    Address a;
    memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    a.family = ai->ai_family;
    out.push_back(a);
  }
  return out;
}

// One lookup shared between the caller and its helper thread; whoever
// leaves last frees it.
struct Lookup {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  int rc ABSL_GUARDED_BY(mu) = 0;
  int sys_errno ABSL_GUARDED_BY(mu) = 0;  // errno of the helper thread (EAI_SYSTEM)
  AddrInfoPtr result ABSL_GUARDED_BY(mu);
};

std::atomic<int> g_pending_lookups{0};

// getaddrinfo bounded by `timeout`. Numeric addresses are converted on the
// spot; names are resolved on a detached thread so that a hanging resolver
// cannot hold the probe past its deadline.
absl::StatusOr<std::vector<Address>> Resolve(const SntpServer& server, absl::Duration timeout,
                                             int max_addresses) {
  const std::string port = absl::StrCat(server.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* numeric = nullptr;
  if (getaddrinfo(server.host.c_str(), port.c_str(), &hints, &numeric) == 0) {
    AddrInfoPtr owner(numeric);
    return CollectAddresses(owner.get(), max_addresses);
  }

  if (g_pending_lookups.load() >= kMaxPendingLookups) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "getaddrinfo(%s): %d earlier lookups are still pending; not starting another",
        server.host, kMaxPendingLookups));
  }
  auto lookup = std::make_shared<Lookup>();
  g_pending_lookups.fetch_add(1);
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  try {
    std::thread([lookup, host = server.host, port, hints]() {
      addrinfo* list = nullptr;
      const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
      const int err = errno;
      AddrInfoPtr owner(list);
      absl::MutexLock lock(&lookup->mu);
      lookup->rc = rc;
      lookup->sys_errno = err;
      lookup->result = std::move(owner);
      lookup->done = true;
      g_pending_lookups.fetch_sub(1);
    }).detach();
  } catch (const std::system_error& e) {
    g_pending_lookups.fetch_sub(1);
    return absl::ResourceExhaustedError(
        absl::StrCat("std::thread for getaddrinfo(", server.host, "): ", e.what()));
  }

  absl::MutexLock lock(&lookup->mu);
  auto done = [&lookup]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lookup->mu) { return lookup->done; };
  if (!lookup->mu.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return WithHresult(absl::DeadlineExceededError(absl::StrFormat(
                           "getaddrinfo(%s): no answer within %s", server.host,
                           absl::FormatDuration(timeout))),
                       sntp_hr::kWsaTryAgain);
  }
  if (lookup->rc != 0) {
    const std::string text = lookup->rc == EAI_SYSTEM ? ErrnoText(lookup->sys_errno) : gai_strerror(lookup->rc);
    // EAI_AGAIN is a resolver failure (server unreachable), not "no such name".
    if (lookup->rc == EAI_AGAIN) {
      return WithHresult(absl::UnavailableError(absl::StrFormat("getaddrinfo(%s): EAI_AGAIN %s",
                                                                server.host, text)),
                         sntp_hr::kWsaTryAgain);
    }
    return WithHresult(absl::NotFoundError(absl::StrFormat("getaddrinfo(%s): error %d %s",
                                                           server.host, lookup->rc, text)),
                       sntp_hr::kWsaHostNotFound);
  }
  std::vector<Address> addresses = CollectAddresses(lookup->result.get(), max_addresses);
  if (addresses.empty()) {
    return WithHresult(absl::NotFoundError(absl::StrFormat(
                           "getaddrinfo(%s): no IPv4 or IPv6 address", server.host)),
                       sntp_hr::kWsaHostNotFound);
  }
  return addresses;
}

int ToPollMillis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, INT_MAX));
}

// One request to one address. Returns the sample, or the error of this
// address (the caller may try the next one).
absl::StatusOr<SntpSample> QueryAddress(const Address& address, absl::Duration timeout) {
  const std::string where = FormatAddress(address);
  UniqueFd fd(socket(address.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP));
  if (fd.get() < 0) {
    const int err = errno;
    return absl::InternalError(absl::StrCat("socket(", where, "): ", ErrnoText(err)));
  }
  // A connected UDP socket only receives datagrams from the server and
  // reports ICMP port unreachable as ECONNREFUSED.
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    const int err = errno;
    return WithHresult(
        absl::UnavailableError(absl::StrCat("connect(", where, "): ", ErrnoText(err))),
        HresultForErrno(err));
  }

  // Random low bits in the transmit timestamp make a blind forged reply
  // unlikely to pass the originate check (RFC 4330 section 6).
  uint16_t noise = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&noise), sizeof(noise)) != 1) noise = 0;
  const auto steady_t1 = std::chrono::steady_clock::now();
  const absl::Time wall_t1 = absl::Now();
  const NtpTimestamp t1 = (ToNtpTimestamp(wall_t1) & ~NtpTimestamp{0xffff}) | noise;
  const std::array<uint8_t, kSntpPacketBytes> request = BuildSntpRequest(t1);
  const ssize_t sent = send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
  if (sent != static_cast<ssize_t>(request.size())) {
    const int err = errno;
    return WithHresult(absl::UnavailableError(absl::StrCat(
                           "send(", where, "): ", sent < 0 ? ErrnoText(err) : "short write")),
                       sent < 0 ? HresultForErrno(err) : hr::kEFail);
  }

  const auto deadline = steady_t1 + absl::ToChronoNanoseconds(timeout);
  int ignored = 0;
  std::string last_ignored;
  for (int datagram = 0; datagram < kMaxDatagramsPerAddress; ++datagram) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    pollfd pfd{fd.get(), POLLIN, 0};
    const int ready = poll(&pfd, 1, ToPollMillis(absl::FromChrono(deadline - now)));
    if (ready < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      return absl::InternalError(absl::StrCat("poll(", where, "): ", ErrnoText(err)));
    }
    if (ready == 0) break;
    uint8_t buf[512];
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    const auto steady_t4 = std::chrono::steady_clock::now();
    if (n < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) continue;
      // ECONNREFUSED (ICMP port unreachable), EHOSTUNREACH, ENETUNREACH.
      return WithHresult(
          absl::UnavailableError(absl::StrCat("recv(", where, "): ", ErrnoText(err))),
          HresultForErrno(err));
    }
    const sntp::Datagram received = sntp::JudgeDatagram(
        std::string_view(reinterpret_cast<const char*>(buf), static_cast<size_t>(n)), t1);
    if (received.kind == sntp::Datagram::Kind::kStray) {
      ++ignored;
      last_ignored = received.reason;
      continue;
    }
    if (received.kind == sntp::Datagram::Kind::kRejected) {
      return WithHresult(absl::FailedPreconditionError(
                             absl::StrCat("reply from ", where, ": ", received.error.message)),
                         received.error.hresult);
    }
    // t4 from the monotonic clock: a clock step during the exchange must not
    // enter the measurement.
    const NtpTimestamp t4 = ToNtpTimestamp(wall_t1 + absl::FromChrono(steady_t4 - steady_t1));
    return ToSntpSample(sntp::MakeSample(received.packet, t1, t4, where));
  }
  std::string message = absl::StrFormat("no valid SNTP reply from %s within %s", where,
                                        absl::FormatDuration(timeout));
  if (ignored > 0) {
    absl::StrAppend(&message, " (", ignored, " datagram(s) ignored: ", last_ignored, ")");
  }
  return WithHresult(absl::DeadlineExceededError(message), sntp_hr::kWsaETimedOut);
}

}  // namespace

absl::StatusOr<SntpSample> QuerySntp(std::string_view reference, const SntpOptions& options) {
  absl::StatusOr<SntpServer> server = ParseSntpReference(reference);
  if (!server.ok()) return server.status();
  const auto start = std::chrono::steady_clock::now();
  const absl::Duration total = std::max(options.timeout, absl::Milliseconds(1));
  auto remaining = [&]() {
    return total - absl::FromChrono(std::chrono::steady_clock::now() - start);
  };
  absl::StatusOr<std::vector<Address>> addresses =
      Resolve(*server, total, std::max(options.max_addresses, 1));
  if (!addresses.ok()) return addresses.status();

  absl::Status first_error;
  for (const Address& address : *addresses) {
    const absl::Duration left = remaining();
    if (left <= absl::ZeroDuration()) break;
    absl::StatusOr<SntpSample> sample =
        QueryAddress(address, std::min(left, std::max(options.per_address_timeout,
                                                      absl::Milliseconds(1))));
    if (sample.ok()) return sample;
    if (first_error.ok()) first_error = sample.status();
  }
  if (!first_error.ok()) return first_error;
  return absl::DeadlineExceededError(absl::StrFormat(
      "SNTP query of %s: time limit of %s spent before any address was tried",
      std::string(reference), absl::FormatDuration(total)));
}

}  // namespace pkiwatch
