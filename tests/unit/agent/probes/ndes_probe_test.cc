// The NDES/SCEP probe against a real HTTP server on 127.0.0.1 that plays an
// NDES server (GetCACaps, GetCACert with CA and RA certificates made at run
// time, /certsrv/mscep_admin/).
#include "agent/probes/ndes_probe.h"

#include <curl/curl.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "agent/core/probe_set.h"
#include "common/openssl_util.h"
#include "common/utf8.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/probes/test_http_server.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::CertDer;
using ::pkiwatch::testing::CertsOnlyPkcs7Der;
using ::pkiwatch::testing::MakeTestCert;
using ::pkiwatch::testing::TestCertSpec;
using ::pkiwatch::testing::TestHttpServer;
using ::pkiwatch::testing::TestKeyCert;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2031, 3, 14, 12, 0, 0),
                                        absl::UTCTimeZone());
constexpr char kCaps[] = "AES\r\nPOSTPKIOperation\r\nRenewal\r\nSHA-256\r\nSHA-1\r\nDES3\r\n";
constexpr char kIssuingCa[] = "CN=pkiwatch Issuing CA,O=pkiwatch test";
constexpr char kScepPath[] = "/certsrv/mscep/mscep.dll";

TestCertSpec Spec(std::string cn, int64_t serial, bool is_ca, absl::Time not_after) {
  TestCertSpec s;
  s.common_name = std::move(cn);
  s.serial = serial;
  s.is_ca = is_ca;
  s.key_usage = is_ca ? "critical,keyCertSign,cRLSign" : "critical,keyEncipherment";
  s.not_before = kNow - absl::Hours(24 * 300);
  s.not_after = not_after;
  return s;
}

// What the fake NDES server answers; tests change it before a run.
struct NdesBehaviour {
  int caps_status = 200;
  std::string caps_body = kCaps;
  std::string caps_type = "text/plain";
  int cert_status = 200;
  std::string cert_body;
  std::string cert_type = "application/x-x509-ca-ra-cert";
  int admin_status = 401;
  std::string admin_body = "401 - Unauthorized";
  std::string admin_type = "text/html";
  absl::Duration delay;
};

class NdesProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto root = MakeTestCert(Spec("pkiwatch Root CA", 1, true, kNow + absl::Hours(24 * 3650)));
    ASSERT_TRUE(root.ok()) << root.status();
    root_ = new TestKeyCert(std::move(*root));
    auto issuing =
        MakeTestCert(Spec("pkiwatch Issuing CA", 2, true, kNow + absl::Hours(24 * 1500)), root_);
    ASSERT_TRUE(issuing.ok()) << issuing.status();
    issuing_ = new TestKeyCert(std::move(*issuing));
  }
  static void TearDownTestSuite() {
    delete issuing_;
    delete root_;
  }

  void SetUp() override {
    ASSERT_NE(issuing_, nullptr);
    // The two ADCS RA certificates: CEP Encryption and Exchange Enrollment
    // Agent (Offline request).
    ra_enc_ = MakeRa("NDES01-MSCEP-RA", 10, kNow + absl::Hours(24 * 300), "CEPEncryption");
    ra_sig_ = MakeRa("NDES01-MSCEP-RA", 11, kNow + absl::Hours(24 * 200),
                     "EnrollmentAgentOffline");
    SetCerts({root_->cert.get(), issuing_->cert.get(), ra_enc_.cert.get(), ra_sig_.cert.get()});

    httplib::Server& s = server_.server();
    s.Get(kScepPath, [this](const httplib::Request& req, httplib::Response& res) {
      const NdesBehaviour b = behaviour();
      if (b.delay > absl::ZeroDuration()) {
        std::this_thread::sleep_for(absl::ToChronoNanoseconds(b.delay));
      }
      const std::string op = req.get_param_value("operation");
      if (op == "GetCACaps") {
        res.status = b.caps_status;
        res.set_content(b.caps_body, b.caps_type.c_str());
      } else if (op == "GetCACert" && req.get_param_value("message") == "ca") {
        res.status = b.cert_status;
        res.set_content(b.cert_body, b.cert_type.c_str());
      } else {
        res.status = 400;
        res.set_content("bad operation", "text/plain");
      }
    });
    s.Get("/certsrv/mscep_admin/", [this](const httplib::Request&, httplib::Response& res) {
      const NdesBehaviour b = behaviour();
      res.status = b.admin_status;
      res.set_content(b.admin_body, b.admin_type.c_str());
    });
    ASSERT_TRUE(server_.Start()) << "cannot start the test HTTP server on 127.0.0.1";
    http_.no_proxy = true;
    http_.connect_timeout = absl::Seconds(5);
    http_.total_timeout = absl::Seconds(10);
  }

  TestKeyCert MakeRa(std::string cn, int64_t serial, absl::Time not_after, std::string tmpl) {
    TestCertSpec spec = Spec(std::move(cn), serial, false, not_after);
    spec.template_name = std::move(tmpl);
    auto ra = MakeTestCert(spec, issuing_);
    EXPECT_TRUE(ra.ok()) << ra.status();
    return ra.ok() ? std::move(*ra) : TestKeyCert{};
  }

  void SetCerts(const std::vector<X509*>& certs) {
    absl::MutexLock lock(&mu_);
    behaviour_.cert_body = CertsOnlyPkcs7Der(certs);
  }
  NdesBehaviour behaviour() {
    absl::MutexLock lock(&mu_);
    return behaviour_;
  }
  template <typename F>
  void Change(F f) {
    absl::MutexLock lock(&mu_);
    f(behaviour_);
  }

  v1::NdesEndpoint Endpoint(bool check_admin = true) {
    v1::NdesEndpoint e;
    e.set_url(server_.Url(kScepPath));
    e.set_check_admin(check_admin);
    return e;
  }

  v1::Finding RunOne(v1::NdesEndpoint endpoint) {
    auto probe = NdesProbe::Create({std::move(endpoint)}, http_);
    EXPECT_TRUE(probe.ok()) << probe.status();
    if (!probe.ok()) return {};
    std::vector<v1::Finding> f = (*probe)->Run(ProbeContext{kNow});
    EXPECT_EQ(f.size(), 1u);
    return f.empty() ? v1::Finding{} : f[0];
  }

  static void ExpectClean(const v1::Finding& f) {
    EXPECT_TRUE(IsValidUtf8(f.summary())) << f.summary();
    EXPECT_EQ(f.summary().find('\n'), std::string::npos) << f.summary();
    EXPECT_TRUE(IsValidUtf8(f.error().native_detail()));
  }

  static TestKeyCert* root_;
  static TestKeyCert* issuing_;
  TestKeyCert ra_enc_;
  TestKeyCert ra_sig_;
  TestHttpServer server_;
  HttpOptions http_;
  absl::Mutex mu_;
  NdesBehaviour behaviour_ ABSL_GUARDED_BY(mu_);
};

TestKeyCert* NdesProbeTest::root_ = nullptr;
TestKeyCert* NdesProbeTest::issuing_ = nullptr;

std::string Ski(X509* cert) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert);
  return ski == nullptr ? ""
                        : HexLower(std::string_view(
                              reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                              static_cast<size_t>(ASN1_STRING_length(ski))));
}

TEST_F(NdesProbeTest, HealthyNdesIsOk) {
  const v1::Finding f = RunOne(Endpoint());
  const std::string url = server_.Url(kScepPath);
  EXPECT_EQ(f.probe(), "ndes");
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(f.error().hresult(), 0u);
  EXPECT_EQ(f.target(), url);
  EXPECT_EQ(f.dimensions().url(), url);
  EXPECT_EQ(f.dimensions().url_kind(), v1::URL_KIND_NDES);
  EXPECT_EQ(f.dimensions().ca(), kIssuingCa);
  EXPECT_EQ(f.dimensions().ca_key_id(), Ski(issuing_->cert.get()));

  ASSERT_TRUE(f.has_ndes());
  const v1::NdesDetail& d = f.ndes();
  EXPECT_EQ(d.getcacaps_http_status(), 200u);
  ASSERT_EQ(d.capabilities_size(), 6);
  EXPECT_EQ(d.capabilities(0), "AES");
  EXPECT_EQ(d.capabilities(3), "SHA-256");
  EXPECT_EQ(d.getcacert_http_status(), 200u);
  EXPECT_EQ(d.getcacert_content_type(), "application/x-x509-ca-ra-cert");
  ASSERT_EQ(d.certificates_size(), 4);
  EXPECT_TRUE(d.certificates(0).is_ca());
  EXPECT_TRUE(d.certificates(1).is_ca());
  EXPECT_FALSE(d.certificates(2).is_ca());
  EXPECT_EQ(d.certificates(2).template_name(), "CEPEncryption");
  EXPECT_EQ(d.certificates(3).template_name(), "EnrollmentAgentOffline");
  EXPECT_EQ(d.certificates(2).issuer(), kIssuingCa);
  EXPECT_EQ(d.certificates(2).thumbprint(), CertThumbprintSha1(ra_enc_.cert.get()));
  EXPECT_EQ(d.admin_url(), server_.Url("/certsrv/mscep_admin/"));
  EXPECT_EQ(d.admin_http_status(), 401u);

  // The RA signing certificate expires first.
  EXPECT_EQ(f.target_cert().thumbprint(), CertThumbprintSha1(ra_sig_.cert.get()));
  EXPECT_EQ(f.target_cert().not_after().seconds(),
            absl::ToUnixSeconds(kNow + absl::Hours(24 * 200)));
  EXPECT_TRUE(absl::StartsWith(f.summary(), "NDES healthy: ")) << f.summary();
  EXPECT_TRUE(absl::StrContains(f.summary(), "2 CA + 2 RA")) << f.summary();
  ExpectClean(f);
}

TEST_F(NdesProbeTest, RaCertificateExpiringSoonWarns) {
  TestKeyCert soon = MakeRa("NDES01-MSCEP-RA", 12, kNow + absl::Hours(24 * 10), "CEPEncryption");
  SetCerts({issuing_->cert.get(), soon.cert.get(), ra_sig_.cert.get()});
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_WARN) << f.summary();
  EXPECT_TRUE(absl::StartsWith(f.summary(), "RA certificate CN=NDES01-MSCEP-RA")) << f.summary();
  EXPECT_TRUE(absl::StrContains(f.summary(), "expires in 9d23h (2031-03-24T12:00:00Z)"))
      << f.summary();
  EXPECT_EQ(f.target_cert().thumbprint(), CertThumbprintSha1(soon.cert.get()));
}

TEST_F(NdesProbeTest, ExpiredRaCertificateFails) {
  TestKeyCert expired = MakeRa("NDES01-MSCEP-RA", 13, kNow - absl::Hours(24 * 3), "CEPEncryption");
  SetCerts({issuing_->cert.get(), expired.cert.get(), ra_sig_.cert.get()});
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CERT_E_EXPIRED");
  EXPECT_EQ(f.error().hresult(), 0x800B0101u);
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "expired 3d0h ago"))
      << f.error().native_detail();
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "template CEPEncryption"));
  ExpectClean(f);
}

TEST_F(NdesProbeTest, ExpiringCaCertificateWarnsToo) {
  auto ca = MakeTestCert(Spec("pkiwatch Short CA", 3, true, kNow + absl::Hours(24 * 20)), root_);
  ASSERT_TRUE(ca.ok()) << ca.status();
  const std::string der = CertDer(ca->cert.get());
  Change([&der](NdesBehaviour& b) {
    b.cert_type = "application/x-x509-ca-cert";
    b.cert_body = der;
  });
  const v1::Finding f = RunOne(Endpoint(/*check_admin=*/false));
  EXPECT_EQ(f.status(), v1::STATUS_WARN) << f.summary();
  EXPECT_TRUE(absl::StartsWith(f.summary(), "CA certificate CN=pkiwatch Short CA")) << f.summary();
  EXPECT_EQ(f.dimensions().ca(), "CN=pkiwatch Short CA,O=pkiwatch test");
  EXPECT_EQ(f.ndes().admin_http_status(), 0u);
  EXPECT_EQ(f.ndes().admin_url(), "");
}

TEST_F(NdesProbeTest, SingleCaCertificateAnswerIsOk) {
  const std::string der = CertDer(issuing_->cert.get());
  Change([&der](NdesBehaviour& b) {
    b.cert_type = "application/x-x509-ca-cert";
    b.cert_body = der;
  });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(f.ndes().certificates_size(), 1);
  EXPECT_EQ(f.dimensions().ca(), kIssuingCa);
}

TEST_F(NdesProbeTest, CaRaAnswerWithoutRaCertificateWarns) {
  SetCerts({root_->cert.get(), issuing_->cert.get()});
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_WARN) << f.summary();
  EXPECT_TRUE(absl::StrContains(f.summary(), "no RA certificate")) << f.summary();
  // Without RA certificates the issuing CA is the subordinate one.
  EXPECT_EQ(f.dimensions().ca(), kIssuingCa);
}

TEST_F(NdesProbeTest, GarbageGetCaCertIsAsn1BadTag) {
  Change([](NdesBehaviour& b) {
    b.cert_body = "<html><body>Service Unavailable</body></html>";
    b.cert_type = "text/html";
  });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_ASN1_BADTAG");
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "text/html"))
      << f.error().native_detail();
  EXPECT_EQ(f.dimensions().ca(), "");
  ExpectClean(f);
}

TEST_F(NdesProbeTest, HtmlGetCaCapsIsInvalidServerResponse) {
  Change([](NdesBehaviour& b) {
    b.caps_body = "<!DOCTYPE html><html><body>Please log in</body></html>";
    b.caps_type = "text/html";
  });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  // 0x80072f78, as event 86 shows it for a proxy or login page.
  EXPECT_EQ(f.error().hresult(), 0x80072F78u);
  EXPECT_EQ(f.error().symbolic_name(), "ERROR_WINHTTP_INVALID_SERVER_RESPONSE");
  // GetCACert still ran and named the CA.
  EXPECT_EQ(f.dimensions().ca(), kIssuingCa);
}

TEST_F(NdesProbeTest, EmptyCapabilitiesWarn) {
  Change([](NdesBehaviour& b) { b.caps_body = "\r\n"; });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_WARN);
  EXPECT_EQ(f.ndes().capabilities_size(), 0);
}

TEST_F(NdesProbeTest, Http500FromMscepIsEFail) {
  Change([](NdesBehaviour& b) {
    b.caps_status = 500;
    b.caps_body = "500 - Internal server error.";
    b.cert_status = 500;
  });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "E_FAIL");
  EXPECT_TRUE(absl::StartsWith(f.error().native_detail(), "GetCACaps: HTTP 500 from "))
      << f.error().native_detail();
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "service account"));
  EXPECT_TRUE(absl::StrContains(f.summary(), "(+1 more)")) << f.summary();
  EXPECT_EQ(f.ndes().getcacaps_http_status(), 500u);
}

TEST_F(NdesProbeTest, UnauthorizedMscepIsAccessDenied) {
  Change([](NdesBehaviour& b) {
    b.caps_status = 401;
    b.cert_status = 401;
  });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "E_ACCESSDENIED");
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "anonymous"));
}

TEST_F(NdesProbeTest, AdminHttp500Fails) {
  Change([](NdesBehaviour& b) {
    b.admin_status = 500;
    b.admin_body = "500 - Internal server error.";
  });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "E_FAIL");
  EXPECT_TRUE(absl::StartsWith(f.error().native_detail(), "mscep_admin: HTTP 500"))
      << f.error().native_detail();
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "application pool"));
  EXPECT_EQ(f.ndes().admin_http_status(), 500u);
  EXPECT_EQ(f.dimensions().ca(), kIssuingCa);
}

TEST_F(NdesProbeTest, AdminPasswordPageIsHealthy) {
  Change([](NdesBehaviour& b) {
    b.admin_status = 200;
    b.admin_body =
        "<html><body>The enrollment challenge password is: 1A2B3C4D5E6F7A8B<br>This password "
        "can be used only once and will expire within 60 minutes.</body></html>";
  });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_TRUE(absl::StrContains(f.summary(), "admin HTTP 200 (password page)")) << f.summary();
}

TEST_F(NdesProbeTest, AdminPasswordCacheFullWarns) {
  Change([](NdesBehaviour& b) {
    b.admin_status = 200;
    b.admin_body = "<html><body>The password cache is full.</body></html>";
  });
  const v1::Finding f = RunOne(Endpoint());
  EXPECT_EQ(f.status(), v1::STATUS_WARN);
  EXPECT_TRUE(absl::StrContains(f.summary(), "password cache is full")) << f.summary();
}

TEST_F(NdesProbeTest, ServerDownIsCannotConnectAndStopsAfterGetCaCaps) {
  auto probe = NdesProbe::Create({Endpoint()}, http_);
  ASSERT_TRUE(probe.ok()) << probe.status();
  server_.Stop();
  const std::vector<v1::Finding> f = (*probe)->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].status(), v1::STATUS_FAIL);
  EXPECT_EQ(f[0].error().symbolic_name(), "ERROR_WINHTTP_CANNOT_CONNECT");
  EXPECT_EQ(f[0].error().hresult(), 0x80072EFDu);
  EXPECT_TRUE(absl::StartsWith(f[0].error().native_detail(),
                               absl::StrCat("GetCACaps: curl error ", CURLE_COULDNT_CONNECT)))
      << f[0].error().native_detail();
  EXPECT_EQ(f[0].ndes().getcacert_http_status(), 0u);
  EXPECT_TRUE(absl::StrContains(f[0].summary(), "GetCACert not tried")) << f[0].summary();
  EXPECT_TRUE(absl::StrContains(f[0].summary(), "admin page not tried")) << f[0].summary();
}

TEST_F(NdesProbeTest, UnresolvableNameIsNameNotResolved) {
  v1::NdesEndpoint e;
  e.set_url("http://ndes.pkiwatch-test.invalid/certsrv/mscep/mscep.dll");
  const v1::Finding f = RunOne(e);
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "ERROR_WINHTTP_NAME_NOT_RESOLVED");
  EXPECT_EQ(f.dimensions().url(), "http://ndes.pkiwatch-test.invalid/certsrv/mscep/mscep.dll");
}

TEST_F(NdesProbeTest, OneFindingPerEndpointInOrderAndBudgetSkipsTheRest) {
  Change([](NdesBehaviour& b) { b.delay = absl::Milliseconds(150); });
  v1::NdesEndpoint second;
  second.set_url(server_.Url("/other/mscep.dll"));
  // The first endpoint (three requests of 150 ms) outlasts the budget.
  auto probe = NdesProbe::Create({Endpoint(), second}, http_, absl::Milliseconds(100));
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ((*probe)->info().name, "ndes");
  const std::vector<v1::Finding> f = (*probe)->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  const std::vector<std::string> targets = (*probe)->targets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(f[0].target(), targets[0]);
  EXPECT_EQ(f[1].target(), targets[1]);
  EXPECT_EQ(f[0].status(), v1::STATUS_OK) << f[0].summary();
  EXPECT_EQ(f[1].status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(f[1].error().symbolic_name(), "ERROR_TIMEOUT");
  EXPECT_EQ(f[1].dimensions().url_kind(), v1::URL_KIND_NDES);
  EXPECT_TRUE(absl::StrContains(f[1].summary(), "budget")) << f[1].summary();
}

TEST_F(NdesProbeTest, CreateValidatesUrls) {
  v1::NdesEndpoint bad;
  bad.set_url("not a url");
  auto probe = NdesProbe::Create({bad}, http_);
  ASSERT_FALSE(probe.ok());
  EXPECT_TRUE(absl::StrContains(probe.status().message(), "ndes[0].url")) << probe.status();

  v1::NdesEndpoint ldap;
  ldap.set_url("ldap://ndes.corp.example/");
  EXPECT_FALSE(NdesProbe::Create({ldap}, http_).ok());

  v1::NdesEndpoint a = Endpoint();
  v1::NdesEndpoint b = Endpoint();
  b.set_url(absl::StrCat("HTTP://127.0.0.1:", server_.port(), kScepPath));
  probe = NdesProbe::Create({a, b}, http_);
  ASSERT_FALSE(probe.ok());
  EXPECT_TRUE(absl::StrContains(probe.status().message(), "ndes[1].url")) << probe.status();
  EXPECT_TRUE(NdesProbe::Create({}, http_).ok());
}

// ---- Pure parts ----

TEST(NdesUrlsTest, RequestUrls) {
  EXPECT_EQ(NdesGetCaCapsUrl("http://ndes.corp.example/certsrv/mscep/mscep.dll"),
            "http://ndes.corp.example/certsrv/mscep/mscep.dll?operation=GetCACaps");
  EXPECT_EQ(NdesGetCaCertUrl("http://ndes.corp.example/certsrv/mscep/mscep.dll"),
            "http://ndes.corp.example/certsrv/mscep/mscep.dll?operation=GetCACert&message=ca");
  EXPECT_EQ(NdesGetCaCapsUrl("https://scep.example/scep?tenant=a"),
            "https://scep.example/scep?tenant=a&operation=GetCACaps");
  EXPECT_EQ(NdesAdminUrl("https://ndes.corp.example:8443/certsrv/mscep/mscep.dll"),
            "https://ndes.corp.example:8443/certsrv/mscep_admin/");
  EXPECT_EQ(NdesAdminUrl("http://ndes/"), "http://ndes/certsrv/mscep_admin/");
}

TEST(NdesCapsTest, ParsesLinesAndBoundsThem) {
  EXPECT_EQ(ParseCaCaps("  AES \r\n\r\nSHA-512\nRenewal"),
            (std::vector<std::string>{"AES", "SHA-512", "Renewal"}));
  EXPECT_TRUE(ParseCaCaps("").empty());
  std::string many;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&many, "Cap", i, "\n");
  EXPECT_EQ(ParseCaCaps(many).size(), static_cast<size_t>(kNdesMaxCapabilities));
  const std::vector<std::string> hostile = ParseCaCaps(std::string(500, 'x') + "\xff\x01\n");
  ASSERT_EQ(hostile.size(), 1u);
  EXPECT_LE(hostile[0].size(), kNdesMaxCapabilityBytes);
  EXPECT_TRUE(IsValidUtf8(hostile[0]));
}

TEST(MakeNdesFindingTest, LocalCurlFailureIsProbeError) {
  NdesFetches fetches;
  fetches.get_ca_caps.curl_code = CURLE_OUT_OF_MEMORY;
  fetches.get_ca_caps.curl_error = "out of memory";
  const v1::Finding f = MakeNdesFinding("http://ndes.test/certsrv/mscep/mscep.dll", fetches, kNow);
  EXPECT_EQ(f.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(f.error().symbolic_name(), "E_OUTOFMEMORY");
}

TEST(MakeNdesFindingTest, TlsFailureIsSecureFailure) {
  NdesFetches fetches;
  fetches.get_ca_caps.curl_code = CURLE_PEER_FAILED_VERIFICATION;
  fetches.get_ca_caps.curl_error = "SSL certificate problem: unable to get local issuer";
  const v1::Finding f = MakeNdesFinding("https://ndes.test/certsrv/mscep/mscep.dll", fetches, kNow);
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  // 0x80072f8f, the code of the event 86 sample.
  EXPECT_EQ(f.error().hresult(), 0x80072F8Fu);
}

TEST(ProbeTableTest, PartBProbesAreDeclared) {
  for (const char* name : {"ndes", "ca_endpoint", "clock"}) {
    const ProbeInfo* info = FindProbeInfo(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_FALSE(info->checks.empty());
    EXPECT_TRUE(absl::StrContains(FormatProbeTable(), std::string(name) + "\n")) << name;
  }
  EXPECT_EQ(FindProbeInfo("ndes"), &kNdesProbeInfo);
}

// The configuration fields of part B, in their JSON spelling, build the
// three probes (the one place probes are made from configuration).
TEST(BuildProbesTest, PartBProbesFromJsonConfig) {
  const std::string json = R"({
    "ndes": [{"url": "http://ndes.corp.example/certsrv/mscep/mscep.dll", "checkAdmin": true}],
    "enrollmentServices": [{"config": "ca01.corp.example\\Corp Issuing CA",
                            "httpUrls": ["https://ca01.corp.example/certsrv/"],
                            "rpcPort": 135}],
    "clock": {"reference": "time.corp.example", "warnSeconds": 30, "failSeconds": 300},
    "probeBudgetSeconds": 60
  })";
  v1::AgentConfig config;
  const auto parsed = google::protobuf::util::JsonStringToMessage(json, &config);
  ASSERT_TRUE(parsed.ok()) << parsed.ToString();
  absl::StatusOr<std::vector<agent::ScheduledProbe>> probes = agent::BuildProbes(config);
  ASSERT_TRUE(probes.ok()) << probes.status();
  std::vector<std::string> names;
  for (const agent::ScheduledProbe& p : *probes) names.emplace_back(p.probe->info().name);
  EXPECT_EQ(names, (std::vector<std::string>{"ndes", "ca_endpoint", "clock"}));

  config.mutable_clock()->set_warn_seconds(900);
  probes = agent::BuildProbes(config);
  ASSERT_FALSE(probes.ok());
  EXPECT_TRUE(absl::StartsWith(probes.status().message(), "probe clock: ")) << probes.status();
  config.mutable_clock()->set_warn_seconds(0);
  config.mutable_enrollment_services(0)->set_config("no backslash");
  probes = agent::BuildProbes(config);
  ASSERT_FALSE(probes.ok());
  EXPECT_TRUE(absl::StartsWith(probes.status().message(), "probe ca_endpoint: "))
      << probes.status();
}

}  // namespace
}  // namespace pkiwatch
