#include "agent/probes/chain_probe.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/error_catalogue.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/agent/probes/test_http_server.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::CertDer;
using ::pkiwatch::testing::CertPem;
using ::pkiwatch::testing::MakeTestCert;
using ::pkiwatch::testing::MakeTestHierarchy;
using ::pkiwatch::testing::ScopedTempDir;
using ::pkiwatch::testing::TestCertSpec;
using ::pkiwatch::testing::TestHierarchy;
using ::pkiwatch::testing::TestHttpServer;
using ::pkiwatch::testing::TestKeyCert;
using ::pkiwatch::testing::WriteFile;

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2031, 3, 14, 12, 0, 0), absl::UTCTimeZone());
constexpr absl::Duration kDay = absl::Hours(24);
constexpr absl::Duration kBudget = absl::Seconds(60);

std::string CodeName(const v1::Finding& f) {
  return f.error().hresult() == 0 ? "" : f.error().symbolic_name();
}

HttpOptions FastHttp() {
  HttpOptions http;
  http.connect_timeout = absl::Seconds(2);
  http.total_timeout = absl::Seconds(5);
  http.no_proxy = true;
  return http;
}

class ChainProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    certs_ = dir_.path() + "/certs";
    std::filesystem::create_directory(certs_);
    // AIA: /issuing.cer (DER), /issuing.p7c, /root.cer; anything else 404.
    server_.server().Get(R"(/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      auto it = served_.find(req.matches[1].str());
      if (it == served_.end()) {
        res.status = 404;
        return;
      }
      res.set_content(it->second, "application/pkix-cert");
    });
    ASSERT_TRUE(server_.Start());
    absl::StatusOr<TestHierarchy> pki = MakeTestHierarchy(kNow, server_.Url("/root.cer"));
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }

  TestKeyCert Leaf(std::string cn, int64_t serial, absl::Time not_after,
                   const TestKeyCert* issuer = nullptr) {
    TestCertSpec spec;
    spec.common_name = std::move(cn);
    spec.serial = serial;
    spec.not_before = kNow - 10 * kDay;
    spec.not_after = not_after;
    spec.extended_key_usage = "serverAuth";
    spec.ca_issuers_urls = {server_.Url("/issuing.cer")};
    spec.template_oid = "1.3.6.1.4.1.311.21.8.99.1";
    spec.template_major = 100;
    spec.template_minor = 3;
    absl::StatusOr<TestKeyCert> leaf = MakeTestCert(spec, issuer ? issuer : &pki_.issuing);
    EXPECT_TRUE(leaf.ok()) << leaf.status();
    return leaf.ok() ? *std::move(leaf) : TestKeyCert{};
  }

  void Put(const std::string& name, std::string_view bytes) {
    ASSERT_TRUE(WriteFile(certs_ + "/" + name, bytes).ok());
  }

  std::unique_ptr<ChainProbe> Probe(ChainProbeOptions options = {}, std::string bundle = "",
                                    bool fetch = true) {
    absl::StatusOr<std::unique_ptr<CertSource>> source =
        CertSource::Create({.dirs = {certs_}, .trust_bundle_file = std::move(bundle)});
    EXPECT_TRUE(source.ok()) << source.status();
    if (!source.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<ChainProbe>> probe =
        ChainProbe::Create(*std::move(source), options,
                           fetch ? HttpIssuerFetcher(FastHttp()) : IssuerFetcher(), kBudget);
    EXPECT_TRUE(probe.ok()) << probe.status();
    return probe.ok() ? *std::move(probe) : nullptr;
  }

  // Findings by target (thumbprint or path).
  std::map<std::string, v1::Finding> RunAt(ChainProbe* probe, absl::Time now = kNow) {
    std::map<std::string, v1::Finding> out;
    if (probe == nullptr) return out;
    for (v1::Finding& f : probe->Run(ProbeContext{now})) {
      EXPECT_EQ(f.probe(), "chain");
      EXPECT_FALSE(f.summary().empty());
      EXPECT_NE(f.status(), v1::STATUS_UNSPECIFIED);
      std::string target = f.target();
      EXPECT_TRUE(out.emplace(target, std::move(f)).second) << "duplicate target " << target;
    }
    return out;
  }

  static std::string Thumb(const TestKeyCert& c) { return CertThumbprintSha1(c.cert.get()); }

  ScopedTempDir dir_;
  std::string certs_;
  TestHttpServer server_;
  std::map<std::string, std::string> served_;
  TestHierarchy pki_;
};

TEST_F(ChainProbeTest, CompleteChainInTheFolder) {
  TestKeyCert leaf = Leaf("web.example", 0x1001, kNow + 300 * kDay);
  Put("root.pem", CertPem(pki_.root.cert.get()));
  Put("issuing.crt", CertDer(pki_.issuing.cert.get()));
  Put("leaf.pem", CertPem(leaf.cert.get()));
  Put("notes.txt", "not a certificate file, skipped");
  auto probe = Probe();
  std::map<std::string, v1::Finding> f = RunAt(probe.get());
  ASSERT_EQ(f.size(), 3u);

  const v1::Finding& lf = f[Thumb(leaf)];
  EXPECT_EQ(lf.status(), v1::STATUS_OK) << lf.summary();
  EXPECT_TRUE(absl::StrContains(lf.summary(), "chain OK, 3 certificate(s)")) << lf.summary();
  EXPECT_EQ(lf.dimensions().ca(), "CN=Test Issuing CA,O=pkiwatch test");
  EXPECT_EQ(lf.dimensions().ca_key_id(), SubjectKeyIdHex(pki_.issuing.cert.get()));
  EXPECT_EQ(lf.dimensions().template_oid(), "1.3.6.1.4.1.311.21.8.99.1");
  EXPECT_EQ(lf.target_cert().subject(), "CN=web.example,O=pkiwatch test");
  EXPECT_EQ(lf.target_cert().thumbprint(), Thumb(leaf));
  EXPECT_EQ(lf.target_cert().not_after().seconds(), absl::ToUnixSeconds(kNow + 300 * kDay));
  EXPECT_EQ(lf.observed_at().seconds(), absl::ToUnixSeconds(kNow));
  EXPECT_FALSE(lf.has_error());

  const v1::Finding& rf = f[Thumb(pki_.root)];
  EXPECT_EQ(rf.status(), v1::STATUS_OK) << rf.summary();
  EXPECT_TRUE(absl::StrContains(rf.summary(), "trust anchor")) << rf.summary();
  EXPECT_EQ(f[Thumb(pki_.issuing)].status(), v1::STATUS_OK) << f[Thumb(pki_.issuing)].summary();
}

TEST_F(ChainProbeTest, ExpiredAndExpiringCertificates) {
  TestKeyCert expired = Leaf("expired.example", 0x1002, kNow - kDay);
  TestKeyCert soon = Leaf("soon.example", 0x1003, kNow + 10 * kDay);
  Put("root.pem", CertPem(pki_.root.cert.get()));
  Put("issuing.pem", CertPem(pki_.issuing.cert.get()));
  Put("leaves.pem", CertPem(expired.cert.get()) + CertPem(soon.cert.get()));  // a bundle
  auto probe = Probe();
  std::map<std::string, v1::Finding> f = RunAt(probe.get());
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[Thumb(expired)].status(), v1::STATUS_FAIL);
  EXPECT_EQ(CodeName(f[Thumb(expired)]), "CERT_E_EXPIRED") << f[Thumb(expired)].summary();
  EXPECT_EQ(f[Thumb(soon)].status(), v1::STATUS_WARN) << f[Thumb(soon)].summary();
  EXPECT_TRUE(absl::StrContains(f[Thumb(soon)].summary(), "in 10 days"))
      << f[Thumb(soon)].summary();

  // Twenty days later the CAs are fine but "soon" has expired too; with a
  // 4000-day window the CA certificates themselves warn.
  f = RunAt(probe.get(), kNow + 20 * kDay);
  EXPECT_EQ(CodeName(f[Thumb(soon)]), "CERT_E_EXPIRED");
  ChainProbeOptions wide;
  wide.expiry_warn = 4000 * kDay;
  auto wide_probe = Probe(wide);
  f = RunAt(wide_probe.get());
  EXPECT_EQ(f[Thumb(pki_.issuing)].status(), v1::STATUS_WARN);
  EXPECT_EQ(f[Thumb(pki_.root)].status(), v1::STATUS_WARN);
}

TEST_F(ChainProbeTest, MissingIntermediateIsFetchedFromAia) {
  TestKeyCert leaf = Leaf("web.example", 0x1001, kNow + 300 * kDay);
  Put("root.pem", CertPem(pki_.root.cert.get()));
  Put("leaf.der", CertDer(leaf.cert.get()));
  served_["issuing.cer"] = CertDer(pki_.issuing.cert.get());

  auto probe = Probe();
  std::map<std::string, v1::Finding> f = RunAt(probe.get());
  ASSERT_EQ(f.size(), 2u);
  const v1::Finding& lf = f[Thumb(leaf)];
  EXPECT_EQ(lf.status(), v1::STATUS_OK) << lf.summary();
  EXPECT_TRUE(absl::StrContains(lf.summary(), "issuing.cer: 1 certificate(s), 1 new"))
      << lf.summary();

  // PKCS#7 certs-only works the same.
  served_["issuing.cer"] =
      testing::CertsOnlyPkcs7Der({pki_.issuing.cert.get(), pki_.root.cert.get()});
  f = RunAt(probe.get());
  EXPECT_EQ(f[Thumb(leaf)].status(), v1::STATUS_OK) << f[Thumb(leaf)].summary();

  // Without fetching (or when the URL is dead) the chain is incomplete.
  auto no_fetch = Probe({}, "", /*fetch=*/false);
  f = RunAt(no_fetch.get());
  EXPECT_EQ(CodeName(f[Thumb(leaf)]), "CERT_E_CHAINING") << f[Thumb(leaf)].summary();
  served_.clear();
  f = RunAt(probe.get());
  EXPECT_EQ(CodeName(f[Thumb(leaf)]), "CERT_E_CHAINING") << f[Thumb(leaf)].summary();
  EXPECT_TRUE(absl::StrContains(f[Thumb(leaf)].error().native_detail(), "HTTP 404"))
      << f[Thumb(leaf)].error().native_detail();
}

TEST_F(ChainProbeTest, UntrustedRootAndTrustBundle) {
  TestKeyCert leaf = Leaf("web.example", 0x1001, kNow + 300 * kDay);
  Put("issuing.pem", CertPem(pki_.issuing.cert.get()));
  Put("leaf.pem", CertPem(leaf.cert.get()));
  // The issuing CA's AIA serves the root, which is not a trust anchor here.
  served_["root.cer"] = CertDer(pki_.root.cert.get());
  auto probe = Probe();
  std::map<std::string, v1::Finding> f = RunAt(probe.get());
  EXPECT_EQ(CodeName(f[Thumb(leaf)]), "CERT_E_UNTRUSTEDROOT") << f[Thumb(leaf)].summary();
  EXPECT_EQ(CodeName(f[Thumb(pki_.issuing)]), "CERT_E_UNTRUSTEDROOT");

  // The root in the trust bundle makes both chains good.
  const std::string bundle = dir_.path() + "/bundle.pem";
  ASSERT_TRUE(WriteFile(bundle, CertPem(pki_.root.cert.get())).ok());
  served_.clear();
  auto trusting = Probe({}, bundle);
  f = RunAt(trusting.get());
  ASSERT_EQ(f.size(), 2u);  // bundle certificates are anchors, not targets
  EXPECT_EQ(f[Thumb(leaf)].status(), v1::STATUS_OK) << f[Thumb(leaf)].summary();
}

TEST_F(ChainProbeTest, BadSignatureWinsOverOtherErrors) {
  TestKeyCert leaf = Leaf("forged.example", 0x1001, kNow - kDay);  // also expired
  std::string der = CertDer(leaf.cert.get());
  der[der.size() - 3] = static_cast<char>(der[der.size() - 3] ^ 0x01);  // inside the signature
  Put("root.pem", CertPem(pki_.root.cert.get()));
  Put("issuing.pem", CertPem(pki_.issuing.cert.get()));
  Put("forged.der", der);
  auto probe = Probe();
  std::map<std::string, v1::Finding> f = RunAt(probe.get());
  absl::StatusOr<std::vector<X509Ptr>> parsed = ParseCertificatesOrPkcs7(der);
  ASSERT_TRUE(parsed.ok());
  const v1::Finding& ff = f[CertThumbprintSha1((*parsed)[0].get())];
  EXPECT_EQ(CodeName(ff), "TRUST_E_CERT_SIGNATURE") << ff.summary();
  EXPECT_TRUE(absl::StrContains(ff.error().native_detail(), "also certificate has expired"))
      << ff.error().native_detail();
}

TEST_F(ChainProbeTest, UnreadableFilesAreProbeErrors) {
  Put("root.pem", CertPem(pki_.root.cert.get()));
  Put("broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  Put("garbage.cer", "\x30\x03\x02\x01");
  auto probe = Probe();
  std::map<std::string, v1::Finding> f = RunAt(probe.get());
  ASSERT_EQ(f.size(), 3u);
  for (const char* name : {"broken.pem", "garbage.cer"}) {
    const v1::Finding& pf = f[certs_ + "/" + name];
    EXPECT_EQ(pf.status(), v1::STATUS_PROBE_ERROR) << name;
    EXPECT_EQ(CodeName(pf), "CRYPT_E_ASN1_BADTAG") << pf.summary();
  }
}

TEST_F(ChainProbeTest, CreateValidatesTheSettings) {
  EXPECT_FALSE(CertSource::Create({}).ok());
  EXPECT_EQ(CertSource::Create({.dirs = {dir_.path() + "/missing"}}).status().code(),
            absl::StatusCode::kNotFound);
  const std::string file = dir_.path() + "/file.pem";
  ASSERT_TRUE(WriteFile(file, CertPem(pki_.root.cert.get())).ok());
  EXPECT_EQ(CertSource::Create({.dirs = {file}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string junk = dir_.path() + "/junk.pem";
  ASSERT_TRUE(WriteFile(junk, "junk").ok());
  absl::StatusOr<std::unique_ptr<CertSource>> bad_bundle =
      CertSource::Create({.dirs = {certs_}, .trust_bundle_file = junk});
  EXPECT_FALSE(bad_bundle.ok());
  EXPECT_TRUE(absl::StrContains(bad_bundle.status().message(), "trust_bundle_file"));
  EXPECT_FALSE(ChainProbe::Create(nullptr, {}, IssuerFetcher(), kBudget).ok());
}

TEST_F(ChainProbeTest, SpentBudgetSkipsTargets) {
  Put("root.pem", CertPem(pki_.root.cert.get()));
  absl::StatusOr<std::unique_ptr<CertSource>> source = CertSource::Create({.dirs = {certs_}});
  ASSERT_TRUE(source.ok());
  absl::StatusOr<std::unique_ptr<ChainProbe>> probe =
      ChainProbe::Create(*std::move(source), {}, IssuerFetcher(), absl::ZeroDuration());
  ASSERT_TRUE(probe.ok());
  std::map<std::string, v1::Finding> f = RunAt(probe->get());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.begin()->second.status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(CodeName(f.begin()->second), "ERROR_TIMEOUT");
  EXPECT_EQ(f.begin()->second.target_cert().thumbprint(), Thumb(pki_.root));
}

// The real ADCS certificates: templates and CAs flow into the dimensions.
TEST(ChainProbeFixtureTest, AdcsCertificates) {
  const std::string adcs = std::string(PKIWATCH_FIXTURES_DIR) + "/certs/adcs";
  if (!std::filesystem::is_directory(adcs)) {
    GTEST_SKIP() << "fixtures directory " << adcs << " is missing";
  }
  absl::StatusOr<std::unique_ptr<CertSource>> source = CertSource::Create({.dirs = {adcs}});
  ASSERT_TRUE(source.ok()) << source.status();
  // No AIA fetching: their AIA URLs point to the internet.
  absl::StatusOr<std::unique_ptr<ChainProbe>> probe =
      ChainProbe::Create(*std::move(source), {}, IssuerFetcher(), kBudget);
  ASSERT_TRUE(probe.ok());
  std::map<std::string, v1::Finding> by_target;
  for (v1::Finding& f : (*probe)->Run(ProbeContext{kNow})) {
    by_target.emplace(f.target(), std::move(f));
  }
  ASSERT_EQ(by_target.size(), 4u);  // three certificates and the CSR file
  const v1::Finding& bigoid = by_target["b8003c278113892a7564d531a40264eb2dd59d91"];
  EXPECT_EQ(bigoid.status(), v1::STATUS_FAIL);
  EXPECT_EQ(CodeName(bigoid), "CERT_E_CHAINING") << bigoid.summary();
  EXPECT_TRUE(absl::StrContains(bigoid.summary(), "AIA fetching is off")) << bigoid.summary();
  EXPECT_EQ(bigoid.dimensions().ca(), "CN=ad-WIN-PPK015F9MDQ-CA,DC=ad,DC=local");
  EXPECT_EQ(bigoid.dimensions().ca_key_id(), "8faf71b7250dc29f289fe3563be1e5c4aca05fb0");
  EXPECT_EQ(bigoid.dimensions().template_oid(),
            "1.3.6.1.4.1.311.21.8.8950086.10656446.2706058.12775672.480128.147.7130143.4405632");
  const v1::Finding& bechtel = by_target["3d896c2fd55fd9a67c4323a8795d5c6724f93e87"];
  EXPECT_EQ(bechtel.dimensions().template_name(), "SubCA");
  const v1::Finding& intesa = by_target["ed39fd8dcaa9afc647d6c01407cd1f9902935549"];
  EXPECT_TRUE(absl::StrContains(intesa.summary(), "trailing data")) << intesa.summary();
  const v1::Finding& csr =
      by_target[adcs + "/pyca_freeipa-bad-critical_CSR_with_311.20.2_template_name.pem"];
  EXPECT_EQ(csr.status(), v1::STATUS_PROBE_ERROR);
}

}  // namespace
}  // namespace pkiwatch
