// The clock probe and its SNTP client: packet and offset arithmetic as pure
// functions; the transport against a real NTP server (chronyd, when
// installed) and against SNTP responders in the test (10 minutes off, kiss-
// o'-death, forged replies, silence), on 127.0.0.1 and ::1.
#include "agent/probes/clock_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/probes/sntp.h"
#include "common/error_catalogue.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::ScopedTempDir;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2031, 3, 14, 12, 0, 0),
                                        absl::UTCTimeZone());
constexpr uint64_t kNtpUnixOffset = 2208988800ULL;

std::string ErrorName(uint32_t code) {
  const std::optional<ErrorEntry> e = LookupError(code);
  return e.has_value() ? std::string(e->name) : absl::StrCat("0x", absl::Hex(code));
}

// ---- Pure parts ----

TEST(SntpPacketTest, TimestampConversion) {
  EXPECT_EQ(ToNtpTimestamp(absl::UnixEpoch()), kNtpUnixOffset << 32);
  EXPECT_EQ(ToNtpTimestamp(absl::UnixEpoch() + absl::Milliseconds(500)),
            (kNtpUnixOffset << 32) | 0x80000000u);
  // Era 1 starts 2036-02-07T06:28:16Z: seconds wrap to 0.
  const absl::Time era1 = absl::FromUnixSeconds(4294967296LL - kNtpUnixOffset);
  EXPECT_EQ(ToNtpTimestamp(era1), 0u);
  EXPECT_EQ(ToNtpTimestamp(era1 + absl::Seconds(5)), uint64_t{5} << 32);
}

TEST(SntpPacketTest, RequestIsVersion4Mode3WithTransmitTimestamp) {
  const std::array<uint8_t, kSntpPacketBytes> r = BuildSntpRequest(0x0102030405060708ULL);
  EXPECT_EQ(r[0], 0x23);  // LI 0, VN 4, mode 3
  for (size_t i = 1; i < 40; ++i) EXPECT_EQ(r[i], 0) << i;
  EXPECT_EQ(r[40], 0x01);
  EXPECT_EQ(r[47], 0x08);
}

std::string ReplyBytes(int li, int vn, int mode, int stratum, uint32_t refid, uint64_t orig,
                       uint64_t recv, uint64_t xmit) {
  std::string p(48, '\0');
  p[0] = static_cast<char>((li << 6) | (vn << 3) | mode);
  p[1] = static_cast<char>(stratum);
  auto put32 = [&p](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  };
  auto put64 = [&](size_t at, uint64_t v) {
    put32(at, static_cast<uint32_t>(v >> 32));
    put32(at + 4, static_cast<uint32_t>(v));
  };
  put32(12, refid);
  put64(24, orig);
  put64(32, recv);
  put64(40, xmit);
  return p;
}

TEST(SntpPacketTest, DecodeAndValidate) {
  const uint64_t sent = 0xE000000012345678ULL;
  const std::string good = ReplyBytes(0, 4, 4, 2, 0xC0000201, sent, sent + 1, sent + 2);
  absl::StatusOr<SntpPacket> p = DecodeSntpPacket(good);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->mode, 4);
  EXPECT_EQ(p->version, 4);
  EXPECT_EQ(p->stratum, 2);
  EXPECT_EQ(p->originate_time, sent);
  EXPECT_TRUE(ValidateSntpReply(*p, sent).ok());
  EXPECT_EQ(FormatReferenceId(p->reference_id, p->stratum), "192.0.2.1");

  EXPECT_FALSE(DecodeSntpPacket(good.substr(0, 47)).ok());
  EXPECT_TRUE(DecodeSntpPacket(good + std::string(20, 'x')).ok());  // extension fields

  auto check = [&](const std::string& bytes, const char* needle) {
    absl::StatusOr<SntpPacket> q = DecodeSntpPacket(bytes);
    ASSERT_TRUE(q.ok());
    const absl::Status s = ValidateSntpReply(*q, sent);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << needle;
    EXPECT_TRUE(absl::StrContains(s.message(), needle)) << s;
  };
  check(ReplyBytes(0, 4, 3, 2, 0, sent, 1, 2), "mode 3");
  check(ReplyBytes(0, 2, 4, 2, 0, sent, 1, 2), "version 2");
  check(ReplyBytes(0, 4, 4, 0, 0x52415445 /* RATE */, sent, 1, 2), "kiss-o'-death \"RATE\"");
  check(ReplyBytes(0, 4, 4, 16, 0, sent, 1, 2), "stratum 16");
  check(ReplyBytes(3, 4, 4, 2, 0, sent, 1, 2), "leap indicator 3");
  check(ReplyBytes(0, 4, 4, 2, 0, sent, 1, 0), "transmit timestamp is zero");
  check(ReplyBytes(0, 4, 4, 2, 0, sent + 1, 1, 2), "originate timestamp");
  EXPECT_EQ(FormatReferenceId(0x4C4F434C, 1), "LOCL");
  EXPECT_EQ(FormatReferenceId(0x47505300, 1), "GPS");
}

TEST(SntpOffsetTest, ComputesOffsetAndDelay) {
  const uint64_t t1 = ToNtpTimestamp(kNow);
  // Server 600 s ahead; 10 ms each way; 2 ms server processing.
  const uint64_t t2 = ToNtpTimestamp(kNow + absl::Seconds(600) + absl::Milliseconds(10));
  const uint64_t t3 = ToNtpTimestamp(kNow + absl::Seconds(600) + absl::Milliseconds(12));
  const uint64_t t4 = ToNtpTimestamp(kNow + absl::Milliseconds(22));
  const SntpOffset o = ComputeSntpOffset(t1, t2, t3, t4);
  EXPECT_LT(absl::AbsDuration(o.offset - absl::Seconds(600)), absl::Microseconds(1));
  EXPECT_LT(absl::AbsDuration(o.delay - absl::Milliseconds(20)), absl::Microseconds(1));

  // Behind, and across the 2036 era boundary.
  const absl::Time era1 = absl::FromUnixSeconds(4294967296LL - kNtpUnixOffset);
  const absl::Time local = era1 + absl::Seconds(100);  // local already in era 1
  const SntpOffset back = ComputeSntpOffset(
      ToNtpTimestamp(local), ToNtpTimestamp(local - absl::Seconds(300)),
      ToNtpTimestamp(local - absl::Seconds(300)), ToNtpTimestamp(local));
  EXPECT_LT(absl::AbsDuration(back.offset + absl::Seconds(300)), absl::Microseconds(1));
  EXPECT_LT(absl::AbsDuration(back.delay), absl::Microseconds(1));
}

TEST(SntpReferenceTest, Parses) {
  auto ok = [](const char* ref, const char* host, uint16_t port) {
    absl::StatusOr<SntpServer> s = ParseSntpReference(ref);
    ASSERT_TRUE(s.ok()) << ref << ": " << s.status();
    EXPECT_EQ(s->host, host) << ref;
    EXPECT_EQ(s->port, port) << ref;
  };
  ok("pool.ntp.org", "pool.ntp.org", 123);
  ok("time.corp.example:1123", "time.corp.example", 1123);
  ok("192.0.2.1", "192.0.2.1", 123);
  ok("[2001:db8::1]:4123", "2001:db8::1", 4123);
  ok("[::1]", "::1", 123);
  ok("2001:db8::1", "2001:db8::1", 123);
  for (const char* bad : {"", ":123", "host:", "host:0", "host:70000", "host:abc", "[::1",
                          "[::1]x", "[]:123", "a b"}) {
    EXPECT_FALSE(ParseSntpReference(bad).ok()) << bad;
  }
}

TEST(MakeClockFindingTest, Thresholds) {
  auto finding = [](absl::Duration offset) {
    SntpSample s;
    s.offset = offset;
    s.delay = absl::Milliseconds(3);
    s.stratum = 2;
    s.server_address = "192.0.2.1:123";
    s.reference_id = "192.0.2.9";
    return MakeClockFinding("time.test", s, absl::Seconds(60), absl::Seconds(300), kNow,
                            absl::Milliseconds(4));
  };
  v1::Finding f = finding(absl::Milliseconds(250));
  EXPECT_EQ(f.status(), v1::STATUS_OK);
  EXPECT_EQ(f.probe(), "clock");
  EXPECT_EQ(f.target(), "time.test");
  EXPECT_EQ(f.clock().reference(), "time.test");
  EXPECT_EQ(f.clock().offset().nanos(), 250000000);
  EXPECT_EQ(f.clock().stratum(), 2u);
  EXPECT_EQ(f.clock().server_address(), "192.0.2.1:123");
  EXPECT_EQ(f.clock().reference_id(), "192.0.2.9");
  EXPECT_EQ(f.observed_at().seconds(), absl::ToUnixSeconds(kNow));

  f = finding(-absl::Seconds(90));
  EXPECT_EQ(f.status(), v1::STATUS_WARN);
  EXPECT_EQ(f.error().hresult(), 0u);
  EXPECT_TRUE(absl::StrContains(f.summary(), "ahead")) << f.summary();
  EXPECT_EQ(f.clock().offset().seconds(), -90);

  f = finding(absl::Seconds(300));  // the limit itself is still tolerated
  EXPECT_EQ(f.status(), v1::STATUS_WARN);
  f = finding(absl::Seconds(301));
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "SEC_E_TIME_SKEW");
  EXPECT_TRUE(absl::StrContains(f.summary(), "behind")) << f.summary();

  const v1::Finding e = MakeClockFinding(
      "time.test", absl::DeadlineExceededError("no reply"), absl::Seconds(60),
      absl::Seconds(300), kNow, absl::Seconds(5));
  EXPECT_EQ(e.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(e.error().symbolic_name(), "WSAETIMEDOUT");
  EXPECT_FALSE(e.clock().has_offset());
}

TEST(ClockProbeCreateTest, Validates) {
  v1::ClockSettings s;
  EXPECT_FALSE(ClockProbe::Create(s, absl::Seconds(120)).ok());  // no reference
  s.set_reference("time.test");
  EXPECT_TRUE(ClockProbe::Create(s, absl::Seconds(120)).ok());
  s.set_warn_seconds(600);  // above the default fail of 300
  auto bad = ClockProbe::Create(s, absl::Seconds(120));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "clock.warn_seconds")) << bad.status();
  s.set_fail_seconds(900);
  EXPECT_TRUE(ClockProbe::Create(s, absl::Seconds(120)).ok());
  s.set_reference("[::1");
  EXPECT_FALSE(ClockProbe::Create(s, absl::Seconds(120)).ok());
}

// ---- A UDP SNTP responder in the test ----

// Answers each request with `reply(request, now)`; an empty reply sends
// nothing. Polls with a short timeout so that Stop() is prompt.
class TestSntpResponder {
 public:
  using ReplyFn = std::function<std::vector<std::string>(const std::string& request)>;

  TestSntpResponder(int family, ReplyFn reply) : reply_(std::move(reply)) {
    fd_ = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof(sockaddr_in6);
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    port_ = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                              : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestSntpResponder() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void Serve() {
    // Bounded by stop_, checked every 20 ms.
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) continue;
      char buf[512];
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from),
                                   &from_len);
      if (n <= 0) continue;
      ++requests_;
      for (const std::string& out : reply_(std::string(buf, static_cast<size_t>(n)))) {
        ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
      }
    }
  }

  ReplyFn reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

uint64_t TransmitOf(const std::string& request) {
  uint64_t v = 0;
  for (int i = 40; i < 48 && i < static_cast<int>(request.size()); ++i) {
    v = (v << 8) | static_cast<uint8_t>(request[i]);
  }
  return v;
}

// A server whose clock is `skew` ahead of this host's, at `stratum`.
TestSntpResponder::ReplyFn SkewedServer(absl::Duration skew, int stratum = 2) {
  return [skew, stratum](const std::string& req) {
    const uint64_t server_now = ToNtpTimestamp(absl::Now() + skew);
    return std::vector<std::string>{
        ReplyBytes(0, 4, 4, stratum, 0xC0000201, TransmitOf(req), server_now, server_now)};
  };
}

v1::Finding RunClock(const std::string& reference, SntpOptions sntp = {},
                     v1::ClockSettings settings = {}) {
  settings.set_reference(reference);
  auto probe = ClockProbe::Create(settings, absl::Seconds(120), sntp);
  EXPECT_TRUE(probe.ok()) << probe.status();
  if (!probe.ok()) return {};
  std::vector<v1::Finding> f = (*probe)->Run(ProbeContext{kNow});
  EXPECT_EQ(f.size(), 1u);
  return f.empty() ? v1::Finding{} : f[0];
}

TEST(ClockProbeTest, ServerTenMinutesAheadFails) {
  TestSntpResponder server(AF_INET, SkewedServer(absl::Minutes(10)));
  ASSERT_TRUE(server.ok());
  const std::string ref = absl::StrCat("127.0.0.1:", server.port());
  const v1::Finding f = RunClock(ref);
  EXPECT_EQ(f.status(), v1::STATUS_FAIL) << f.summary();
  EXPECT_EQ(f.error().symbolic_name(), "SEC_E_TIME_SKEW");
  EXPECT_EQ(f.error().hresult(), 0x80090324u);
  EXPECT_EQ(f.target(), ref);
  // 600 s, give or take the loopback round trip.
  EXPECT_GE(f.clock().offset().seconds(), 599);
  EXPECT_LE(f.clock().offset().seconds(), 600);
  EXPECT_EQ(f.clock().stratum(), 2u);
  EXPECT_EQ(f.clock().server_address(), ref);
  EXPECT_EQ(f.clock().reference_id(), "192.0.2.1");
  EXPECT_TRUE(absl::StrContains(f.summary(), "behind")) << f.summary();
}

TEST(ClockProbeTest, ServerNinetySecondsBehindWarns) {
  TestSntpResponder server(AF_INET, SkewedServer(-absl::Seconds(90)));
  ASSERT_TRUE(server.ok());
  const v1::Finding f = RunClock(absl::StrCat("127.0.0.1:", server.port()));
  EXPECT_EQ(f.status(), v1::STATUS_WARN) << f.summary();
  EXPECT_TRUE(absl::StrContains(f.summary(), "ahead")) << f.summary();
}

TEST(ClockProbeTest, ConfiguredThresholdsApply) {
  TestSntpResponder server(AF_INET, SkewedServer(absl::Minutes(10)));
  ASSERT_TRUE(server.ok());
  v1::ClockSettings settings;
  settings.set_warn_seconds(900);
  settings.set_fail_seconds(1800);
  const v1::Finding f = RunClock(absl::StrCat("127.0.0.1:", server.port()), {}, settings);
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
}

TEST(ClockProbeTest, WorksOverIpv6) {
  TestSntpResponder server(AF_INET6, SkewedServer(absl::ZeroDuration()));
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  const std::string ref = absl::StrCat("[::1]:", server.port());
  const v1::Finding f = RunClock(ref);
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(f.clock().server_address(), ref);
}

TEST(ClockProbeTest, ForgedRepliesAreIgnored) {
  // First a reply to someone else's request, then the genuine one.
  TestSntpResponder server(AF_INET, [](const std::string& req) {
    const uint64_t now = ToNtpTimestamp(absl::Now());
    return std::vector<std::string>{
        ReplyBytes(0, 4, 4, 1, 0x47505300, TransmitOf(req) ^ 0xffff, now + (uint64_t{3600} << 32),
                   now + (uint64_t{3600} << 32)),
        ReplyBytes(0, 4, 4, 1, 0x47505300, TransmitOf(req), now, now)};
  });
  ASSERT_TRUE(server.ok());
  const v1::Finding f = RunClock(absl::StrCat("127.0.0.1:", server.port()));
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(f.clock().reference_id(), "GPS");
}

TEST(ClockProbeTest, KissOfDeathIsProbeError) {
  TestSntpResponder server(AF_INET, [](const std::string& req) {
    return std::vector<std::string>{
        ReplyBytes(0, 4, 4, 0, 0x44454E59 /* DENY */, TransmitOf(req), 0, 1)};
  });
  ASSERT_TRUE(server.ok());
  const v1::Finding f = RunClock(absl::StrCat("127.0.0.1:", server.port()));
  EXPECT_EQ(f.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(f.error().symbolic_name(), "ERROR_INVALID_DATA");
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "DENY")) << f.error().native_detail();
}

TEST(ClockProbeTest, SilentServerTimesOut) {
  TestSntpResponder server(AF_INET, [](const std::string&) { return std::vector<std::string>{}; });
  ASSERT_TRUE(server.ok());
  SntpOptions sntp;
  sntp.timeout = absl::Milliseconds(300);
  sntp.per_address_timeout = absl::Milliseconds(300);
  const v1::Finding f = RunClock(absl::StrCat("127.0.0.1:", server.port()), sntp);
  EXPECT_EQ(f.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(ErrorName(f.error().hresult()), "WSAETIMEDOUT");
  EXPECT_GE(server.requests(), 1);
}

TEST(ClockProbeTest, ClosedPortIsConnectionRefused) {
  int port = 0;
  {
    // Bound to learn a free port, then closed: the kernel answers with ICMP
    // port unreachable.
    TestSntpResponder gone(AF_INET, [](const std::string&) { return std::vector<std::string>{}; });
    ASSERT_TRUE(gone.ok());
    port = gone.port();
  }
  SntpOptions sntp;
  sntp.timeout = absl::Seconds(2);
  const v1::Finding f = RunClock(absl::StrCat("127.0.0.1:", port), sntp);
  EXPECT_EQ(f.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(ErrorName(f.error().hresult()), "WSAECONNREFUSED") << f.error().native_detail();
}

TEST(ClockProbeTest, UnresolvableReferenceIsHostNotFound) {
  const v1::Finding f = RunClock("ntp.pkiwatch-test.invalid");
  EXPECT_EQ(f.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(ErrorName(f.error().hresult()), "WSAHOST_NOT_FOUND") << f.error().native_detail();
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "getaddrinfo(ntp.pkiwatch-test.invalid)"))
      << f.error().native_detail();
}

// ---- A real NTP server: chronyd serving this host's clock ----

class ChronyServer {
 public:
  // Starts chronyd in the foreground on 127.0.0.1:`port`, serving its local
  // clock at stratum 8, not touching the system clock. False when chronyd
  // cannot be started.
  bool Start(const std::string& dir, uint16_t port) {
    const std::string conf = dir + "/chrony.conf";
    {
      std::ofstream out(conf);
      out << "port " << port << "\n"
          << "bindaddress 127.0.0.1\n"
          << "local stratum 8\n"
          << "allow 127.0.0.1\n"
          << "cmdport 0\n"
          << "pidfile " << dir << "/chronyd.pid\n"
          << "driftfile " << dir << "/chrony.drift\n";
      if (!out) return false;
    }
    // -x: never adjust the system clock; -d: foreground, log to stderr.
    // As root it must be told to stay root (no _chrony user needed);
    // otherwise -U skips the root check.
    std::vector<std::string> args = {kChronyd, "-d", "-x", "-f", conf};
    if (::geteuid() == 0) {
      args.push_back("-u");
      args.push_back("root");
    } else {
      args.push_back("-U");
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = dir + "/chronyd.log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int rc = posix_spawn(&pid_, kChronyd, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }

  bool Exited() {
    if (pid_ <= 0) return true;
    return ::waitpid(pid_, nullptr, WNOHANG) == pid_ ? (pid_ = -1, true) : false;
  }

  ~ChronyServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  static constexpr const char* kChronyd = "/usr/sbin/chronyd";

 private:
  pid_t pid_ = -1;
};

uint16_t FreeUdpPort() {
  TestSntpResponder probe(AF_INET, [](const std::string&) { return std::vector<std::string>{}; });
  return probe.ok() ? probe.port() : 0;
}

TEST(ClockProbeTest, RealNtpServerChronyIsInSync) {
  if (::access(ChronyServer::kChronyd, X_OK) != 0) {
    GTEST_SKIP() << ChronyServer::kChronyd
                 << " not installed (Debian package chrony; deploy/linux/install-build-deps.sh)";
  }
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const uint16_t port = FreeUdpPort();
  ASSERT_NE(port, 0);
  ChronyServer chrony;
  ASSERT_TRUE(chrony.Start(dir.path(), port));

  // chronyd needs a moment to bind: query until it answers (bounded: 50
  // attempts of at most 200 ms).
  const std::string ref = absl::StrCat("127.0.0.1:", port);
  SntpOptions sntp;
  sntp.timeout = absl::Milliseconds(200);
  sntp.per_address_timeout = absl::Milliseconds(200);
  absl::StatusOr<SntpSample> sample = absl::UnavailableError("not asked yet");
  for (int i = 0; i < 50 && !sample.ok(); ++i) {
    if (chrony.Exited()) break;
    sample = QuerySntp(ref, sntp);
    if (!sample.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!sample.ok()) {
    std::ifstream in(dir.path() + "/chronyd.log");
    std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    FAIL() << "chronyd on " << ref << " never answered: " << sample.status() << "\nlog:\n" << log;
  }
  EXPECT_EQ(sample->stratum, 8);
  EXPECT_EQ(sample->reference_id, "127.127.1.1");  // chrony's local reference

  // Through the probe: chrony serves this very clock, so it is in sync.
  const v1::Finding f = RunClock(ref);
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_LT(std::abs(f.clock().offset().seconds()), 5);
  EXPECT_EQ(f.clock().stratum(), 8u);
}

}  // namespace
}  // namespace pkiwatch
