// The portable half of the SNTP client: packet format, offset arithmetic,
// reference parsing and error codes. The transport (QuerySntp) is in
// sntp_posix.cc (and, for Windows, a Winsock twin chosen by the build).

#include "agent/probes/sntp.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/error_catalogue.h"

namespace pkiwatch {
namespace {

// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
constexpr int64_t kNtpToUnixSeconds = 2208988800LL;
constexpr int kModeClient = 3;
constexpr int kModeServer = 4;
constexpr int kNtpVersion = 4;

// The Windows Sockets code of a failure travels with the Status as a
// payload, so the clock probe reports what a Windows client would see.
constexpr char kHresultPayload[] = "type.pkiwatch.dev/sntp.hresult";

uint32_t ReadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint64_t ReadBe64(const uint8_t* p) { return (uint64_t{ReadBe32(p)} << 32) | ReadBe32(p + 4); }
void WriteBe64(uint64_t v, uint8_t* p) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

// Signed 32.32 fixed point -> Duration, exactly: the arithmetic shift floors
// the seconds and leaves a non-negative fraction.
absl::Duration FixedToDuration(int64_t fixed) {
  const int64_t seconds = fixed >> 32;
  const uint64_t fraction = static_cast<uint64_t>(fixed) & 0xffffffffu;
  return absl::Seconds(seconds) + absl::Nanoseconds(static_cast<int64_t>((fraction * 1000000000u) >> 32));
}

// a - b in the 32.32 domain, modulo 2^64: right whenever the true difference
// is within +-2^31 s (68 years), also across an era boundary.
int64_t Diff(NtpTimestamp a, NtpTimestamp b) { return static_cast<int64_t>(a - b); }

}  // namespace

absl::Status WithSntpHresult(absl::Status status, uint32_t hresult) {
  status.SetPayload(kHresultPayload, absl::Cord(absl::StrCat(hresult)));
  return status;
}

NtpTimestamp ToNtpTimestamp(absl::Time t) {
  const int64_t unix_seconds = absl::ToUnixSeconds(t);  // floors
  const int64_t nanos = absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(unix_seconds));
  // Modulo 2^32: the era number is not carried in the packet.
  const uint32_t seconds = static_cast<uint32_t>(static_cast<uint64_t>(unix_seconds + kNtpToUnixSeconds));
  const uint64_t fraction = (static_cast<uint64_t>(nanos) << 32) / 1000000000u;
  return (uint64_t{seconds} << 32) | (fraction & 0xffffffffu);
}

std::array<uint8_t, kSntpPacketBytes> BuildSntpRequest(NtpTimestamp transmit) {
  std::array<uint8_t, kSntpPacketBytes> packet{};
  packet[0] = static_cast<uint8_t>((0 << 6) | (kNtpVersion << 3) | kModeClient);
  WriteBe64(transmit, packet.data() + 40);
  return packet;
}

absl::StatusOr<SntpPacket> DecodeSntpPacket(std::string_view bytes) {
  if (bytes.size() < kSntpPacketBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SNTP packet of %d bytes is shorter than %d", bytes.size(), kSntpPacketBytes));
  }
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  SntpPacket packet;
  packet.leap = p[0] >> 6;
  packet.version = (p[0] >> 3) & 7;
  packet.mode = p[0] & 7;
  packet.stratum = p[1];
  packet.poll = static_cast<int8_t>(p[2]);
  packet.precision = static_cast<int8_t>(p[3]);
  packet.root_delay = ReadBe32(p + 4);
  packet.root_dispersion = ReadBe32(p + 8);
  packet.reference_id = ReadBe32(p + 12);
  packet.reference_time = ReadBe64(p + 16);
  packet.originate_time = ReadBe64(p + 24);
  packet.receive_time = ReadBe64(p + 32);
  packet.transmit_time = ReadBe64(p + 40);
  return packet;
}

absl::Status ValidateSntpReply(const SntpPacket& reply, NtpTimestamp sent) {
  if (reply.mode != kModeServer) {
    return absl::FailedPreconditionError(
        absl::StrFormat("mode %d, expected 4 (server)", reply.mode));
  }
  if (reply.version != 3 && reply.version != 4) {
    return absl::FailedPreconditionError(
        absl::StrFormat("NTP version %d, expected 3 or 4", reply.version));
  }
  if (reply.stratum == 0) {
    // Kiss-o'-death (RFC 4330 section 8): the code is in the reference id.
    return absl::FailedPreconditionError(absl::StrFormat(
        "kiss-o'-death \"%s\" (stratum 0): the server refuses to serve us",
        FormatReferenceId(reply.reference_id, 0)));
  }
  if (reply.stratum > 15) {
    return absl::FailedPreconditionError(
        absl::StrFormat("stratum %d: the server is not synchronized", reply.stratum));
  }
  if (reply.leap == 3) {
    return absl::FailedPreconditionError(
        "leap indicator 3 (alarm): the server's clock is not synchronized");
  }
  if (reply.transmit_time == 0) {
    return absl::FailedPreconditionError("transmit timestamp is zero");
  }
  if (reply.originate_time != sent) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "originate timestamp %016x does not match our transmit timestamp %016x",
        reply.originate_time, sent));
  }
  return absl::OkStatus();
}

SntpOffset ComputeSntpOffset(NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3, NtpTimestamp t4) {
  const int64_t d21 = Diff(t2, t1);
  const int64_t d34 = Diff(t3, t4);
  const int64_t d41 = Diff(t4, t1);
  const int64_t d32 = Diff(t3, t2);
  // Halved separately so the sum cannot overflow; the lost half unit
  // (2^-33 s) does not matter.
  SntpOffset out;
  out.offset = FixedToDuration(d21 / 2 + d34 / 2);
  out.delay = FixedToDuration(d41 - d32);
  return out;
}

std::string FormatReferenceId(uint32_t reference_id, int stratum) {
  if (stratum >= 2 && stratum <= 15) {
    // For IPv6 upstreams this is a hash, still shown as four octets.
    return absl::StrFormat("%d.%d.%d.%d", reference_id >> 24, (reference_id >> 16) & 0xff,
                           (reference_id >> 8) & 0xff, reference_id & 0xff);
  }
  std::string text;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((reference_id >> shift) & 0xff);
    if (c == '\0') break;
    text.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return text;
}

absl::StatusOr<SntpServer> ParseSntpReference(std::string_view reference) {
  SntpServer server;
  std::string_view host = reference;
  std::string_view port;
  if (!reference.empty() && reference.front() == '[') {
    const size_t close = reference.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("clock reference \"", std::string(reference), "\": '[' without ']'"));
    }
    host = reference.substr(1, close - 1);
    const std::string_view rest = reference.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return absl::InvalidArgumentError(absl::StrCat(
            "clock reference \"", std::string(reference), "\": text after ']' is not \":port\""));
      }
      port = rest.substr(1);
      if (port.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("clock reference \"", std::string(reference), "\": empty port"));
      }
    }
  } else if (const size_t colon = reference.find(':');
             colon != std::string_view::npos && reference.find(':', colon + 1) == std::string_view::npos) {
    // Exactly one colon: host:port. More: a bare IPv6 literal.
    host = reference.substr(0, colon);
    port = reference.substr(colon + 1);
    if (port.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("clock reference \"", std::string(reference), "\": empty port"));
    }
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("clock reference \"", std::string(reference), "\": empty host"));
  }
  if (host.find_first_of(std::string_view(" \t\r\n/\0", 6)) != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "clock reference \"", std::string(reference), "\": host contains spaces, '/' or NUL"));
  }
  if (!port.empty()) {
    uint32_t value = 0;
    if (!absl::SimpleAtoi(absl::string_view(port.data(), port.size()), &value) || value == 0 ||
        value > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "clock reference \"", std::string(reference), "\": port is not 1-65535"));
    }
    server.port = static_cast<uint16_t>(value);
  }
  server.host = std::string(host);
  return server;
}

uint32_t SntpErrorHresult(const absl::Status& status) {
  if (status.ok()) return hr::kSOk;
  if (auto payload = status.GetPayload(kHresultPayload); payload.has_value()) {
    uint32_t value = 0;
    if (absl::SimpleAtoi(std::string(*payload), &value)) return value;
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return hr::kEInvalidArg;
    case absl::StatusCode::kNotFound:
      return sntp_hr::kWsaHostNotFound;
    case absl::StatusCode::kDeadlineExceeded:
      return sntp_hr::kWsaETimedOut;
    case absl::StatusCode::kFailedPrecondition:
      return sntp_hr::kErrorInvalidData;
    default:
      return hr::kEFail;
  }
}

}  // namespace pkiwatch
