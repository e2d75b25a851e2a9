// A small SNTP client (RFC 4330) over UDP, IPv4 and IPv6, for the clock
// probe. The packet format and the offset arithmetic are pure functions
// (sntp.cc); the transport, QuerySntp, is platform code chosen by the build
// (sntp_posix.cc) and bounds every wait.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pkiwatch {

inline constexpr uint16_t kNtpPort = 123;
inline constexpr size_t kSntpPacketBytes = 48;

// NTP timestamp: seconds since 1900-01-01 (modulo 2^32, i.e. the era) in the
// high 32 bits, binary fraction in the low 32 bits.
using NtpTimestamp = uint64_t;

NtpTimestamp ToNtpTimestamp(absl::Time t);

// The decoded fixed header of an NTP packet (no extensions, no MAC).
struct SntpPacket {
  int leap = 0;        // 0-3; 3 = clock not synchronized
  int version = 0;     // 1-7
  int mode = 0;        // 3 client, 4 server, ...
  int stratum = 0;     // 0 = kiss-o'-death, 1-15 valid, 16+ unsynchronized
  int poll = 0;
  int precision = 0;
  uint32_t root_delay = 0;
  uint32_t root_dispersion = 0;
  uint32_t reference_id = 0;
  NtpTimestamp reference_time = 0;
  NtpTimestamp originate_time = 0;
  NtpTimestamp receive_time = 0;
  NtpTimestamp transmit_time = 0;
};

// A 48-byte version-4 mode-3 (client) request whose transmit timestamp is
// `transmit`; every other field is zero, as RFC 4330 section 5 asks.
std::array<uint8_t, kSntpPacketBytes> BuildSntpRequest(NtpTimestamp transmit);

// Decodes the first 48 bytes; InvalidArgument when shorter. Longer packets
// (extension fields, MAC) are accepted and the rest ignored.
absl::StatusOr<SntpPacket> DecodeSntpPacket(std::string_view bytes);

// The reply checks of RFC 4330 section 5: mode 4 (server), version 3 or 4,
// leap indicator not 3 (unsynchronized), stratum 1-15
// (stratum 0 is a kiss-o'-death whose code is named in the message), non-zero
// transmit timestamp, and originate timestamp equal to our request's
// transmit timestamp (`sent`). FailedPrecondition naming the failed check.
absl::Status ValidateSntpReply(const SntpPacket& reply, NtpTimestamp sent);

// Clock offset (reference minus local; positive when the local clock is
// behind) and round-trip delay from the four timestamps: t1 request sent
// (local), t2 request received (server), t3 reply sent (server), t4 reply
// received (local). Exact in the 32.32 fixed-point domain; correct across an
// era boundary as long as the clocks are less than 68 years apart.
struct SntpOffset {
  absl::Duration offset;
  absl::Duration delay;
};
SntpOffset ComputeSntpOffset(NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3, NtpTimestamp t4);

// The reference id as people read it: a dotted IPv4 address for stratum >= 2
// (IPv4 upstream) and four ASCII characters otherwise ("GPS", "LOCL", "RATE"),
// printable characters only.
std::string FormatReferenceId(uint32_t reference_id, int stratum);

// "host" (port 123), "host:port", "[v6]:port", "[v6]" or a bare IPv6 literal.
// InvalidArgument for an empty host, a bad port or brackets that do not close.
struct SntpServer {
  std::string host;
  uint16_t port = kNtpPort;
};
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
//    unreachable (errno text);
//  - DeadlineExceeded: no valid reply in time (replies that fail the
//    originate check are ignored, and counted in the message);
//  - FailedPrecondition: a reply came but is unusable (ValidateSntpReply);
//  - Internal / ResourceExhausted: local socket failures, too many lookups
//    still pending.
// Thread-safe.
absl::StatusOr<SntpSample> QuerySntp(std::string_view reference, const SntpOptions& options);

// Windows Sockets and Win32 codes (winerror.h) the SNTP client reports, as
// HRESULTs.
namespace sntp_hr {
inline constexpr uint32_t kWsaEAddrNotAvail = 0x80072741;
inline constexpr uint32_t kWsaENetUnreach = 0x80072743;
inline constexpr uint32_t kWsaETimedOut = 0x8007274C;
inline constexpr uint32_t kWsaEConnRefused = 0x8007274D;
inline constexpr uint32_t kWsaEHostUnreach = 0x80072751;
inline constexpr uint32_t kWsaHostNotFound = 0x80072AF9;
inline constexpr uint32_t kWsaTryAgain = 0x80072AFA;
inline constexpr uint32_t kErrorInvalidData = 0x8007000D;
}  // namespace sntp_hr

// For the platform transports: attaches the HRESULT that SntpErrorHresult
// will report for `status`.
absl::Status WithSntpHresult(absl::Status status, uint32_t hresult);

// The HRESULT a Windows client would see for a QuerySntp error: the Windows
// Sockets code of the failed call (WSAHOST_NOT_FOUND, WSATRY_AGAIN,
// WSAECONNREFUSED, WSAEHOSTUNREACH, WSAENETUNREACH, WSAETIMEDOUT),
// ERROR_INVALID_DATA for an unusable reply, E_INVALIDARG for a bad
// reference, E_FAIL for local failures; 0 for OK.
uint32_t SntpErrorHresult(const absl::Status& status);

}  // namespace pkiwatch
