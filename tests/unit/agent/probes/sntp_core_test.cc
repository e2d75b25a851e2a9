// The standard-library SNTP core and clock thresholds (the part the Winsock
// client and pkiwatch-diag share with the agent): encode/decode round trip,
// std::chrono timestamps, datagram judgement, samples, skew levels.
#include "agent/probes/sntp_core.h"

#include <chrono>
#include <string>

#include "agent/probes/clock_skew.h"
#include "gtest/gtest.h"

namespace pkiwatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr uint64_t kNtpUnixOffset = 2208988800ULL;

std::string Bytes(const std::array<uint8_t, kSntpPacketBytes>& packet) {
  return std::string(reinterpret_cast<const char*>(packet.data()), packet.size());
}

sntp::Packet ServerReply(NtpTimestamp originate, NtpTimestamp receive, NtpTimestamp transmit) {
  sntp::Packet p;
  p.version = 4;
  p.mode = sntp::kModeServer;
  p.stratum = 2;
  p.poll = -6;
  p.precision = -20;
  p.root_delay = 0x00010002;
  p.root_dispersion = 0x00030004;
  p.reference_id = 0xC0000201;
  p.reference_time = 0xE000000000000001ULL;
  p.originate_time = originate;
  p.receive_time = receive;
  p.transmit_time = transmit;
  return p;
}

TEST(SntpCoreTest, EncodeDecodeRoundTrip) {
  const sntp::Packet p = ServerReply(0x0102030405060708ULL, 0x1112131415161718ULL, 0x2122232425262728ULL);
  const std::string wire = Bytes(sntp::EncodePacket(p));
  ASSERT_EQ(wire.size(), kSntpPacketBytes);
  EXPECT_EQ(static_cast<uint8_t>(wire[0]), 0x24);  // LI 0, VN 4, mode 4
  EXPECT_EQ(static_cast<uint8_t>(wire[2]), 0xFA);  // poll -6
  sntp::Result<sntp::Packet> back = sntp::DecodePacket(wire);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->mode, 4);
  EXPECT_EQ(back->poll, -6);
  EXPECT_EQ(back->precision, -20);
  EXPECT_EQ(back->root_delay, p.root_delay);
  EXPECT_EQ(back->root_dispersion, p.root_dispersion);
  EXPECT_EQ(back->reference_time, p.reference_time);
  EXPECT_EQ(back->originate_time, p.originate_time);
  EXPECT_EQ(back->receive_time, p.receive_time);
  EXPECT_EQ(back->transmit_time, p.transmit_time);

  const sntp::Result<sntp::Packet> short_packet = sntp::DecodePacket(wire.substr(0, 20));
  ASSERT_FALSE(short_packet.ok());
  EXPECT_EQ(short_packet.error().hresult, sntp_hr::kEInvalidArg);
  EXPECT_NE(short_packet.error().message.find("20 bytes"), std::string::npos);
}

TEST(SntpCoreTest, ChronoTimestamps) {
  using Clock = std::chrono::system_clock;
  EXPECT_EQ(sntp::ToNtpTimestamp(Clock::time_point{}), kNtpUnixOffset << 32);
  EXPECT_EQ(sntp::ToNtpTimestamp(Clock::time_point{} + milliseconds(500)),
            (kNtpUnixOffset << 32) | 0x80000000u);
  // Before 1970 the seconds are floored and the fraction stays positive.
  EXPECT_EQ(sntp::ToNtpTimestamp(Clock::time_point{} - milliseconds(500)),
            ((kNtpUnixOffset - 1) << 32) | 0x80000000u);
  EXPECT_EQ(sntp::ToNtpTimestamp(int64_t{4294967296LL - kNtpUnixOffset}, 0u), 0u);  // era 1
}

TEST(SntpCoreTest, JudgesDatagrams) {
  const NtpTimestamp sent = 0xE000000012340000ULL;
  const sntp::Packet good = ServerReply(sent, sent + 1, sent + 2);
  sntp::Datagram d = sntp::JudgeDatagram(Bytes(sntp::EncodePacket(good)), sent);
  EXPECT_EQ(d.kind, sntp::Datagram::Kind::kAccepted);
  EXPECT_EQ(d.packet.transmit_time, sent + 2);

  d = sntp::JudgeDatagram("short", sent);
  EXPECT_EQ(d.kind, sntp::Datagram::Kind::kStray);
  EXPECT_NE(d.reason.find("shorter"), std::string::npos) << d.reason;

  d = sntp::JudgeDatagram(Bytes(sntp::EncodePacket(ServerReply(sent ^ 1, 1, 2))), sent);
  EXPECT_EQ(d.kind, sntp::Datagram::Kind::kStray);
  EXPECT_NE(d.reason.find("originate"), std::string::npos) << d.reason;

  sntp::Packet kiss = good;
  kiss.stratum = 0;
  kiss.reference_id = 0x52415445;  // RATE
  d = sntp::JudgeDatagram(Bytes(sntp::EncodePacket(kiss)), sent);
  EXPECT_EQ(d.kind, sntp::Datagram::Kind::kRejected);
  EXPECT_EQ(d.error.hresult, sntp_hr::kErrorInvalidData);
  EXPECT_NE(d.error.message.find("\"RATE\""), std::string::npos) << d.error.message;
}

TEST(SntpCoreTest, SampleFromReply) {
  using Clock = std::chrono::system_clock;
  const Clock::time_point t0 = Clock::time_point{} + seconds(1900000000);
  const NtpTimestamp t1 = sntp::ToNtpTimestamp(t0);
  // Server 90 s behind; 5 ms each way.
  const sntp::Packet reply = ServerReply(t1, sntp::ToNtpTimestamp(t0 - seconds(90) + milliseconds(5)),
                                         sntp::ToNtpTimestamp(t0 - seconds(90) + milliseconds(5)));
  const sntp::Sample s =
      sntp::MakeSample(reply, t1, sntp::ToNtpTimestamp(t0 + milliseconds(10)), "192.0.2.1:123");
  EXPECT_LT(std::chrono::abs(s.offset + seconds(90)), std::chrono::microseconds(1));
  EXPECT_LT(std::chrono::abs(s.delay - milliseconds(10)), std::chrono::microseconds(1));
  EXPECT_EQ(s.stratum, 2);
  EXPECT_EQ(s.version, 4);
  EXPECT_EQ(s.server_address, "192.0.2.1:123");
  EXPECT_EQ(s.reference_id, "192.0.2.1");
}

TEST(SntpCoreTest, ParseReferenceErrorsAreInvalidArgument) {
  const sntp::Result<sntp::Server> bad = sntp::ParseReference("host:99999");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().hresult, sntp_hr::kEInvalidArg);
  EXPECT_EQ(bad.error().message, "clock reference \"host:99999\": port is not 1-65535");
  const sntp::Result<sntp::Server> good = sntp::ParseReference("[::1]:1234");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->host, "::1");
  EXPECT_EQ(good->port, 1234);
}

TEST(ClockSkewTest, LevelsAndFormat) {
  const nanoseconds warn = clock::kDefaultWarn;
  const nanoseconds fail = clock::kDefaultFail;
  EXPECT_EQ(clock::JudgeOffset(milliseconds(250), warn, fail), clock::Skew::kInSync);
  EXPECT_EQ(clock::JudgeOffset(seconds(60), warn, fail), clock::Skew::kInSync);  // the limit
  EXPECT_EQ(clock::JudgeOffset(-seconds(61), warn, fail), clock::Skew::kDrifting);
  EXPECT_EQ(clock::JudgeOffset(seconds(300), warn, fail), clock::Skew::kDrifting);
  EXPECT_EQ(clock::JudgeOffset(seconds(300) + nanoseconds(1), warn, fail),
            clock::Skew::kBeyondKerberos);
  EXPECT_EQ(clock::JudgeOffset(-seconds(3600), warn, fail), clock::Skew::kBeyondKerberos);

  EXPECT_EQ(clock::FormatSignedOffset(milliseconds(2350)), "+2.350s");
  EXPECT_EQ(clock::FormatSignedOffset(-seconds(600)), "-10m0.000s");
  EXPECT_EQ(clock::FormatSignedOffset(nanoseconds(0)), "+0.000s");
}

}  // namespace
}  // namespace pkiwatch
