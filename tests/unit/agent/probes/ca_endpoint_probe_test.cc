// The CA endpoint probe: a listening socket bound by the test plays the RPC
// endpoint mapper, a closed port an unreachable CA, a .invalid name one that
// does not resolve; a real HTTP server the enrollment URLs.
#include "agent/probes/ca_endpoint_probe.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/error_catalogue.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/probes/test_http_server.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::TestHttpServer;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2031, 3, 14, 12, 0, 0),
                                        absl::UTCTimeZone());

// A TCP socket bound to the loopback address of `family` on an ephemeral
// port; listening (the "endpoint mapper") or closed right after binding
// (a port nothing listens on).
class LoopbackSocket {
 public:
  LoopbackSocket(int family, bool listening) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
        (listening && ::listen(fd_, 16) != 0)) {
      Close();
      return;
    }
    port_ = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                              : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    if (!listening) Close();
  }
  ~LoopbackSocket() { Close(); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  uint16_t port() const { return port_; }
  bool listening() const { return fd_ >= 0; }

 private:
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  uint16_t port_ = 0;
};

class CaEndpointProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    httplib::Server& s = server_.server();
    s.Get("/certsrv/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html>Microsoft Active Directory Certificate Services</html>",
                      "text/html");
    });
    s.Get("/ces/service.svc/CES", [](const httplib::Request&, httplib::Response& res) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Negotiate");
      res.set_content("401 - Unauthorized", "text/html");
    });
    s.Get("/broken/", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("Service Unavailable", "text/html");
    });
    ASSERT_TRUE(server_.Start()) << "cannot start the test HTTP server on 127.0.0.1";
    http_.no_proxy = true;
    http_.connect_timeout = absl::Seconds(5);
    http_.total_timeout = absl::Seconds(10);
  }

  v1::EnrollmentService Service(std::string config, uint32_t port,
                                std::vector<std::string> urls = {}) {
    v1::EnrollmentService s;
    s.set_config(std::move(config));
    s.set_rpc_port(port);
    for (std::string& u : urls) s.add_http_urls(std::move(u));
    return s;
  }

  std::vector<v1::Finding> Run(std::vector<v1::EnrollmentService> services,
                               absl::Duration budget = absl::Seconds(120)) {
    auto probe = CaEndpointProbe::Create(std::move(services), http_, budget);
    EXPECT_TRUE(probe.ok()) << probe.status();
    if (!probe.ok()) return {};
    return (*probe)->Run(ProbeContext{kNow});
  }

  TestHttpServer server_;
  HttpOptions http_;
};

TEST_F(CaEndpointProbeTest, ListeningEndpointMapperIsOk) {
  LoopbackSocket epm(AF_INET, /*listening=*/true);
  ASSERT_TRUE(epm.listening());
  const std::vector<v1::Finding> f = Run({Service("127.0.0.1\\pkiwatch Issuing CA", epm.port())});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].probe(), "ca_endpoint");
  EXPECT_EQ(f[0].status(), v1::STATUS_OK) << f[0].summary();
  EXPECT_EQ(f[0].target(), "127.0.0.1\\pkiwatch Issuing CA");
  EXPECT_EQ(f[0].dimensions().ca(), "127.0.0.1\\pkiwatch Issuing CA");
  ASSERT_TRUE(f[0].has_ca_endpoint());
  EXPECT_EQ(f[0].ca_endpoint().check(), "rpc");
  EXPECT_EQ(f[0].ca_endpoint().host(), "127.0.0.1");
  EXPECT_EQ(f[0].ca_endpoint().port(), epm.port());
  EXPECT_EQ(f[0].ca_endpoint().address(), "127.0.0.1");
  EXPECT_GE(f[0].ca_endpoint().connect_latency().seconds(), 0);
  EXPECT_TRUE(absl::StrContains(f[0].summary(), "reachable")) << f[0].summary();
}

TEST_F(CaEndpointProbeTest, ListeningEndpointMapperOnIpv6LoopbackIsOk) {
  LoopbackSocket epm(AF_INET6, /*listening=*/true);
  if (!epm.listening()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  const std::vector<v1::Finding> f = Run({Service("::1\\pkiwatch Issuing CA", epm.port())});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].status(), v1::STATUS_OK) << f[0].summary();
  EXPECT_EQ(f[0].ca_endpoint().address(), "::1");
}

TEST_F(CaEndpointProbeTest, ClosedPortIsRpcServerUnavailable) {
  LoopbackSocket closed(AF_INET, /*listening=*/false);
  ASSERT_NE(closed.port(), 0);
  const std::vector<v1::Finding> f = Run({Service("127.0.0.1\\pkiwatch Issuing CA", closed.port())});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].status(), v1::STATUS_FAIL);
  EXPECT_EQ(f[0].error().hresult(), 0x800706BAu);
  EXPECT_EQ(f[0].error().symbolic_name(), "RPC_S_SERVER_UNAVAILABLE");
  EXPECT_TRUE(absl::StrContains(f[0].error().native_detail(),
                                absl::StrCat("curl error ", CURLE_COULDNT_CONNECT)))
      << f[0].error().native_detail();
  EXPECT_TRUE(absl::StrContains(f[0].error().native_detail(),
                                absl::StrCat("127.0.0.1:", closed.port())));
}

TEST_F(CaEndpointProbeTest, UnresolvableHostIsHostNotFound) {
  const std::vector<v1::Finding> f = Run({Service("ca01.pkiwatch-test.invalid\\Issuing CA", 0)});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].status(), v1::STATUS_FAIL);
  EXPECT_EQ(f[0].error().symbolic_name(), "WSAHOST_NOT_FOUND");
  EXPECT_TRUE(absl::StrContains(f[0].error().native_detail(), "RPC_S_SERVER_UNAVAILABLE"))
      << f[0].error().native_detail();
  EXPECT_EQ(f[0].ca_endpoint().port(), 135u);
  EXPECT_EQ(f[0].ca_endpoint().host(), "ca01.pkiwatch-test.invalid");
}

TEST_F(CaEndpointProbeTest, HttpUrlsAreCheckedAfterTheEndpointMapper) {
  LoopbackSocket epm(AF_INET, /*listening=*/true);
  ASSERT_TRUE(epm.listening());
  LoopbackSocket closed(AF_INET, /*listening=*/false);
  const std::string dead = absl::StrCat("http://127.0.0.1:", closed.port(), "/certsrv/");
  auto probe = CaEndpointProbe::Create(
      {Service("127.0.0.1\\pkiwatch Issuing CA", epm.port(),
               {server_.Url("/certsrv/"), server_.Url("/ces/service.svc/CES"),
                server_.Url("/broken/"), dead})},
      http_);
  ASSERT_TRUE(probe.ok()) << probe.status();
  const std::vector<v1::Finding> f = (*probe)->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 5u);
  const std::vector<std::string> targets = (*probe)->targets();
  ASSERT_EQ(targets.size(), 5u);
  for (size_t i = 0; i < f.size(); ++i) EXPECT_EQ(f[i].target(), targets[i]);

  EXPECT_EQ(f[0].ca_endpoint().check(), "rpc");
  for (size_t i = 1; i < f.size(); ++i) {
    EXPECT_EQ(f[i].ca_endpoint().check(), "http");
    EXPECT_EQ(f[i].dimensions().url_kind(), v1::URL_KIND_ENROLLMENT);
    EXPECT_EQ(f[i].dimensions().ca(), "127.0.0.1\\pkiwatch Issuing CA");
  }
  EXPECT_EQ(f[1].status(), v1::STATUS_OK) << f[1].summary();
  EXPECT_EQ(f[1].ca_endpoint().http_status(), 200u);
  EXPECT_EQ(f[2].status(), v1::STATUS_OK) << f[2].summary();
  EXPECT_EQ(f[2].ca_endpoint().http_status(), 401u);
  EXPECT_TRUE(absl::StrContains(f[2].summary(), "authentication")) << f[2].summary();
  EXPECT_EQ(f[3].status(), v1::STATUS_FAIL);
  EXPECT_EQ(f[3].error().symbolic_name(), "E_FAIL");
  EXPECT_TRUE(absl::StartsWith(f[3].error().native_detail(), "HTTP 503 from "))
      << f[3].error().native_detail();
  EXPECT_EQ(f[4].status(), v1::STATUS_FAIL);
  EXPECT_EQ(f[4].error().symbolic_name(), "ERROR_WINHTTP_CANNOT_CONNECT");
  EXPECT_EQ(f[4].dimensions().url(), dead);
}

TEST_F(CaEndpointProbeTest, SpentBudgetSkipsVisibly) {
  const std::vector<v1::Finding> f =
      Run({Service("127.0.0.1\\CA One", 1, {server_.Url("/certsrv/")})}, absl::ZeroDuration());
  ASSERT_EQ(f.size(), 2u);
  for (const v1::Finding& x : f) {
    EXPECT_EQ(x.status(), v1::STATUS_PROBE_ERROR);
    EXPECT_EQ(x.error().symbolic_name(), "ERROR_TIMEOUT");
    EXPECT_EQ(x.dimensions().ca(), "127.0.0.1\\CA One");
  }
  EXPECT_EQ(f[0].target(), "127.0.0.1\\CA One");
  EXPECT_EQ(f[1].target(), server_.Url("/certsrv/"));
  EXPECT_EQ(f[1].dimensions().url_kind(), v1::URL_KIND_ENROLLMENT);
}

TEST_F(CaEndpointProbeTest, CreateValidates) {
  auto expect_error = [&](v1::EnrollmentService s, const char* needle) {
    auto probe = CaEndpointProbe::Create({std::move(s)}, http_);
    ASSERT_FALSE(probe.ok()) << needle;
    EXPECT_EQ(probe.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(probe.status().message(), needle)) << probe.status();
  };
  expect_error(Service("no-backslash", 0), "enrollment_services[0].config");
  expect_error(Service("\\CA", 0), "empty host");
  expect_error(Service("host\\", 0), "empty CA name");
  expect_error(Service("bad host\\CA", 0), "character");
  expect_error(Service("host\\CA", 70000), "rpc_port");
  expect_error(Service("host\\CA", 0, {"ftp://host/x"}), "http_urls[0]");
  expect_error(Service("host\\CA", 0, {"http://a/x", "HTTP://A/x"}), "http_urls[1]");

  auto dup = CaEndpointProbe::Create({Service("h\\CA", 0), Service("h\\CA", 0)}, http_);
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(absl::StrContains(dup.status().message(), "enrollment_services[1]"));
}

TEST(ParseCaConfigTest, SplitsAtTheFirstBackslash) {
  absl::StatusOr<CaConfig> c = ParseCaConfig("ca01.corp.example\\Corp Issuing CA 01");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "ca01.corp.example");
  EXPECT_EQ(c->ca_name, "Corp Issuing CA 01");
  c = ParseCaConfig("ca01\\weird\\name");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ca_name, "weird\\name");
  EXPECT_TRUE(ParseCaConfig("fe80::1\\CA").ok());
  EXPECT_FALSE(ParseCaConfig("").ok());
  EXPECT_FALSE(ParseCaConfig("a/b\\CA").ok());
}

TEST(MakeRpcEndpointFindingTest, TimeoutIsRpcServerUnavailable) {
  TcpConnectResult tcp;
  tcp.curl_code = CURLE_OPERATION_TIMEDOUT;
  tcp.curl_error = "Connection timed out after 5001 milliseconds";
  const v1::Finding f = MakeRpcEndpointFinding("ca\\CA", "ca", 135, tcp, kNow);
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "RPC_S_SERVER_UNAVAILABLE");
  EXPECT_EQ(f.observed_at().seconds(), absl::ToUnixSeconds(kNow));
}

TEST(MakeRpcEndpointFindingTest, LocalFailureIsProbeError) {
  TcpConnectResult tcp;
  tcp.curl_code = CURLE_FAILED_INIT;
  const v1::Finding f = MakeRpcEndpointFinding("ca\\CA", "ca", 135, tcp, kNow);
  EXPECT_EQ(f.status(), v1::STATUS_PROBE_ERROR);
}

TEST(TcpConnectTest, RefusesHostsThatWouldChangeTheUrl) {
  HttpOptions options;
  for (const char* host : {"", "a/b", "user@host", "host?x", "[::1]", "a b", "x#y"}) {
    const TcpConnectResult r = TcpConnect(host, 135, options);
    EXPECT_EQ(r.curl_code, CURLE_URL_MALFORMAT) << host;
  }
  const TcpConnectResult r = TcpConnect(std::string_view("a\0b", 3), 135, options);
  EXPECT_EQ(r.curl_code, CURLE_URL_MALFORMAT);
}

TEST(WinHttpHresultForCurlTest, MapsToCatalogueCodes) {
  struct Case {
    int curl;
    const char* name;
  };
  const Case cases[] = {
      {CURLE_COULDNT_RESOLVE_HOST, "ERROR_WINHTTP_NAME_NOT_RESOLVED"},
      {CURLE_COULDNT_RESOLVE_PROXY, "ERROR_WINHTTP_NAME_NOT_RESOLVED"},
      {CURLE_COULDNT_CONNECT, "ERROR_WINHTTP_CANNOT_CONNECT"},
      {CURLE_OPERATION_TIMEDOUT, "ERROR_WINHTTP_TIMEOUT"},
      {CURLE_PEER_FAILED_VERIFICATION, "ERROR_WINHTTP_SECURE_FAILURE"},
      {CURLE_SSL_CONNECT_ERROR, "ERROR_WINHTTP_SECURE_FAILURE"},
      {CURLE_WEIRD_SERVER_REPLY, "ERROR_WINHTTP_INVALID_SERVER_RESPONSE"},
      {CURLE_GOT_NOTHING, "ERROR_WINHTTP_INVALID_SERVER_RESPONSE"},
      {CURLE_RECV_ERROR, "ERROR_WINHTTP_CONNECTION_ERROR"},
      {CURLE_TOO_MANY_REDIRECTS, "ERROR_WINHTTP_REDIRECT_FAILED"},
      {CURLE_URL_MALFORMAT, "ERROR_WINHTTP_INVALID_URL"},
      {CURLE_UNSUPPORTED_PROTOCOL, "ERROR_WINHTTP_UNRECOGNIZED_SCHEME"},
      {CURLE_OUT_OF_MEMORY, "E_OUTOFMEMORY"},
      {CURLE_FAILED_INIT, "E_FAIL"},
  };
  for (const Case& c : cases) {
    const uint32_t code = WinHttpHresultForCurl(c.curl);
    const std::optional<ErrorEntry> e = LookupError(code);
    ASSERT_TRUE(e.has_value()) << c.curl;
    EXPECT_EQ(e->name, c.name) << "curl " << c.curl;
  }
  EXPECT_EQ(WinHttpHresultForCurl(CURLE_OK), 0u);
}

}  // namespace
}  // namespace pkiwatch
