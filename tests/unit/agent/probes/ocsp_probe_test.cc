#include "agent/probes/ocsp_probe.h"

#include <curl/curl.h>

#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/openssl_util.h"
#include "common/url.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/agent/probes/test_http_server.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::CertPem;
using ::pkiwatch::testing::KeyPem;
using ::pkiwatch::testing::MakeOcspResponse;
using ::pkiwatch::testing::MakeTestCert;
using ::pkiwatch::testing::MakeTestHierarchy;
using ::pkiwatch::testing::OcspResponderProcess;
using ::pkiwatch::testing::OpenSslIndexLine;
using ::pkiwatch::testing::ScopedTempDir;
using ::pkiwatch::testing::TestCertSpec;
using ::pkiwatch::testing::TestHierarchy;
using ::pkiwatch::testing::TestHttpServer;
using ::pkiwatch::testing::TestKeyCert;
using ::pkiwatch::testing::TestOcspResponseSpec;
using ::pkiwatch::testing::WriteFile;

constexpr absl::Duration kDay = absl::Hours(24);

std::string CodeName(const v1::Finding& f) {
  return f.error().hresult() == 0 ? "" : f.error().symbolic_name();
}

HttpOptions FastHttp() {
  HttpOptions http;
  http.connect_timeout = absl::Seconds(2);
  http.total_timeout = absl::Seconds(10);
  http.no_proxy = true;
  return http;
}

// A test PKI with real `openssl ocsp` responders, made at run time. The
// responders stamp their answers with the real clock, so these tests judge
// at absl::Now().
class OcspProbeTest : public ::testing::Test {
 protected:
  // Leaf serials; the responder's index knows good, revoked and
  // unauthorized (signed by a certificate without id-kp-OCSPSigning).
  static constexpr int64_t kGood = 0x1001;
  static constexpr int64_t kRevoked = 0x1002;
  static constexpr int64_t kUnknown = 0x1003;
  static constexpr int64_t kUnauthorized = 0x1004;
  static constexpr int64_t kDown = 0x1005;
  static constexpr int64_t kHttp500 = 0x1006;

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    absl::StatusOr<TestHierarchy> pki = MakeTestHierarchy(now_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);

    TestCertSpec signer;
    signer.common_name = "Test OCSP Signer";
    signer.serial = 0x2001;
    signer.extended_key_usage = "OCSPSigning";
    signer.key_usage = "critical,digitalSignature";
    signer.not_before = now_ - kDay;
    signer.not_after = now_ + 14 * kDay;
    absl::StatusOr<TestKeyCert> delegate = MakeTestCert(signer, &pki_.issuing);
    signer.common_name = "Test Web Server Posing As OCSP Signer";
    signer.serial = 0x2002;
    signer.extended_key_usage = "serverAuth";
    absl::StatusOr<TestKeyCert> no_eku = MakeTestCert(signer, &pki_.issuing);
    ASSERT_TRUE(delegate.ok() && no_eku.ok());

    const std::string resp = dir_.path() + "/responder";
    std::filesystem::create_directory(resp);
    certs_ = dir_.path() + "/certs";
    std::filesystem::create_directory(certs_);
    ASSERT_TRUE(WriteFile(resp + "/issuing.pem", CertPem(pki_.issuing.cert.get())).ok());
    ASSERT_TRUE(WriteFile(resp + "/delegate.pem", CertPem(delegate->cert.get())).ok());
    ASSERT_TRUE(WriteFile(resp + "/delegate.key", KeyPem(delegate->key.get())).ok());
    ASSERT_TRUE(WriteFile(resp + "/noeku.pem", CertPem(no_eku->cert.get())).ok());
    ASSERT_TRUE(WriteFile(resp + "/noeku.key", KeyPem(no_eku->key.get())).ok());
    // The index is written before the leaves exist: their OCSP URLs need
    // the responders' ports. The revocation is what `openssl ca -revoke`
    // would record.
    const absl::Time leaf_not_after = now_ + 300 * kDay;
    ASSERT_TRUE(WriteFile(resp + "/index.txt",
                          OpenSslIndexLine(kGood, leaf_not_after, "/O=pkiwatch test/CN=good") +
                              OpenSslIndexLine(kRevoked, leaf_not_after,
                                               "/O=pkiwatch test/CN=revoked", now_ - kDay) +
                              OpenSslIndexLine(kUnauthorized, leaf_not_after,
                                               "/O=pkiwatch test/CN=unauthorized"))
                    .ok());
    absl::StatusOr<std::unique_ptr<OcspResponderProcess>> a =
        OcspResponderProcess::Start({.index_file = resp + "/index.txt",
                                     .ca_file = resp + "/issuing.pem",
                                     .signer_cert_file = resp + "/delegate.pem",
                                     .signer_key_file = resp + "/delegate.key",
                                     .log_file = resp + "/a.log"});
    ASSERT_TRUE(a.ok()) << a.status();
    responder_ = *std::move(a);
    absl::StatusOr<std::unique_ptr<OcspResponderProcess>> b =
        OcspResponderProcess::Start({.index_file = resp + "/index.txt",
                                     .ca_file = resp + "/issuing.pem",
                                     .signer_cert_file = resp + "/noeku.pem",
                                     .signer_key_file = resp + "/noeku.key",
                                     .log_file = resp + "/b.log"});
    ASSERT_TRUE(b.ok()) << b.status();
    unauthorized_responder_ = *std::move(b);

    server_.server().Post(
        "/ocsp500", [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
    ASSERT_TRUE(server_.Start());
    const int dead = testing::UnusedLoopbackPort();
    ASSERT_GT(dead, 0);

    AddLeaf("good", kGood, responder_->Url(), /*with_template=*/true);
    AddLeaf("revoked", kRevoked, responder_->Url());
    AddLeaf("unknown", kUnknown, responder_->Url());
    AddLeaf("unauthorized", kUnauthorized, unauthorized_responder_->Url());
    AddLeaf("down", kDown, absl::StrCat("http://127.0.0.1:", dead, "/"));
    AddLeaf("http500", kHttp500, server_.Url("/ocsp500"));
    ASSERT_TRUE(WriteFile(certs_ + "/root.pem", CertPem(pki_.root.cert.get())).ok());
    ASSERT_TRUE(WriteFile(certs_ + "/issuing.pem", CertPem(pki_.issuing.cert.get())).ok());

    // A certificate whose issuer is nowhere in the folders.
    absl::StatusOr<TestHierarchy> other = MakeTestHierarchy(now_);
    ASSERT_TRUE(other.ok());
    TestCertSpec orphan = LeafSpec("orphan", 0x1007, responder_->Url());
    absl::StatusOr<TestKeyCert> o = MakeTestCert(orphan, &other->issuing);
    ASSERT_TRUE(o.ok());
    ASSERT_TRUE(WriteFile(certs_ + "/orphan.pem", CertPem(o->cert.get())).ok());
  }

  TestCertSpec LeafSpec(const std::string& cn, int64_t serial, const std::string& ocsp_url) {
    TestCertSpec spec;
    spec.common_name = cn;
    spec.serial = serial;
    spec.not_before = now_ - 10 * kDay;
    spec.not_after = now_ + 300 * kDay;
    spec.extended_key_usage = "serverAuth";
    spec.ocsp_urls = {ocsp_url};
    spec.cdp_urls = {server_.Url("/issuing.crl")};
    spec.ca_issuers_urls = {server_.Url("/issuing.cer")};
    return spec;
  }

  void AddLeaf(const std::string& cn, int64_t serial, const std::string& ocsp_url,
               bool with_template = false) {
    TestCertSpec spec = LeafSpec(cn, serial, ocsp_url);
    if (with_template) spec.template_oid = "1.3.6.1.4.1.311.21.8.4242.1";
    absl::StatusOr<TestKeyCert> leaf = MakeTestCert(spec, &pki_.issuing);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    ASSERT_TRUE(WriteFile(certs_ + "/" + cn + ".pem", CertPem(leaf->cert.get())).ok());
    leaves_.push_back(*std::move(leaf));
  }

  // Findings by the leaf's common name.
  std::map<std::string, v1::Finding> Run(OcspProbeOptions options) {
    absl::StatusOr<std::unique_ptr<CertSource>> source = CertSource::Create({.dirs = {certs_}});
    EXPECT_TRUE(source.ok()) << source.status();
    absl::StatusOr<std::unique_ptr<OcspProbe>> probe =
        OcspProbe::Create(*std::move(source), options, FastHttp(), absl::Seconds(120));
    EXPECT_TRUE(probe.ok()) << probe.status();
    std::map<std::string, v1::Finding> out;
    if (!probe.ok()) return out;
    for (v1::Finding& f : (*probe)->Run(ProbeContext{absl::Now()})) {
      EXPECT_EQ(f.probe(), "ocsp");
      EXPECT_EQ(f.dimensions().url_kind(), v1::URL_KIND_OCSP);
      EXPECT_FALSE(f.summary().empty());
      const std::string subject = f.target_cert().subject();  // "CN=<cn>,O=pkiwatch test"
      const std::string cn = subject.substr(3, subject.find(',') - 3);
      EXPECT_TRUE(out.emplace(cn, std::move(f)).second) << cn;
    }
    return out;
  }

  ScopedTempDir dir_;
  std::string certs_;
  absl::Time now_;
  TestHierarchy pki_;
  std::deque<TestKeyCert> leaves_;
  std::unique_ptr<OcspResponderProcess> responder_;
  std::unique_ptr<OcspResponderProcess> unauthorized_responder_;
  TestHttpServer server_;

  void TearDown() override {
    if (responder_) responder_->Stop();
    if (unauthorized_responder_) unauthorized_responder_->Stop();
    server_.Stop();
  }
};

TEST_F(OcspProbeTest, RealResponderOverPost) {
  OcspProbeOptions options;
  options.nonce = true;
  std::map<std::string, v1::Finding> f = Run(options);
  // Root and issuing CA have no OCSP URL: six leaves plus the orphan.
  ASSERT_EQ(f.size(), 7u);

  const v1::Finding& good = f["good"];
  EXPECT_EQ(good.status(), v1::STATUS_OK) << good.summary();
  EXPECT_EQ(good.ocsp().cert_status(), "good");
  EXPECT_EQ(good.ocsp().response_status(), "successful");
  EXPECT_EQ(good.ocsp().responder(), "CN=Test OCSP Signer,O=pkiwatch test");
  EXPECT_TRUE(good.ocsp().delegated_responder());
  EXPECT_TRUE(good.ocsp().signature_verified());
  EXPECT_EQ(good.ocsp().nonce(), "matched");
  EXPECT_EQ(good.ocsp().method(), "POST");
  EXPECT_EQ(good.ocsp().http_status(), 200u);
  EXPECT_TRUE(good.ocsp().has_this_update());
  EXPECT_TRUE(good.ocsp().has_next_update());  // -nmin 60
  EXPECT_EQ(good.dimensions().url(), *NormalizeUrl(responder_->Url()));
  EXPECT_EQ(good.dimensions().ca(), "CN=Test Issuing CA,O=pkiwatch test");
  EXPECT_EQ(good.dimensions().ca_key_id(), SubjectKeyIdHex(pki_.issuing.cert.get()));
  EXPECT_EQ(good.dimensions().template_oid(), "1.3.6.1.4.1.311.21.8.4242.1");
  EXPECT_EQ(good.target(),
            absl::StrCat(good.target_cert().thumbprint(), " ", good.dimensions().url()));

  const v1::Finding& revoked = f["revoked"];
  EXPECT_EQ(revoked.status(), v1::STATUS_FAIL);
  EXPECT_EQ(CodeName(revoked), "CRYPT_E_REVOKED") << revoked.summary();
  EXPECT_EQ(revoked.ocsp().cert_status(), "revoked");
  EXPECT_EQ(revoked.ocsp().revocation_time().seconds(), absl::ToUnixSeconds(now_ - kDay));

  EXPECT_EQ(CodeName(f["unknown"]), "CRYPT_E_NO_REVOCATION_CHECK") << f["unknown"].summary();
  EXPECT_EQ(f["unknown"].ocsp().cert_status(), "unknown");

  const v1::Finding& unauthorized = f["unauthorized"];
  EXPECT_EQ(CodeName(unauthorized), "CERT_E_WRONG_USAGE") << unauthorized.summary();
  EXPECT_EQ(unauthorized.ocsp().responder(),
            "CN=Test Web Server Posing As OCSP Signer,O=pkiwatch test");

  const v1::Finding& down = f["down"];
  EXPECT_EQ(CodeName(down), "CRYPT_E_REVOCATION_OFFLINE") << down.summary();
  EXPECT_TRUE(absl::StartsWith(down.error().native_detail(), "curl error 7"))
      << down.error().native_detail();

  const v1::Finding& http500 = f["http500"];
  EXPECT_EQ(CodeName(http500), "CRYPT_E_REVOCATION_OFFLINE") << http500.summary();
  EXPECT_TRUE(absl::StartsWith(http500.error().native_detail(), "HTTP 500"));
  EXPECT_EQ(http500.ocsp().http_status(), 500u);

  const v1::Finding& orphan = f["orphan"];
  EXPECT_EQ(orphan.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(CodeName(orphan), "CERT_E_CHAINING") << orphan.summary();
}

TEST_F(OcspProbeTest, RealResponderOverGet) {
  OcspProbeOptions options;
  options.use_get = true;
  std::map<std::string, v1::Finding> f = Run(options);
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f["good"].status(), v1::STATUS_OK) << f["good"].summary();
  EXPECT_EQ(f["good"].ocsp().method(), "GET");
  EXPECT_EQ(f["good"].ocsp().nonce(), "not sent");
  EXPECT_EQ(CodeName(f["revoked"]), "CRYPT_E_REVOKED") << f["revoked"].summary();
  EXPECT_EQ(CodeName(f["unknown"]), "CRYPT_E_NO_REVOCATION_CHECK");
}

TEST_F(OcspProbeTest, ResponderGoesDown) {
  responder_->Stop();
  std::map<std::string, v1::Finding> f = Run({});
  for (const char* cn : {"good", "revoked", "unknown"}) {
    EXPECT_EQ(CodeName(f[cn]), "CRYPT_E_REVOCATION_OFFLINE") << cn << ": " << f[cn].summary();
  }
  // The other responder is unaffected.
  EXPECT_EQ(CodeName(f["unauthorized"]), "CERT_E_WRONG_USAGE");
}

// The pure part with hand-made exchanges.
TEST_F(OcspProbeTest, MakeOcspFindingFromExchanges) {
  X509* leaf = leaves_.front().cert.get();
  absl::StatusOr<CertFacts> facts = ReadCertFacts(leaf);
  ASSERT_TRUE(facts.ok());
  OcspCheckOptions check;
  check.now = now_;
  check.cert = leaf;
  check.issuer = pki_.issuing.cert.get();

  TestOcspResponseSpec spec;
  spec.cert = leaf;
  spec.issuer = pki_.issuing.cert.get();
  spec.signer = &pki_.issuing;
  spec.this_update = now_ - absl::Hours(1);
  spec.next_update = now_ + kDay;
  absl::StatusOr<std::string> body = MakeOcspResponse(spec);
  ASSERT_TRUE(body.ok()) << body.status();

  HttpResult fetch;
  fetch.http_status = 200;
  fetch.content_type = "text/html";
  fetch.body = *body;
  fetch.latency = absl::Milliseconds(12);
  v1::Finding f = MakeOcspFinding(*facts, "http://ocsp.example/", "POST", fetch, check);
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_FALSE(f.ocsp().delegated_responder());
  EXPECT_EQ(f.duration().nanos(), 12000000);
  EXPECT_TRUE(absl::StrContains(f.summary(), "Content-Type \"text/html\"")) << f.summary();
  EXPECT_EQ(f.ocsp().next_update().seconds(), absl::ToUnixSeconds(now_ + kDay));

  HttpResult local;
  local.curl_code = CURLE_OUT_OF_MEMORY;
  local.curl_error = "out of memory";
  f = MakeOcspFinding(*facts, "http://ocsp.example/", "POST", local, check);
  EXPECT_EQ(f.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(CodeName(f), "E_OUTOFMEMORY");

  HttpResult garbage;
  garbage.http_status = 200;
  garbage.body = "<html>captive portal</html>";
  f = MakeOcspFinding(*facts, "http://ocsp.example/", "GET", garbage, check);
  EXPECT_EQ(CodeName(f), "CRYPT_E_ASN1_BADTAG") << f.summary();
  EXPECT_EQ(f.ocsp().method(), "GET");
}

TEST(OcspProbeOptionsTest, FromSettings) {
  v1::OcspSettings s;
  OcspProbeOptions o = OcspProbeOptionsFromSettings(s);
  EXPECT_FALSE(o.nonce);
  EXPECT_EQ(o.clock_tolerance, absl::Minutes(5));
  EXPECT_EQ(o.max_age, absl::Hours(24 * 7));
  EXPECT_EQ(o.next_update_warn, absl::ZeroDuration());
  EXPECT_EQ(o.signer_expiry_warn, absl::Hours(48));
  s.set_nonce(true);
  s.set_use_get(true);
  s.set_clock_tolerance_seconds(60);
  s.set_next_update_warn_seconds(3600);
  o = OcspProbeOptionsFromSettings(s);
  EXPECT_TRUE(o.nonce);
  EXPECT_TRUE(o.use_get);
  EXPECT_EQ(o.clock_tolerance, absl::Seconds(60));
  EXPECT_EQ(o.next_update_warn, absl::Hours(1));
}

}  // namespace
}  // namespace pkiwatch
