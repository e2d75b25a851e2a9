#include "agent/probes/sntp_core.h"

#include <charconv>
#include <cstdio>

namespace pkiwatch::sntp {
namespace {

// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
constexpr int64_t kNtpToUnixSeconds = 2208988800LL;
constexpr int kNtpVersion = 4;

uint32_t ReadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint64_t ReadBe64(const uint8_t* p) { return (uint64_t{ReadBe32(p)} << 32) | ReadBe32(p + 4); }
void WriteBe32(uint32_t v, uint8_t* p) {
  for (int i = 3; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}
void WriteBe64(uint64_t v, uint8_t* p) {
  WriteBe32(static_cast<uint32_t>(v >> 32), p);
  WriteBe32(static_cast<uint32_t>(v), p + 4);
}

// Signed 32.32 fixed point -> nanoseconds, exactly: the arithmetic shift
// floors the seconds and leaves a non-negative fraction. |fixed| < 2^63
// means |seconds| < 2^31, so the product stays far inside int64.
std::chrono::nanoseconds FixedToNanoseconds(int64_t fixed) {
  const int64_t seconds = fixed >> 32;
  const uint64_t fraction = static_cast<uint64_t>(fixed) & 0xffffffffu;
  return std::chrono::nanoseconds(seconds * 1000000000LL +
                                  static_cast<int64_t>((fraction * 1000000000u) >> 32));
}

// a - b in the 32.32 domain, modulo 2^64: right whenever the true difference
// is within +-2^31 s (68 years), also across an era boundary.
int64_t Diff(NtpTimestamp a, NtpTimestamp b) { return static_cast<int64_t>(a - b); }

template <typename... Args>
std::string Format(const char* format, Args... args) {
  char buffer[256];
  const int n = std::snprintf(buffer, sizeof buffer, format, args...);
  if (n < 0) return format;
  return std::string(buffer, static_cast<size_t>(n) < sizeof buffer ? static_cast<size_t>(n)
                                                                    : sizeof buffer - 1);
}

Error ReferenceError(std::string_view reference, std::string_view what) {
  std::string message = "clock reference \"";
  message += reference;
  message += "\": ";
  message += what;
  return Error{sntp_hr::kEInvalidArg, std::move(message)};
}

}  // namespace

NtpTimestamp ToNtpTimestamp(int64_t unix_seconds, uint32_t nanos) {
  // Modulo 2^32: the era number is not carried in the packet.
  const uint32_t seconds =
      static_cast<uint32_t>(static_cast<uint64_t>(unix_seconds + kNtpToUnixSeconds));
  const uint64_t fraction = (static_cast<uint64_t>(nanos % 1000000000u) << 32) / 1000000000u;
  return (uint64_t{seconds} << 32) | (fraction & 0xffffffffu);
}

NtpTimestamp ToNtpTimestamp(std::chrono::system_clock::time_point t) {
  const auto since_epoch = t.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds);
  return ToNtpTimestamp(static_cast<int64_t>(seconds.count()), static_cast<uint32_t>(nanos.count()));
}

std::array<uint8_t, kSntpPacketBytes> EncodePacket(const Packet& packet) {
  std::array<uint8_t, kSntpPacketBytes> out{};
  out[0] = static_cast<uint8_t>(((packet.leap & 3) << 6) | ((packet.version & 7) << 3) |
                                (packet.mode & 7));
  out[1] = static_cast<uint8_t>(packet.stratum);
  out[2] = static_cast<uint8_t>(static_cast<int8_t>(packet.poll));
  out[3] = static_cast<uint8_t>(static_cast<int8_t>(packet.precision));
  WriteBe32(packet.root_delay, out.data() + 4);
  WriteBe32(packet.root_dispersion, out.data() + 8);
  WriteBe32(packet.reference_id, out.data() + 12);
  WriteBe64(packet.reference_time, out.data() + 16);
  WriteBe64(packet.originate_time, out.data() + 24);
  WriteBe64(packet.receive_time, out.data() + 32);
  WriteBe64(packet.transmit_time, out.data() + 40);
  return out;
}

std::array<uint8_t, kSntpPacketBytes> BuildRequest(NtpTimestamp transmit) {
  Packet request;
  request.version = kNtpVersion;
  request.mode = kModeClient;
  request.transmit_time = transmit;
  return EncodePacket(request);
}

Result<Packet> DecodePacket(std::string_view bytes) {
  if (bytes.size() < kSntpPacketBytes) {
    return Error{sntp_hr::kEInvalidArg,
                 Format("SNTP packet of %zu bytes is shorter than %zu", bytes.size(),
                        kSntpPacketBytes)};
  }
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  Packet packet;
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

std::optional<Error> ValidateReply(const Packet& reply, NtpTimestamp sent) {
  auto invalid = [](std::string message) {
    return std::optional<Error>(Error{sntp_hr::kErrorInvalidData, std::move(message)});
  };
  if (reply.mode != kModeServer) {
    return invalid(Format("mode %d, expected 4 (server)", reply.mode));
  }
  if (reply.version != 3 && reply.version != 4) {
    return invalid(Format("NTP version %d, expected 3 or 4", reply.version));
  }
  if (reply.stratum == 0) {
    // Kiss-o'-death (RFC 4330 section 8): the code is in the reference id.
    return invalid("kiss-o'-death \"" + FormatReferenceId(reply.reference_id, 0) +
                   "\" (stratum 0): the server refuses to serve us");
  }
  if (reply.stratum > 15) {
    return invalid(Format("stratum %d: the server is not synchronized", reply.stratum));
  }
  if (reply.leap == 3) {
    return invalid("leap indicator 3 (alarm): the server's clock is not synchronized");
  }
  if (reply.transmit_time == 0) return invalid("transmit timestamp is zero");
  if (reply.originate_time != sent) {
    return invalid(Format("originate timestamp %016llx does not match our transmit timestamp %016llx",
                          static_cast<unsigned long long>(reply.originate_time),
                          static_cast<unsigned long long>(sent)));
  }
  return std::nullopt;
}

Offset ComputeOffset(NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3, NtpTimestamp t4) {
  const int64_t d21 = Diff(t2, t1);
  const int64_t d34 = Diff(t3, t4);
  const int64_t d41 = Diff(t4, t1);
  const int64_t d32 = Diff(t3, t2);
  // Halved separately so the sum cannot overflow; the lost half unit
  // (2^-33 s) does not matter.
  Offset out;
  out.offset = FixedToNanoseconds(d21 / 2 + d34 / 2);
  out.delay = FixedToNanoseconds(d41 - d32);
  return out;
}

std::string FormatReferenceId(uint32_t reference_id, int stratum) {
  if (stratum >= 2 && stratum <= 15) {
    // For IPv6 upstreams this is a hash, still shown as four octets.
    return Format("%u.%u.%u.%u", reference_id >> 24, (reference_id >> 16) & 0xff,
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

Result<Server> ParseReference(std::string_view reference) {
  Server server;
  std::string_view host = reference;
  std::string_view port;
  if (!reference.empty() && reference.front() == '[') {
    const size_t close = reference.find(']');
    if (close == std::string_view::npos) return ReferenceError(reference, "'[' without ']'");
    host = reference.substr(1, close - 1);
    const std::string_view rest = reference.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return ReferenceError(reference, "text after ']' is not \":port\"");
      }
      port = rest.substr(1);
      if (port.empty()) return ReferenceError(reference, "empty port");
    }
  } else if (const size_t colon = reference.find(':');
             colon != std::string_view::npos &&
             reference.find(':', colon + 1) == std::string_view::npos) {
    // Exactly one colon: host:port. More: a bare IPv6 literal.
    host = reference.substr(0, colon);
    port = reference.substr(colon + 1);
    if (port.empty()) return ReferenceError(reference, "empty port");
  }
  if (host.empty()) return ReferenceError(reference, "empty host");
  if (host.find_first_of(std::string_view(" \t\r\n/\0", 6)) != std::string_view::npos) {
    return ReferenceError(reference, "host contains spaces, '/' or NUL");
  }
  if (!port.empty()) {
    uint32_t value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return ReferenceError(reference, "port is not 1-65535");
    }
    server.port = static_cast<uint16_t>(value);
  }
  server.host = std::string(host);
  return server;
}

Datagram JudgeDatagram(std::string_view bytes, NtpTimestamp sent) {
  Datagram out;
  Result<Packet> packet = DecodePacket(bytes);
  if (!packet.ok()) {
    out.reason = packet.error().message;
    return out;
  }
  // A reply to another (earlier, or forged) request: the caller keeps
  // waiting for its own.
  if (packet->originate_time != sent) {
    out.reason = "originate timestamp does not match our request";
    return out;
  }
  if (std::optional<Error> invalid = ValidateReply(*packet, sent); invalid.has_value()) {
    out.kind = Datagram::Kind::kRejected;
    out.error = std::move(*invalid);
    return out;
  }
  out.kind = Datagram::Kind::kAccepted;
  out.packet = *packet;
  return out;
}

Sample MakeSample(const Packet& reply, NtpTimestamp t1, NtpTimestamp t4,
                  std::string server_address) {
  const Offset o = ComputeOffset(t1, reply.receive_time, reply.transmit_time, t4);
  Sample sample;
  sample.offset = o.offset;
  sample.delay = o.delay;
  sample.stratum = reply.stratum;
  sample.leap = reply.leap;
  sample.version = reply.version;
  sample.server_address = std::move(server_address);
  sample.reference_id = FormatReferenceId(reply.reference_id, reply.stratum);
  return sample;
}

}  // namespace pkiwatch::sntp
