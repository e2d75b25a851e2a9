// The Winsock SNTP client under wine against real UDP responders on the
// loopback: a thread in the test answering with server packets built by the
// SNTP core (10 minutes ahead, forged first, kiss-o'-death), one that never
// answers, and a closed port. Every wait is bounded by the query's limit.
#include "agent/win/sntp_client.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "agent/win/handles.h"
#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

uint64_t TransmitOf(const std::string& request) {
  sntp::Result<sntp::Packet> p = sntp::DecodePacket(request);
  return p.ok() ? p->transmit_time : 0;
}

std::string Encode(const sntp::Packet& packet) {
  const auto bytes = sntp::EncodePacket(packet);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// A reply to `request` from a server whose clock is `skew` ahead of ours.
sntp::Packet ServerReply(const std::string& request, std::chrono::nanoseconds skew,
                         int stratum = 2, uint32_t reference_id = 0xC0000201) {
  const NtpTimestamp now = sntp::ToNtpTimestamp(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(skew));
  sntp::Packet p;
  p.version = 4;
  p.mode = sntp::kModeServer;
  p.stratum = stratum;
  p.reference_id = reference_id;
  p.originate_time = TransmitOf(request);
  p.receive_time = now;
  p.transmit_time = now;
  return p;
}

// Answers each request with `reply(request)` (nothing for an empty list)
// until destroyed; select() with a 20 ms limit keeps the stop prompt.
class TestSntpResponder {
 public:
  using ReplyFn = std::function<std::vector<std::string>(const std::string& request)>;

  TestSntpResponder(int family, ReplyFn reply) : reply_(std::move(reply)) {
    auto winsock = WinsockScope::Enter();
    if (!winsock.ok()) return;
    winsock_ = std::move(*winsock);
    socket_.reset(socket(family, SOCK_DGRAM, IPPROTO_UDP));
    if (!socket_) return;
    sockaddr_storage address{};
    int length = 0;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&address);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof(sockaddr_in);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&address);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      length = sizeof(sockaddr_in6);
    }
    if (bind(socket_.get(), reinterpret_cast<sockaddr*>(&address), length) == SOCKET_ERROR ||
        getsockname(socket_.get(), reinterpret_cast<sockaddr*>(&address), &length) ==
            SOCKET_ERROR) {
      socket_.reset();
      return;
    }
    port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&address)->sin_port
                                    : reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestSntpResponder() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  bool ok() const { return static_cast<bool>(socket_); }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_) {
      fd_set readable;
      FD_ZERO(&readable);
      FD_SET(socket_.get(), &readable);
      timeval wait{0, 20000};
      if (select(0, &readable, nullptr, nullptr, &wait) <= 0) continue;
      char buffer[512];
      sockaddr_storage from{};
      int from_length = sizeof from;
      const int n = recvfrom(socket_.get(), buffer, sizeof buffer, 0,
                             reinterpret_cast<sockaddr*>(&from), &from_length);
      if (n <= 0) continue;
      ++requests_;
      for (const std::string& out : reply_(std::string(buffer, static_cast<size_t>(n)))) {
        sendto(socket_.get(), out.data(), static_cast<int>(out.size()), 0,
               reinterpret_cast<sockaddr*>(&from), from_length);
      }
    }
  }

  ReplyFn reply_;
  std::unique_ptr<WinsockScope> winsock_;
  UniqueSocket socket_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TestSntpResponder::ReplyFn SkewedServer(std::chrono::nanoseconds skew) {
  return [skew](const std::string& request) {
    return std::vector<std::string>{Encode(ServerReply(request, skew))};
  };
}

SntpQueryOptions Quick(milliseconds limit) {
  SntpQueryOptions options;
  options.timeout = limit;
  options.per_address_timeout = limit;
  return options;
}

TEST(SntpClientTest, MeasuresAServerTenMinutesAhead) {
  TestSntpResponder server(AF_INET, SkewedServer(std::chrono::minutes(10)));
  ASSERT_TRUE(server.ok());
  const std::string reference = "127.0.0.1:" + std::to_string(server.port());
  auto sample = QuerySntpServer(reference, Quick(seconds(5)));
  ASSERT_TRUE(sample.ok()) << sample.status().message();
  // 600 s, give or take the loopback round trip.
  EXPECT_GE(sample->offset, seconds(599));
  EXPECT_LE(sample->offset, seconds(601));
  EXPECT_GE(sample->delay, std::chrono::nanoseconds(0));
  EXPECT_EQ(sample->stratum, 2);
  EXPECT_EQ(sample->version, 4);
  EXPECT_EQ(sample->server_address, reference);
  EXPECT_EQ(sample->reference_id, "192.0.2.1");
  EXPECT_EQ(server.requests(), 1);
}

TEST(SntpClientTest, WorksOverIpv6) {
  TestSntpResponder server(AF_INET6, SkewedServer(-std::chrono::seconds(90)));
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback (::1) here";
  const std::string reference = "[::1]:" + std::to_string(server.port());
  auto sample = QuerySntpServer(reference, Quick(seconds(5)));
  ASSERT_TRUE(sample.ok()) << sample.status().message();
  EXPECT_LE(sample->offset, -seconds(89));
  EXPECT_GE(sample->offset, -seconds(91));
  EXPECT_EQ(sample->server_address, reference);
}

TEST(SntpClientTest, IgnoresAReplyToAnotherRequest) {
  TestSntpResponder server(AF_INET, [](const std::string& request) {
    sntp::Packet forged = ServerReply(request, std::chrono::hours(1), 1, 0x47505300 /* GPS */);
    forged.originate_time ^= 0xffff;
    return std::vector<std::string>{
        Encode(forged), Encode(ServerReply(request, std::chrono::seconds(0), 1, 0x47505300))};
  });
  ASSERT_TRUE(server.ok());
  auto sample = QuerySntpServer("127.0.0.1:" + std::to_string(server.port()), Quick(seconds(5)));
  ASSERT_TRUE(sample.ok()) << sample.status().message();
  EXPECT_LT(std::chrono::abs(sample->offset), seconds(5));
  EXPECT_EQ(sample->reference_id, "GPS");
}

TEST(SntpClientTest, KissOfDeathIsInvalidData) {
  TestSntpResponder server(AF_INET, [](const std::string& request) {
    return std::vector<std::string>{
        Encode(ServerReply(request, std::chrono::seconds(0), 0, 0x44454E59 /* DENY */))};
  });
  ASSERT_TRUE(server.ok());
  auto sample = QuerySntpServer("127.0.0.1:" + std::to_string(server.port()), Quick(seconds(5)));
  ASSERT_FALSE(sample.ok());
  EXPECT_EQ(sample.status().hresult(), sntp_hr::kErrorInvalidData);
  EXPECT_NE(sample.status().message().find("DENY"), std::string::npos)
      << sample.status().message();
}

TEST(SntpClientTest, SilentServerTimesOut) {
  TestSntpResponder server(AF_INET, [](const std::string&) { return std::vector<std::string>{}; });
  ASSERT_TRUE(server.ok());
  const std::string reference = "127.0.0.1:" + std::to_string(server.port());
  auto sample = QuerySntpServer(reference, Quick(milliseconds(300)));
  ASSERT_FALSE(sample.ok());
  EXPECT_EQ(sample.status().hresult(), sntp_hr::kWsaETimedOut) << sample.status().message();
  EXPECT_EQ(sample.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(sample.status().message().find(reference), std::string::npos)
      << sample.status().message();
  EXPECT_GE(server.requests(), 1);
}

TEST(SntpClientTest, ClosedPortIsUnreachable) {
  uint16_t port = 0;
  {
    // Bound to learn a free port, then closed: the loopback answers with
    // ICMP port unreachable.
    TestSntpResponder gone(AF_INET, [](const std::string&) { return std::vector<std::string>{}; });
    ASSERT_TRUE(gone.ok());
    port = gone.port();
  }
  const std::string reference = "127.0.0.1:" + std::to_string(port);
  auto sample = QuerySntpServer(reference, Quick(seconds(2)));
  ASSERT_FALSE(sample.ok());
  const uint32_t code = sample.status().hresult();
  if (testing::RunningUnderWine()) {
    // wine 8 does not pass the host's ICMP error on to a UDP socket: the
    // request goes unanswered.
    EXPECT_EQ(code, sntp_hr::kWsaETimedOut) << sample.status().message();
    EXPECT_NE(sample.status().message().find(reference), std::string::npos)
        << sample.status().message();
    return;
  }
  // Windows reports ICMP port unreachable on a UDP socket as WSAECONNRESET.
  EXPECT_EQ(code, sntp_hr::kWsaEConnReset) << sample.status().message();
  EXPECT_EQ(sample.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(sample.status().message().rfind("recv(" + reference + "):", 0), 0u)
      << sample.status().message();
}

TEST(SntpClientTest, ResolvesAHostName) {
  TestSntpResponder server(AF_INET, SkewedServer(std::chrono::seconds(0)));
  ASSERT_TRUE(server.ok());
  // "localhost" goes through GetAddrInfoW on the helper thread; an IPv6
  // address tried first finds nobody and the next address is tried.
  SntpQueryOptions options;
  options.timeout = seconds(10);
  options.per_address_timeout = seconds(1);
  auto sample = QuerySntpServer("localhost:" + std::to_string(server.port()), options);
  ASSERT_TRUE(sample.ok()) << sample.status().message();
  EXPECT_EQ(sample->server_address, "127.0.0.1:" + std::to_string(server.port()));
}

TEST(SntpClientTest, UnresolvableNameIsHostNotFound) {
  auto sample = QuerySntpServer("ntp.pkiwatch-test.invalid", Quick(seconds(5)));
  ASSERT_FALSE(sample.ok());
  EXPECT_EQ(sample.status().hresult(), sntp_hr::kWsaHostNotFound) << sample.status().message();
  EXPECT_EQ(sample.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(sample.status().message().rfind("GetAddrInfoW(ntp.pkiwatch-test.invalid): ", 0), 0u)
      << sample.status().message();
}

TEST(SntpClientTest, BadReferenceIsInvalidArgument) {
  auto sample = QuerySntpServer("[::1", Quick(seconds(1)));
  ASSERT_FALSE(sample.ok());
  EXPECT_EQ(sample.status().hresult(), sntp_hr::kEInvalidArg);
  EXPECT_EQ(sample.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pkiwatch::win
