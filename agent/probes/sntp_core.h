// The portable core of the SNTP client (RFC 4330): packet format, offset
// arithmetic, reference parsing and the judgement of received datagrams.
// Standard library only (no Abseil): it is also compiled with mingw-w64 into
// the Win32 layer (agent/win/sntp_client.h) and pkiwatch-diag.exe. The
// agent's Abseil API (sntp.h) wraps it; the transports (sntp_posix.cc,
// agent/win/sntp_client.cc) use it for everything but the sockets.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace pkiwatch {

inline constexpr uint16_t kNtpPort = 123;
inline constexpr size_t kSntpPacketBytes = 48;

// NTP timestamp: seconds since 1900-01-01 (modulo 2^32, i.e. the era) in the
// high 32 bits, binary fraction in the low 32 bits.
using NtpTimestamp = uint64_t;

// Windows Sockets and Win32 codes (winerror.h) the SNTP client reports, as
// HRESULTs.
namespace sntp_hr {
inline constexpr uint32_t kWsaEAddrNotAvail = 0x80072741;
inline constexpr uint32_t kWsaENetUnreach = 0x80072743;
inline constexpr uint32_t kWsaEConnReset = 0x80072746;
inline constexpr uint32_t kWsaETimedOut = 0x8007274C;
inline constexpr uint32_t kWsaEConnRefused = 0x8007274D;
inline constexpr uint32_t kWsaEHostUnreach = 0x80072751;
inline constexpr uint32_t kWsaHostNotFound = 0x80072AF9;
inline constexpr uint32_t kWsaTryAgain = 0x80072AFA;
inline constexpr uint32_t kErrorInvalidData = 0x8007000D;
inline constexpr uint32_t kEInvalidArg = 0x80070057;
inline constexpr uint32_t kEFail = 0x80004005;
}  // namespace sntp_hr

namespace sntp {

// An error of the core: the HRESULT a Windows client would report and a
// message naming what is wrong.
struct Error {
  uint32_t hresult = sntp_hr::kEFail;
  std::string message;
};

// A value or an Error (common/result.h: this core is also built with
// mingw-w64, which has no Abseil); sntp.h converts at the boundary.
template <typename T>
using Result = pkiwatch::Result<T, Error>;

// Unix time (seconds, floored, and the nanoseconds within that second) ->
// NTP timestamp; the era number is dropped (modulo 2^32 seconds).
NtpTimestamp ToNtpTimestamp(int64_t unix_seconds, uint32_t nanos);
NtpTimestamp ToNtpTimestamp(std::chrono::system_clock::time_point t);

// The decoded fixed header of an NTP packet (no extensions, no MAC).
struct Packet {
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

inline constexpr int kModeClient = 3;
inline constexpr int kModeServer = 4;

// The 48 bytes of `packet` (fields masked to their widths). Test responders
// build their replies with it.
std::array<uint8_t, kSntpPacketBytes> EncodePacket(const Packet& packet);

// A 48-byte version-4 mode-3 (client) request whose transmit timestamp is
// `transmit`; every other field is zero, as RFC 4330 section 5 asks.
std::array<uint8_t, kSntpPacketBytes> BuildRequest(NtpTimestamp transmit);

// Decodes the first 48 bytes; E_INVALIDARG when shorter. Longer packets
// (extension fields, MAC) are accepted and the rest ignored.
Result<Packet> DecodePacket(std::string_view bytes);

// The reply checks of RFC 4330 section 5: mode 4 (server), version 3 or 4,
// leap indicator not 3 (unsynchronized), stratum 1-15 (stratum 0 is a
// kiss-o'-death whose code is named in the message), non-zero transmit
// timestamp, and originate timestamp equal to our request's transmit
// timestamp (`sent`). nullopt when valid, else ERROR_INVALID_DATA naming the
// failed check.
std::optional<Error> ValidateReply(const Packet& reply, NtpTimestamp sent);

// Clock offset (reference minus local; positive when the local clock is
// behind) and round-trip delay from the four timestamps: t1 request sent
// (local), t2 request received (server), t3 reply sent (server), t4 reply
// received (local). Exact to the nanosecond (floored) in the 32.32
// fixed-point domain; correct across an era boundary as long as the clocks
// are less than 68 years apart.
struct Offset {
  std::chrono::nanoseconds offset{0};
  std::chrono::nanoseconds delay{0};
};
Offset ComputeOffset(NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3, NtpTimestamp t4);

// The reference id as people read it: a dotted IPv4 address for stratum >= 2
// (IPv4 upstream) and four ASCII characters otherwise ("GPS", "LOCL", "RATE"),
// printable characters only.
std::string FormatReferenceId(uint32_t reference_id, int stratum);

// "host" (port 123), "host:port", "[v6]:port", "[v6]" or a bare IPv6 literal.
// E_INVALIDARG for an empty host, a bad port or brackets that do not close.
struct Server {
  std::string host;
  uint16_t port = kNtpPort;
};
Result<Server> ParseReference(std::string_view reference);

// What a datagram received on the request's socket is to the request whose
// transmit timestamp was `sent`:
//  kStray:    not an answer to it (too short, or another originate
//             timestamp: a late reply to an earlier request, or forged) -
//             keep waiting; `reason` says why;
//  kRejected: the answer, but unusable (ValidateReply) - `error`;
//  kAccepted: the answer; `packet` holds it.
struct Datagram {
  enum class Kind { kStray, kRejected, kAccepted };
  Kind kind = Kind::kStray;
  std::string reason;
  Error error;
  Packet packet;
};
Datagram JudgeDatagram(std::string_view bytes, NtpTimestamp sent);

// One measurement against one server address.
struct Sample {
  std::chrono::nanoseconds offset{0};  // reference - local
  std::chrono::nanoseconds delay{0};   // round trip
  int stratum = 0;
  int leap = 0;
  int version = 0;
  std::string server_address;  // "192.0.2.1:123", "[2001:db8::1]:123"
  std::string reference_id;    // FormatReferenceId
};

// The sample of an accepted reply to the request sent at t1 (local) and
// received at t4 (local).
Sample MakeSample(const Packet& reply, NtpTimestamp t1, NtpTimestamp t4,
                  std::string server_address);

}  // namespace sntp
}  // namespace pkiwatch
