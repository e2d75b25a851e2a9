#include "common/x509_cert.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/error_catalogue.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::EncodeBmpString;
using ::pkiwatch::testing::EncodeCertTemplateV2;
using ::pkiwatch::testing::MakeTestCert;
using ::pkiwatch::testing::TestCertSpec;
using ::pkiwatch::testing::TestKeyCert;

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2031, 3, 14, 12, 0, 0), absl::UTCTimeZone());

std::string AdcsDir() { return std::string(PKIWATCH_FIXTURES_DIR) + "/certs/adcs"; }

#define SKIP_WITHOUT_ADCS_FIXTURES()                                     \
  if (!std::filesystem::is_directory(AdcsDir())) {                       \
    GTEST_SKIP() << "fixtures directory " << AdcsDir() << " is missing"; \
  }

CertFacts FactsOfFixture(const std::string& name) {
  absl::StatusOr<X509Ptr> cert = LoadCertificateFile(AdcsDir() + "/" + name);
  EXPECT_TRUE(cert.ok()) << cert.status();
  if (!cert.ok()) return {};
  absl::StatusOr<CertFacts> facts = ReadCertFacts(cert->get());
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? *facts : CertFacts{};
}

std::string Problems(const CertFacts& f) { return absl::StrJoin(f.problems, " | "); }

TEST(X509CertFixtureTest, BigOidAdcsSubCaHasV2TemplateAndLdapUrls) {
  SKIP_WITHOUT_ADCS_FIXTURES();
  const CertFacts f = FactsOfFixture("pyca_bigoid_ADCS-issued-subCA.pem");
  EXPECT_EQ(f.subject, "CN=Certificate Authority,O=IPA.LOCAL");
  EXPECT_EQ(f.issuer, "CN=ad-WIN-PPK015F9MDQ-CA,DC=ad,DC=local");
  EXPECT_EQ(f.serial_hex, "4800000007756c40b996c39d9d000000000007");
  EXPECT_EQ(f.thumbprint_sha1, "b8003c278113892a7564d531a40264eb2dd59d91");
  EXPECT_EQ(f.subject_key_id_hex, "9d2ac2c96dc24747b78a525d37a90bd3a3f72873");
  EXPECT_EQ(f.authority_key_id_hex, "8faf71b7250dc29f289fe3563be1e5c4aca05fb0");
  EXPECT_TRUE(f.is_ca);
  EXPECT_FALSE(f.self_issued);
  ASSERT_TRUE(f.not_before.has_value());
  ASSERT_TRUE(f.not_after.has_value());
  EXPECT_EQ(*f.not_after,
            absl::FromCivil(absl::CivilSecond(2019, 5, 25, 23, 58, 45), absl::UTCTimeZone()));
  EXPECT_EQ(f.cert_template.oid,
            "1.3.6.1.4.1.311.21.8.8950086.10656446.2706058.12775672.480128.147.7130143.4405632");
  EXPECT_EQ(f.cert_template.major_version, 100);
  EXPECT_EQ(f.cert_template.minor_version, 5);
  EXPECT_EQ(f.cert_template.name, "");
  ASSERT_EQ(f.cdp_urls.size(), 1u);
  EXPECT_TRUE(
      absl::StartsWith(f.cdp_urls[0], "ldap:///CN=ad-WIN-PPK015F9MDQ-CA,CN=WIN-PPK015F9MDQ,CN=CDP"))
      << f.cdp_urls[0];
  ASSERT_EQ(f.ca_issuers_urls.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(f.ca_issuers_urls[0], "ldap:///CN=ad-WIN-PPK015F9MDQ-CA,CN=AIA"));
  EXPECT_TRUE(f.ocsp_urls.empty());
  EXPECT_TRUE(f.problems.empty()) << Problems(f);
}

TEST(X509CertFixtureTest, BechtelSubCaHasV1TemplateNameAndHttpUrls) {
  SKIP_WITHOUT_ADCS_FIXTURES();
  const CertFacts f = FactsOfFixture("boringssl_name_constraints_bad_ip_Bechtel-ADCS-SubCA.pem");
  EXPECT_EQ(f.cert_template.name, "SubCA");
  EXPECT_EQ(f.cert_template.oid, "");
  EXPECT_EQ(f.cert_template.Label(), "SubCA");
  EXPECT_TRUE(f.is_ca);
  EXPECT_EQ(f.thumbprint_sha1, "3d896c2fd55fd9a67c4323a8795d5c6724f93e87");
  EXPECT_EQ(f.issuer,
            "CN=Bechtel External Policy CA 1,OU=Information Security,O=Bechtel Corporation,C=US");
  EXPECT_EQ(f.subject_key_id_hex, "d944eb2d3cc09fca193e3c6e23a0ef96279fdb42");
  EXPECT_EQ(f.authority_key_id_hex, "078841e1681d6b1564ee7c4da18dfa67c3535937");
  ASSERT_EQ(f.cdp_urls.size(), 1u);
  EXPECT_EQ(f.cdp_urls[0],
            "http://certauth.bechtel.com/CertData/Bechtel%20External%20Policy%20CA%201(4).crl");
  ASSERT_EQ(f.ca_issuers_urls.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(f.ca_issuers_urls[0], "http://certauth.bechtel.com/CertData/"));
  EXPECT_TRUE(f.ocsp_urls.empty());
}

TEST(X509CertFixtureTest, IntesaLeafHasV2TemplateOcspAndReportsSanTrailingData) {
  SKIP_WITHOUT_ADCS_FIXTURES();
  const CertFacts f = FactsOfFixture("boringssl_subjectaltname_trailing_data_Intesa-ADCS-leaf.pem");
  EXPECT_FALSE(f.is_ca);
  EXPECT_EQ(f.cert_template.oid,
            "1.3.6.1.4.1.311.21.8.14039805.8175621.4409498.10496188.11839871.150.3160637.15494733");
  EXPECT_EQ(f.cert_template.major_version, 100);
  EXPECT_EQ(f.cert_template.minor_version, 13);
  EXPECT_EQ(f.cert_template.Label(),
            "1.3.6.1.4.1.311.21.8.14039805.8175621.4409498.10496188.11839871.150.3160637."
            "15494733 v100.13");
  EXPECT_EQ(f.cdp_urls,
            std::vector<std::string>{"http://ca.intesasanpaolo.com/portalCais0/crl/servext2.crl"});
  EXPECT_EQ(f.ca_issuers_urls,
            std::vector<std::string>{"http://ca.intesasanpaolo.com/portalCais0/crt/servext2.crt"});
  EXPECT_EQ(f.ocsp_urls, std::vector<std::string>{"http://ocsp.intesasanpaolo.com"});
  EXPECT_EQ(f.issuer,
            "CN=Intesa Sanpaolo CA Servizi Esterni Enhanced,DC=corp,DC=sanpaoloimi,DC=com");
  // The upstream file exists to carry a subjectAltName with trailing data.
  EXPECT_TRUE(absl::StrContains(Problems(f), "subjectAltName")) << Problems(f);
  EXPECT_TRUE(absl::StrContains(Problems(f), "trailing data")) << Problems(f);
}

TEST(X509CertFixtureTest, CsrIsNotACertificate) {
  SKIP_WITHOUT_ADCS_FIXTURES();
  absl::StatusOr<std::string> bytes =
      ReadFileBytes(AdcsDir() + "/pyca_freeipa-bad-critical_CSR_with_311.20.2_template_name.pem");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_FALSE(ParseCertificatesOrPkcs7(*bytes).ok());
}

TestCertSpec Spec(std::string cn, int64_t serial) {
  TestCertSpec s;
  s.common_name = std::move(cn);
  s.serial = serial;
  s.not_before = kNow - absl::Hours(24);
  s.not_after = kNow + absl::Hours(24 * 365);
  return s;
}

TEST(X509CertTest, GeneratedCertificatesRoundTrip) {
  TestCertSpec root_spec = Spec("Root", 1);
  root_spec.is_ca = true;
  root_spec.key_usage = "critical,keyCertSign,cRLSign";
  absl::StatusOr<TestKeyCert> root = MakeTestCert(root_spec, nullptr);
  ASSERT_TRUE(root.ok()) << root.status();

  TestCertSpec leaf_spec = Spec("Leaf", 0x1001);
  leaf_spec.cdp_urls = {"http://127.0.0.1:1/a.crl", "ldap:///CN=x?certificateRevocationList"};
  leaf_spec.ocsp_urls = {"http://127.0.0.1:2/ocsp"};
  leaf_spec.ca_issuers_urls = {"http://127.0.0.1:3/ca.cer"};
  leaf_spec.template_oid = "1.3.6.1.4.1.311.21.8.1.2.3";
  leaf_spec.template_major = 100;
  leaf_spec.template_minor = std::nullopt;
  leaf_spec.template_name = "WebServer";
  absl::StatusOr<TestKeyCert> leaf = MakeTestCert(leaf_spec, &*root);
  ASSERT_TRUE(leaf.ok()) << leaf.status();

  absl::StatusOr<CertFacts> rf = ReadCertFacts(root->cert.get());
  ASSERT_TRUE(rf.ok());
  EXPECT_TRUE(rf->is_ca);
  EXPECT_TRUE(rf->self_issued);
  EXPECT_TRUE(rf->self_signed);
  EXPECT_TRUE(rf->cert_template.empty());
  EXPECT_TRUE(rf->problems.empty()) << Problems(*rf);

  absl::StatusOr<CertFacts> lf = ReadCertFacts(leaf->cert.get());
  ASSERT_TRUE(lf.ok());
  EXPECT_FALSE(lf->is_ca);
  EXPECT_FALSE(lf->self_signed);
  EXPECT_EQ(lf->subject, "CN=Leaf,O=pkiwatch test");
  EXPECT_EQ(lf->issuer, "CN=Root,O=pkiwatch test");
  EXPECT_EQ(lf->serial_hex, "1001");
  EXPECT_EQ(lf->authority_key_id_hex, rf->subject_key_id_hex);
  EXPECT_FALSE(lf->authority_key_id_hex.empty());
  EXPECT_EQ(lf->cdp_urls, leaf_spec.cdp_urls);
  EXPECT_EQ(lf->ocsp_urls, leaf_spec.ocsp_urls);
  EXPECT_EQ(lf->ca_issuers_urls, leaf_spec.ca_issuers_urls);
  EXPECT_EQ(lf->cert_template.oid, "1.3.6.1.4.1.311.21.8.1.2.3");
  EXPECT_EQ(lf->cert_template.major_version, 100);
  EXPECT_FALSE(lf->cert_template.minor_version.has_value());
  EXPECT_EQ(lf->cert_template.name, "WebServer");
  EXPECT_EQ(lf->not_after, leaf_spec.not_after);
  EXPECT_TRUE(lf->problems.empty()) << Problems(*lf);

  EXPECT_TRUE(IsIssuedBy(leaf->cert.get(), root->cert.get()));
  EXPECT_FALSE(IsIssuedBy(root->cert.get(), leaf->cert.get()));
  EXPECT_FALSE(IsIssuedBy(leaf->cert.get(), leaf->cert.get()));
}

TEST(X509CertTest, IsIssuedByRejectsSameNameOtherKey) {
  TestCertSpec ca_spec = Spec("CA", 1);
  ca_spec.is_ca = true;
  absl::StatusOr<TestKeyCert> ca = MakeTestCert(ca_spec, nullptr);
  absl::StatusOr<TestKeyCert> impostor = MakeTestCert(ca_spec, nullptr);  // same name, new key
  ASSERT_TRUE(ca.ok() && impostor.ok());
  absl::StatusOr<TestKeyCert> leaf = MakeTestCert(Spec("L", 2), &*ca);
  ASSERT_TRUE(leaf.ok());
  EXPECT_TRUE(IsIssuedBy(leaf->cert.get(), ca->cert.get()));
  EXPECT_FALSE(IsIssuedBy(leaf->cert.get(), impostor->cert.get()));
}

struct MalformedCase {
  const char* label;
  const char* oid;
  std::string der;
  const char* expected_problem;
};

TEST(X509CertTest, MalformedTemplateExtensionsAreReportedNotFatal) {
  const std::vector<MalformedCase> cases = {
      {"octet string instead of sequence", kOidCertTemplateV2, std::string("\x04\x01\x00", 3),
       "1.3.6.1.4.1.311.21.7"},
      {"truncated sequence", kOidCertTemplateV2, std::string("\x30\x10\x06\x03\x2b\x06\x01", 7),
       "1.3.6.1.4.1.311.21.7"},
      {"trailing data", kOidCertTemplateV2,
       EncodeCertTemplateV2("1.2.3.4", 1, 2) + std::string("\x00\x00", 2), "trailing data"},
      {"missing major version", kOidCertTemplateV2, std::string("\x30\x05\x06\x03\x2a\x03\x04", 7),
       "1.3.6.1.4.1.311.21.7"},
      {"negative version", kOidCertTemplateV2, EncodeCertTemplateV2("1.2.3.4", -1, std::nullopt),
       "out of range"},
      {"name is an INTEGER", kOidCertTemplateName, std::string("\x02\x01\x05", 3),
       "not a string type"},
      {"name with trailing data", kOidCertTemplateName, EncodeBmpString("X") + "Z",
       "trailing data"},
      {"empty name value", kOidCertTemplateName, std::string(), "1.3.6.1.4.1.311.20.2"},
  };
  TestCertSpec ca_spec = Spec("CA", 1);
  ca_spec.is_ca = true;
  absl::StatusOr<TestKeyCert> ca = MakeTestCert(ca_spec, nullptr);
  ASSERT_TRUE(ca.ok());
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.label);
    TestCertSpec spec = Spec("Leaf", 7);
    spec.raw_extensions = {{c.oid, c.der}};
    absl::StatusOr<TestKeyCert> leaf = MakeTestCert(spec, &*ca);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    absl::StatusOr<CertFacts> f = ReadCertFacts(leaf->cert.get());
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE(f->cert_template.empty()) << f->cert_template.Label();
    EXPECT_TRUE(absl::StrContains(Problems(*f), c.expected_problem)) << Problems(*f);
    // The rest of the certificate is still read.
    EXPECT_EQ(f->subject, "CN=Leaf,O=pkiwatch test");
  }
}

TEST(X509CertTest, DecodeTemplateFunctionsSurviveArbitraryBytes) {
  // Deterministic pseudo-random inputs, a bounded number of them.
  uint32_t state = 12345;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes;
    const int len = i % 64;
    for (int j = 0; j < len; ++j) {
      state = state * 1103515245u + 12345u;
      bytes.push_back(static_cast<char>(state >> 16));
    }
    if (i % 3 == 0 && !bytes.empty()) bytes[0] = 0x30;  // looks like a SEQUENCE
    if (i % 3 == 1 && !bytes.empty()) bytes[0] = 0x1E;  // looks like a BMPString
    (void)DecodeCertTemplateV2(bytes);
    (void)DecodeCertTemplateName(bytes);
    (void)ParseCertificatesOrPkcs7(bytes);
  }
  absl::StatusOr<CertTemplate> ok = DecodeCertTemplateV2(EncodeCertTemplateV2("1.2.3", 7, 9));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->oid, "1.2.3");
  EXPECT_EQ(ok->major_version, 7);
  EXPECT_EQ(ok->minor_version, 9);
  absl::StatusOr<std::string> name = DecodeCertTemplateName(EncodeBmpString("User"));
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "User");
  // UTF8String is accepted too.
  name = DecodeCertTemplateName(std::string("\x0c\x04Mach", 6));
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "Mach");
}

TEST(X509CertTest, ParsesDerPemBundleAndPkcs7) {
  TestCertSpec ca_spec = Spec("CA", 1);
  ca_spec.is_ca = true;
  absl::StatusOr<TestKeyCert> ca = MakeTestCert(ca_spec, nullptr);
  ASSERT_TRUE(ca.ok());
  absl::StatusOr<TestKeyCert> leaf = MakeTestCert(Spec("Leaf", 2), &*ca);
  ASSERT_TRUE(leaf.ok());

  absl::StatusOr<std::vector<X509Ptr>> der =
      ParseCertificatesOrPkcs7(testing::CertDer(leaf->cert.get()));
  ASSERT_TRUE(der.ok()) << der.status();
  EXPECT_EQ(der->size(), 1u);

  absl::StatusOr<std::vector<X509Ptr>> pem = ParseCertificatesOrPkcs7(
      testing::CertPem(leaf->cert.get()) + testing::CertPem(ca->cert.get()));
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_EQ(pem->size(), 2u);

  absl::StatusOr<std::vector<X509Ptr>> p7 =
      ParseCertificatesOrPkcs7(testing::CertsOnlyPkcs7Der({ca->cert.get(), leaf->cert.get()}));
  ASSERT_TRUE(p7.ok()) << p7.status();
  ASSERT_EQ(p7->size(), 2u);
  EXPECT_EQ(X509_cmp((*p7)[0].get(), ca->cert.get()), 0);

  absl::StatusOr<std::vector<X509Ptr>> garbage = ParseCertificatesOrPkcs7("<html>nope</html>");
  EXPECT_FALSE(garbage.ok());
  EXPECT_TRUE(absl::StrContains(garbage.status().message(), "PKCS#7")) << garbage.status();
  EXPECT_FALSE(ParseCertificatesOrPkcs7("").ok());
}

TEST(X509CertTest, LocalErrorConstantsMatchTheCatalogue) {
  auto by_name = [](std::string_view name) {
    std::optional<ErrorEntry> e = LookupErrorByName(name);
    return e.has_value() ? e->code : 0u;
  };
  EXPECT_EQ(by_name("CRYPT_E_SIGNER_NOT_FOUND"), cert_hr::kCryptESignerNotFound);
  EXPECT_EQ(by_name("TRUST_E_CERT_SIGNATURE"), cert_hr::kTrustECertSignature);
  EXPECT_EQ(by_name("CERT_E_ROLE"), cert_hr::kCertERole);
  EXPECT_EQ(by_name("CERT_E_PATHLENCONST"), cert_hr::kCertEPathLenConst);
  EXPECT_EQ(by_name("CERT_E_MALFORMED"), cert_hr::kCertEMalformed);
  EXPECT_EQ(by_name("CERT_E_INVALID_NAME"), cert_hr::kCertEInvalidName);
}

TEST(X509CertTest, NullCertificateIsAnError) { EXPECT_FALSE(ReadCertFacts(nullptr).ok()); }

}  // namespace
}  // namespace pkiwatch
