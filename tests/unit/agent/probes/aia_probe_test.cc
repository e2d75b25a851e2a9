#include "agent/probes/aia_probe.h"

#include <deque>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/openssl_util.h"
#include "common/url.h"
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

std::string CodeName(const v1::Finding& f) {
  return f.error().hresult() == 0 ? "" : f.error().symbolic_name();
}

class AiaProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    server_.server().Get(R"(/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      auto it = served_.find(req.matches[1].str());
      if (it == served_.end()) {
        res.status = 404;
        return;
      }
      if (it->second == "500") {
        res.status = 500;
        return;
      }
      res.set_content(it->second, "application/pkix-cert");
    });
    ASSERT_TRUE(server_.Start());
    absl::StatusOr<TestHierarchy> pki = MakeTestHierarchy(kNow);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
  }

  // A leaf issued by `issuer` whose AIA points to /<path> on the server.
  const TestKeyCert& AddLeaf(const std::string& path, const TestKeyCert& issuer,
                             std::vector<std::string> extra_urls = {}) {
    TestCertSpec spec;
    spec.common_name = "leaf-" + path;
    spec.serial = 0x1000 + static_cast<int64_t>(leaves_.size());
    spec.not_before = kNow - 10 * kDay;
    spec.not_after = kNow + 300 * kDay;
    spec.ca_issuers_urls = {server_.Url("/" + path)};
    for (std::string& u : extra_urls) spec.ca_issuers_urls.push_back(std::move(u));
    spec.template_name = "WebServer";
    absl::StatusOr<TestKeyCert> leaf = MakeTestCert(spec, &issuer);
    EXPECT_TRUE(leaf.ok()) << leaf.status();
    leaves_.push_back(leaf.ok() ? *std::move(leaf) : TestKeyCert{});
    EXPECT_TRUE(WriteFile(absl::StrCat(dir_.path(), "/leaf", leaves_.size(), ".pem"),
                          CertPem(leaves_.back().cert.get()))
                    .ok());
    return leaves_.back();
  }

  // Findings by URL path.
  std::map<std::string, v1::Finding> Run(absl::Duration budget = absl::Seconds(60)) {
    absl::StatusOr<std::unique_ptr<CertSource>> source =
        CertSource::Create({.dirs = {dir_.path()}});
    EXPECT_TRUE(source.ok()) << source.status();
    HttpOptions http;
    http.connect_timeout = absl::Seconds(2);
    http.total_timeout = absl::Seconds(5);
    http.no_proxy = true;
    absl::StatusOr<std::unique_ptr<AiaProbe>> probe =
        AiaProbe::Create(*std::move(source), {}, http, budget);
    EXPECT_TRUE(probe.ok()) << probe.status();
    std::map<std::string, v1::Finding> out;
    if (!probe.ok()) return out;
    for (v1::Finding& f : (*probe)->Run(ProbeContext{kNow})) {
      EXPECT_EQ(f.probe(), "aia");
      EXPECT_EQ(f.dimensions().url_kind(), v1::URL_KIND_AIA);
      EXPECT_FALSE(f.summary().empty());
      const std::string url = f.dimensions().url();
      const size_t slash = url.rfind('/');
      out.emplace(url.substr(slash + 1), std::move(f));
    }
    return out;
  }

  ScopedTempDir dir_;
  TestHttpServer server_;
  std::map<std::string, std::string> served_;
  TestHierarchy pki_;
  std::deque<TestKeyCert> leaves_;  // stable references
};

TEST_F(AiaProbeTest, ServesTheIssuer) {
  const TestKeyCert& der_leaf = AddLeaf("issuing.cer", pki_.issuing);
  AddLeaf("issuing.p7c", pki_.issuing);
  AddLeaf("issuing.pem", pki_.issuing);
  served_["issuing.cer"] = CertDer(pki_.issuing.cert.get());
  served_["issuing.p7c"] =
      testing::CertsOnlyPkcs7Der({pki_.root.cert.get(), pki_.issuing.cert.get()});
  served_["issuing.pem"] = CertPem(pki_.issuing.cert.get());
  // The root in the folder is self-signed: not a target.
  ASSERT_TRUE(WriteFile(dir_.path() + "/root.pem", CertPem(pki_.root.cert.get())).ok());
  std::map<std::string, v1::Finding> f = Run();
  ASSERT_EQ(f.size(), 3u);
  for (const auto& [path, finding] : f) {
    EXPECT_EQ(finding.status(), v1::STATUS_OK) << path << ": " << finding.summary();
    EXPECT_EQ(finding.dimensions().ca(), "CN=Test Issuing CA,O=pkiwatch test");
    EXPECT_EQ(finding.dimensions().ca_key_id(), SubjectKeyIdHex(pki_.issuing.cert.get()));
    EXPECT_EQ(finding.dimensions().template_name(), "WebServer");
  }
  const v1::Finding& d = f["issuing.cer"];
  EXPECT_EQ(d.target(), absl::StrCat(CertThumbprintSha1(der_leaf.cert.get()), " ",
                                     *NormalizeUrl(server_.Url("/issuing.cer"))));
  EXPECT_EQ(d.target_cert().thumbprint(), CertThumbprintSha1(der_leaf.cert.get()));
  EXPECT_TRUE(absl::StrContains(d.summary(), "serves the issuer \"CN=Test Issuing CA"))
      << d.summary();
}

TEST_F(AiaProbeTest, WrongIssuers) {
  // Same name, other key (with key ids): a CA renewed with a new key.
  TestCertSpec spec;
  spec.common_name = "Test Issuing CA";
  spec.serial = 9;
  spec.is_ca = true;
  spec.not_before = kNow - 10 * kDay;
  spec.not_after = kNow + 1000 * kDay;
  absl::StatusOr<TestKeyCert> rekeyed = MakeTestCert(spec, &pki_.root);
  ASSERT_TRUE(rekeyed.ok());
  // Same name, other key, no key ids: only the signature tells.
  spec.key_ids = false;
  absl::StatusOr<TestKeyCert> no_ids = MakeTestCert(spec, &pki_.root);
  ASSERT_TRUE(no_ids.ok());

  AddLeaf("root.cer", pki_.issuing);
  AddLeaf("rekeyed.cer", pki_.issuing);
  AddLeaf("no_ids.cer", pki_.issuing);
  served_["root.cer"] = CertDer(pki_.root.cert.get());
  served_["rekeyed.cer"] = CertDer(rekeyed->cert.get());
  served_["no_ids.cer"] = CertDer(no_ids->cert.get());
  std::map<std::string, v1::Finding> f = Run();
  ASSERT_EQ(f.size(), 3u);
  for (const auto& [path, finding] : f) {
    EXPECT_EQ(finding.status(), v1::STATUS_FAIL) << path;
    EXPECT_EQ(CodeName(finding), "CERT_E_ISSUERCHAINING") << path << ": " << finding.summary();
  }
  EXPECT_TRUE(absl::StrContains(f["root.cer"].error().native_detail(),
                                "served \"CN=Test Root CA,O=pkiwatch test\", but the "
                                "certificate's issuer is"))
      << f["root.cer"].error().native_detail();
  EXPECT_TRUE(absl::StrContains(f["rekeyed.cer"].error().native_detail(), "key id"))
      << f["rekeyed.cer"].error().native_detail();
  EXPECT_TRUE(absl::StrContains(f["no_ids.cer"].error().native_detail(), "signature"))
      << f["no_ids.cer"].error().native_detail();
}

TEST_F(AiaProbeTest, UnreachableAndGarbage) {
  const int dead_port = testing::UnusedLoopbackPort();
  ASSERT_GT(dead_port, 0);
  AddLeaf("missing.cer", pki_.issuing,
          {absl::StrCat("http://127.0.0.1:", dead_port, "/down.cer"),
           "ldap:///CN=Test%20Issuing%20CA?cACertificate"});
  AddLeaf("error.cer", pki_.issuing);
  AddLeaf("garbage.cer", pki_.issuing);
  served_["error.cer"] = "500";
  served_["garbage.cer"] = "<html>proxy login</html>";
  std::map<std::string, v1::Finding> f = Run();
  // The ldap:// URL is not a target.
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(CodeName(f["missing.cer"]), "CERT_E_CHAINING");
  EXPECT_TRUE(absl::StrContains(f["missing.cer"].error().native_detail(), "HTTP 404"));
  EXPECT_EQ(CodeName(f["error.cer"]), "CERT_E_CHAINING");
  EXPECT_TRUE(absl::StrContains(f["error.cer"].error().native_detail(), "HTTP 500"));
  EXPECT_EQ(CodeName(f["down.cer"]), "CERT_E_CHAINING");
  EXPECT_TRUE(absl::StartsWith(f["down.cer"].error().native_detail(), "curl error 7"))
      << f["down.cer"].error().native_detail();
  EXPECT_EQ(CodeName(f["garbage.cer"]), "CRYPT_E_ASN1_BADTAG") << f["garbage.cer"].summary();
}

TEST_F(AiaProbeTest, IssuerValidityAndRole) {
  TestCertSpec spec;
  spec.common_name = "Short CA";
  spec.serial = 20;
  spec.is_ca = true;
  spec.not_before = kNow - 100 * kDay;
  spec.not_after = kNow + 10 * kDay;
  absl::StatusOr<TestKeyCert> short_ca = MakeTestCert(spec, &pki_.root);
  spec.common_name = "Old CA";
  spec.not_after = kNow - kDay;
  absl::StatusOr<TestKeyCert> old_ca = MakeTestCert(spec, &pki_.root);
  spec.common_name = "Not A CA";
  spec.is_ca = false;
  spec.not_after = kNow + 100 * kDay;
  absl::StatusOr<TestKeyCert> not_ca = MakeTestCert(spec, &pki_.root);
  ASSERT_TRUE(short_ca.ok() && old_ca.ok() && not_ca.ok());
  AddLeaf("short.cer", *short_ca);
  AddLeaf("old.cer", *old_ca);
  AddLeaf("notca.cer", *not_ca);
  served_["short.cer"] = CertDer(short_ca->cert.get());
  served_["old.cer"] = CertDer(old_ca->cert.get());
  served_["notca.cer"] = CertDer(not_ca->cert.get());
  std::map<std::string, v1::Finding> f = Run();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f["short.cer"].status(), v1::STATUS_WARN) << f["short.cer"].summary();
  EXPECT_TRUE(absl::StrContains(f["short.cer"].summary(), "in 10 days"))
      << f["short.cer"].summary();
  EXPECT_EQ(CodeName(f["old.cer"]), "CERT_E_EXPIRED") << f["old.cer"].summary();
  EXPECT_EQ(CodeName(f["notca.cer"]), "CERT_E_ROLE") << f["notca.cer"].summary();
}

TEST_F(AiaProbeTest, SpentBudgetSkipsTargets) {
  AddLeaf("issuing.cer", pki_.issuing);
  std::map<std::string, v1::Finding> f = Run(absl::ZeroDuration());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f["issuing.cer"].status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(CodeName(f["issuing.cer"]), "ERROR_TIMEOUT");
  EXPECT_EQ(f["issuing.cer"].dimensions().url_kind(), v1::URL_KIND_AIA);
}

}  // namespace
}  // namespace pkiwatch
