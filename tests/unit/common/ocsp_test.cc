#include "common/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "common/error_catalogue.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::MakeOcspResponse;
using ::pkiwatch::testing::MakeTestCert;
using ::pkiwatch::testing::TestCertSpec;
using ::pkiwatch::testing::TestKeyCert;
using ::pkiwatch::testing::TestOcspResponseSpec;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
}

// The symbolic name of a verdict's code ("" for 0), so that tables read
// like the catalogue.
std::string CodeName(uint32_t hresult) {
  if (hresult == 0) return "";
  std::optional<ErrorEntry> e = LookupError(hresult);
  return e.has_value() ? std::string(e->name) : absl::StrFormat("0x%08X", hresult);
}

const char* StatusName(v1::Status s) {
  switch (s) {
    case v1::STATUS_OK:
      return "OK";
    case v1::STATUS_WARN:
      return "WARN";
    case v1::STATUS_FAIL:
      return "FAIL";
    case v1::STATUS_PROBE_ERROR:
      return "PROBE_ERROR";
    default:
      return "UNSPECIFIED";
  }
}

// ---- openssl/test/ocsp-tests (via wbond/certvalidator): real captured responses ----

std::string OpensslDir() {
  return std::string(PKIWATCH_FIXTURES_DIR) + "/ocsp/openssl-ocsp-tests_via_wbond-certvalidator";
}

struct OpensslCase {
  const char* response;  // *.ors (base64 DER)
  const char* cert;      // the certificate asked about
  const char* issuer;    // its issuer as given to the evaluation
  absl::Time now;        // inside the response's validity window
  v1::Status status;
  const char* code;  // expected symbolic name, "" for none
};

// ND = responses signed by the CA itself, D = by a delegated responder.
// Expected verdicts follow the file names (see SOURCES.md and OpenSSL's
// test/recipes/80-test_ocsp.t); the codes are EvaluateOcspResponse's rules.
std::vector<OpensslCase> OpensslCases() {
  const absl::Time oct11 = Utc(2012, 10, 11, 12);
  const absl::Time oct12 = Utc(2012, 10, 12, 12);
  const absl::Time oct24 = Utc(2012, 10, 24, 12);
  constexpr v1::Status OK = v1::STATUS_OK;
  constexpr v1::Status FAIL = v1::STATUS_FAIL;
  constexpr v1::Status ERR = v1::STATUS_PROBE_ERROR;
  // clang-format off
  return {
      // Valid responses.
      {"ND1.ors", "ND1_Cert_EE.pem", "ND1_Issuer_ICA.pem", oct12, OK, ""},
      {"ND2.ors", "ND2_Cert_ICA.pem", "ND2_Issuer_Root.pem", oct12, OK, ""},
      {"ND3.ors", "ND3_Cert_EE.pem", "ND3_Issuer_Root.pem", oct12, OK, ""},
      {"D1.ors", "D1_Cert_EE.pem", "D1_Issuer_ICA.pem", oct24, OK, ""},
      {"D2.ors", "D2_Cert_ICA.pem", "D2_Issuer_Root.pem", oct24, OK, ""},
      {"D3.ors", "D3_Cert_EE.pem", "D3_Issuer_Root.pem", oct24, OK, ""},
      // Invalid signature on the OCSP response.
      {"ISOP_ND1.ors", "ND1_Cert_EE.pem", "ND1_Issuer_ICA.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"ISOP_ND2.ors", "ND2_Cert_ICA.pem", "ND2_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"ISOP_ND3.ors", "ND3_Cert_EE.pem", "ND3_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"ISOP_D1.ors", "D1_Cert_EE.pem", "D1_Issuer_ICA.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"ISOP_D2.ors", "D2_Cert_ICA.pem", "D2_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"ISOP_D3.ors", "D3_Cert_EE.pem", "D3_Issuer_Root.pem", oct11, FAIL, "NTE_BAD_SIGNATURE"},
      // Wrong responderID: no certificate matches it.
      {"WRID_ND1.ors", "ND1_Cert_EE.pem", "ND1_Issuer_ICA.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"WRID_ND2.ors", "ND2_Cert_ICA.pem", "ND2_Issuer_Root.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"WRID_ND3.ors", "ND3_Cert_EE.pem", "ND3_Issuer_Root.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"WRID_D1.ors", "D1_Cert_EE.pem", "D1_Issuer_ICA.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"WRID_D2.ors", "D2_Cert_ICA.pem", "D2_Issuer_Root.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"WRID_D3.ors", "D3_Cert_EE.pem", "D3_Issuer_Root.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      // Wrong issuerNameHash / issuerKeyHash. OpenSSL's authors edited the
      // CertID without re-signing, so the signature rule decides first (the
      // CertID rule is covered by boringssl's other_response/missing_response).
      {"WINH_ND1.ors", "ND1_Cert_EE.pem", "ND1_Issuer_ICA.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WINH_ND2.ors", "ND2_Cert_ICA.pem", "ND2_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WINH_ND3.ors", "ND3_Cert_EE.pem", "ND3_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WINH_D1.ors", "D1_Cert_EE.pem", "D1_Issuer_ICA.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WINH_D2.ors", "D2_Cert_ICA.pem", "D2_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WINH_D3.ors", "D3_Cert_EE.pem", "D3_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WIKH_ND1.ors", "ND1_Cert_EE.pem", "ND1_Issuer_ICA.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WIKH_ND2.ors", "ND2_Cert_ICA.pem", "ND2_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WIKH_ND3.ors", "ND3_Cert_EE.pem", "ND3_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WIKH_D1.ors", "D1_Cert_EE.pem", "D1_Issuer_ICA.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WIKH_D2.ors", "D2_Cert_ICA.pem", "D2_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      {"WIKH_D3.ors", "D3_Cert_EE.pem", "D3_Issuer_Root.pem", oct12, FAIL, "NTE_BAD_SIGNATURE"},
      // Wrong key in the delegated OCSP signing certificate: with a byKey
      // responderID (D1, D2) the included certificate no longer matches it;
      // with byName (D3) its key does not verify the signature.
      {"WKDOSC_D1.ors", "D1_Cert_EE.pem", "D1_Issuer_ICA.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"WKDOSC_D2.ors", "D2_Cert_ICA.pem", "D2_Issuer_Root.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"WKDOSC_D3.ors", "D3_Cert_EE.pem", "D3_Issuer_Root.pem", oct11, FAIL, "NTE_BAD_SIGNATURE"},
      // Invalid signature on the delegated OCSP signing certificate.
      {"ISDOSC_D1.ors", "D1_Cert_EE.pem", "D1_Issuer_ICA.pem", oct12, FAIL, "TRUST_E_CERT_SIGNATURE"},
      {"ISDOSC_D2.ors", "D2_Cert_ICA.pem", "D2_Issuer_Root.pem", oct12, FAIL, "TRUST_E_CERT_SIGNATURE"},
      {"ISDOSC_D3.ors", "D3_Cert_EE.pem", "D3_Issuer_Root.pem", oct12, FAIL, "TRUST_E_CERT_SIGNATURE"},
      // Wrong subject name in the issuer certificate: not this cert's issuer.
      {"ND1.ors", "ND1_Cert_EE.pem", "WSNIC_ND1_Issuer_ICA.pem", oct12, ERR, "E_INVALIDARG"},
      {"ND2.ors", "ND2_Cert_ICA.pem", "WSNIC_ND2_Issuer_Root.pem", oct12, ERR, "E_INVALIDARG"},
      {"ND3.ors", "ND3_Cert_EE.pem", "WSNIC_ND3_Issuer_Root.pem", oct12, ERR, "E_INVALIDARG"},
      {"D1.ors", "D1_Cert_EE.pem", "WSNIC_D1_Issuer_ICA.pem", oct24, ERR, "E_INVALIDARG"},
      {"D2.ors", "D2_Cert_ICA.pem", "WSNIC_D2_Issuer_Root.pem", oct24, ERR, "E_INVALIDARG"},
      {"D3.ors", "D3_Cert_EE.pem", "WSNIC_D3_Issuer_Root.pem", oct24, ERR, "E_INVALIDARG"},
      // Wrong key in the issuer certificate: the CA-signed responses name a
      // key the given issuer does not have; delegates do not verify with it.
      {"ND1.ors", "ND1_Cert_EE.pem", "WKIC_ND1_Issuer_ICA.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"ND2.ors", "ND2_Cert_ICA.pem", "WKIC_ND2_Issuer_Root.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"ND3.ors", "ND3_Cert_EE.pem", "WKIC_ND3_Issuer_Root.pem", oct12, FAIL, "CRYPT_E_SIGNER_NOT_FOUND"},
      {"D1.ors", "D1_Cert_EE.pem", "WKIC_D1_Issuer_ICA.pem", oct24, FAIL, "TRUST_E_CERT_SIGNATURE"},
      {"D2.ors", "D2_Cert_ICA.pem", "WKIC_D2_Issuer_Root.pem", oct24, FAIL, "TRUST_E_CERT_SIGNATURE"},
      {"D3.ors", "D3_Cert_EE.pem", "WKIC_D3_Issuer_Root.pem", oct24, FAIL, "TRUST_E_CERT_SIGNATURE"},
      // Invalid signature on the issuer certificate itself: irrelevant to
      // OCSP (the issuer is trusted as given; chain building judges it).
      {"ND1.ors", "ND1_Cert_EE.pem", "ISIC_ND1_Issuer_ICA.pem", oct12, OK, ""},
      {"ND2.ors", "ND2_Cert_ICA.pem", "ISIC_ND2_Issuer_Root.pem", oct12, OK, ""},
      {"ND3.ors", "ND3_Cert_EE.pem", "ISIC_ND3_Issuer_Root.pem", oct12, OK, ""},
      {"D1.ors", "D1_Cert_EE.pem", "ISIC_D1_Issuer_ICA.pem", oct24, OK, ""},
      {"D2.ors", "D2_Cert_ICA.pem", "ISIC_D2_Issuer_Root.pem", oct24, OK, ""},
      {"D3.ors", "D3_Cert_EE.pem", "ISIC_D3_Issuer_Root.pem", oct24, OK, ""},
  };
  // clang-format on
}

TEST(OcspOpensslFixtureTest, EveryResponseEvaluatesAsItsNameSays) {
  if (!std::filesystem::is_directory(OpensslDir())) {
    GTEST_SKIP() << "fixtures directory " << OpensslDir() << " is missing";
  }
  for (const OpensslCase& c : OpensslCases()) {
    SCOPED_TRACE(absl::StrCat(c.response, " for ", c.cert, " issued by ", c.issuer));
    absl::StatusOr<std::string> b64 = ReadFileBytes(OpensslDir() + "/" + c.response);
    ASSERT_TRUE(b64.ok()) << b64.status();
    std::string compact;
    for (char ch : *b64) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(ch))) compact.push_back(ch);
    }
    std::string der;
    ASSERT_TRUE(absl::Base64Unescape(compact, &der));
    absl::StatusOr<X509Ptr> cert = LoadCertificateFile(OpensslDir() + "/" + c.cert);
    absl::StatusOr<X509Ptr> issuer = LoadCertificateFile(OpensslDir() + "/" + c.issuer);
    ASSERT_TRUE(cert.ok()) << cert.status();
    ASSERT_TRUE(issuer.ok()) << issuer.status();

    OcspCheckOptions options;
    options.now = c.now;
    options.cert = cert->get();
    options.issuer = issuer->get();
    const OcspVerdict v = EvaluateOcspResponse(der, options);
    EXPECT_EQ(StatusName(v.status), std::string(StatusName(c.status))) << v.detail;
    EXPECT_EQ(CodeName(v.hresult), c.code) << v.detail;
    EXPECT_FALSE(v.detail.empty());
    if (c.status == v1::STATUS_OK) {
      EXPECT_EQ(v.cert_status, "good");
      EXPECT_TRUE(v.signature_verified);
      EXPECT_EQ(v.response_status, "successful");
      EXPECT_TRUE(v.produced_at.has_value());
      EXPECT_TRUE(v.this_update.has_value());
      EXPECT_EQ(v.responder_kind,
                c.response[0] == 'D' ? OcspResponder::kDelegated : OcspResponder::kIssuer);
    }
    EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue not drained";
  }
}

// ---- boringssl pki/testdata/ocsp_unittest: annotated PEM files ----

std::string BoringDir() {
  return std::string(PKIWATCH_FIXTURES_DIR) + "/ocsp/boringssl-ocsp_unittest";
}

// PEM blocks of an annotated file by label ("OCSP RESPONSE", "CA CERTIFICATE", ...).
std::map<std::string, std::string> PemBlocks(const std::string& path) {
  std::map<std::string, std::string> blocks;
  absl::StatusOr<std::string> text = ReadFileBytes(path);
  if (!text.ok()) return blocks;
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  for (int i = 0; i < 32; ++i) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) break;
    blocks.emplace(name, std::string(reinterpret_cast<char*>(data), static_cast<size_t>(len)));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
  ERR_clear_error();
  return blocks;
}

X509Ptr DerCert(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  return cert;
}

struct BoringCase {
  const char* file;
  v1::Status status;
  const char* code;
  const char* cert_status;  // "" when the evaluation stops before
};

TEST(OcspBoringSslFixtureTest, EveryCaseEvaluatesAsAnnotated) {
  if (!std::filesystem::is_directory(BoringDir())) {
    GTEST_SKIP() << "fixtures directory " << BoringDir() << " is missing";
  }
  constexpr v1::Status OK = v1::STATUS_OK;
  constexpr v1::Status WARN = v1::STATUS_WARN;
  constexpr v1::Status FAIL = v1::STATUS_FAIL;
  const std::vector<BoringCase> cases = {
      {"good_response.pem", OK, "", "good"},
      {"good_response_sha256.pem", OK, "", "good"},
      {"good_response_next_update.pem", OK, "", "good"},
      {"has_version.pem", OK, "", "good"},
      {"has_extension.pem", OK, "", "good"},
      {"has_single_extension.pem", OK, "", "good"},
      {"has_critical_ct_extension.pem", OK, "", "good"},
      {"responder_id.pem", OK, "", "good"},
      {"responder_name.pem", OK, "", "good"},
      {"ocsp_sign_direct.pem", OK, "", "good"},
      {"ocsp_sign_indirect.pem", OK, "", "good"},
      {"ocsp_extra_certs.pem", OK, "", "good"},
      {"revoke_response.pem", FAIL, "CRYPT_E_REVOKED", "revoked"},
      {"revoke_response_reason.pem", FAIL, "CRYPT_E_REVOKED", "revoked"},
      {"multiple_response_good_revoked.pem", FAIL, "CRYPT_E_REVOKED", "revoked"},
      {"unknown_response.pem", FAIL, "CRYPT_E_NO_REVOCATION_CHECK", "unknown"},
      {"multiple_response.pem", FAIL, "CRYPT_E_NO_REVOCATION_CHECK", "unknown"},
      {"missing_response.pem", FAIL, "CRYPT_E_NO_REVOCATION_CHECK", ""},
      {"other_response.pem", FAIL, "CRYPT_E_NO_REVOCATION_CHECK", ""},
      {"no_response.pem", FAIL, "CRYPT_E_NO_REVOCATION_CHECK", ""},
      {"malformed_request.pem", FAIL, "CRYPT_E_NO_REVOCATION_CHECK", ""},
      {"bad_status.pem", FAIL, "CRYPT_E_ASN1_BADTAG", ""},
      {"bad_ocsp_type.pem", FAIL, "CRYPT_E_ASN1_BADTAG", ""},
      {"invalid_response.pem", FAIL, "CRYPT_E_ASN1_BADTAG", ""},
      {"invalid_response_data.pem", FAIL, "CRYPT_E_ASN1_BADTAG", ""},
      {"bad_signature.pem", FAIL, "NTE_BAD_SIGNATURE", ""},
      {"ocsp_sign_bad_indirect.pem", FAIL, "CERT_E_WRONG_USAGE", ""},
      {"ocsp_sign_indirect_missing.pem", FAIL, "CRYPT_E_SIGNER_NOT_FOUND", ""},
      {"has_critical_response_extension.pem", FAIL, "CERT_E_CRITICAL", ""},
      {"has_critical_single_extension.pem", FAIL, "CERT_E_CRITICAL", ""},
      {"stale_response.pem", FAIL, "CRYPT_E_REVOCATION_OFFLINE", "good"},
      {"old_response.pem", FAIL, "CRYPT_E_REVOCATION_OFFLINE", "good"},
      {"future_response.pem", FAIL, "CRYPT_E_REVOCATION_OFFLINE", "good"},
      {"produced_late_response.pem", FAIL, "CRYPT_E_REVOCATION_OFFLINE", "good"},
      {"produced_early_response.pem", WARN, "", "good"},
      {"good_response_invalid_serial.pem", FAIL, "CRYPT_E_ASN1_BADTAG", ""},
  };
  // The upstream test verifies at 2017-03-05 00:00 UTC, with a one-week
  // maximum age for responses without nextUpdate (our default too).
  const absl::Time now = Utc(2017, 3, 5);
  for (const BoringCase& c : cases) {
    SCOPED_TRACE(c.file);
    std::map<std::string, std::string> blocks = PemBlocks(BoringDir() + "/" + c.file);
    ASSERT_EQ(blocks.count("OCSP RESPONSE"), 1u);
    X509Ptr cert = DerCert(blocks["CERTIFICATE"]);
    X509Ptr issuer = DerCert(blocks["CA CERTIFICATE"]);
    ASSERT_NE(issuer, nullptr);
    if (cert == nullptr) {
      // good_response_invalid_serial: the certificate's serial is not DER
      // either; OpenSSL refuses both, so nothing can be asked about it.
      EXPECT_STREQ(c.file, "good_response_invalid_serial.pem");
      continue;
    }
    OcspCheckOptions options;
    options.now = now;
    options.cert = cert.get();
    options.issuer = issuer.get();
    const OcspVerdict v = EvaluateOcspResponse(blocks["OCSP RESPONSE"], options);
    EXPECT_EQ(StatusName(v.status), std::string(StatusName(c.status))) << v.detail;
    EXPECT_EQ(CodeName(v.hresult), c.code) << v.detail;
    EXPECT_EQ(v.cert_status, c.cert_status) << v.detail;
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
}

TEST(OcspBoringSslFixtureTest, RevocationFacts) {
  if (!std::filesystem::is_directory(BoringDir())) {
    GTEST_SKIP() << "fixtures directory " << BoringDir() << " is missing";
  }
  std::map<std::string, std::string> blocks =
      PemBlocks(BoringDir() + "/revoke_response_reason.pem");
  X509Ptr cert = DerCert(blocks["CERTIFICATE"]);
  X509Ptr issuer = DerCert(blocks["CA CERTIFICATE"]);
  ASSERT_TRUE(cert != nullptr && issuer != nullptr);
  OcspCheckOptions options;
  options.now = Utc(2017, 3, 5);
  options.cert = cert.get();
  options.issuer = issuer.get();
  const OcspVerdict v = EvaluateOcspResponse(blocks["OCSP RESPONSE"], options);
  EXPECT_EQ(v.revocation_reason, "keyCompromise");
  EXPECT_EQ(v.revocation_time, Utc(2017, 2, 1));
  EXPECT_EQ(v.produced_at, Utc(2017, 3, 2));
  EXPECT_EQ(v.this_update, Utc(2017, 3, 1));
  EXPECT_EQ(v.responder, "CN=Test Intermediate CA");
  EXPECT_TRUE(absl::StrContains(v.detail, "keyCompromise")) << v.detail;
}

// ---- Responses made here: the rules one by one ----

class OcspGeneratedTest : public ::testing::Test {
 protected:
  static constexpr int64_t kDay = 24;
  void SetUp() override {
    now_ = Utc(2031, 3, 14, 12);
    TestCertSpec ca;
    ca.common_name = "Issuing CA";
    ca.serial = 1;
    ca.is_ca = true;
    ca.key_usage = "critical,keyCertSign,cRLSign,digitalSignature";
    ca.not_before = now_ - absl::Hours(365 * kDay);
    ca.not_after = now_ + absl::Hours(3650 * kDay);
    absl::StatusOr<TestKeyCert> made = MakeTestCert(ca, nullptr);
    ASSERT_TRUE(made.ok()) << made.status();
    ca_ = *std::move(made);
    ca.common_name = "Other CA";
    made = MakeTestCert(ca, nullptr);
    ASSERT_TRUE(made.ok()) << made.status();
    other_ca_ = *std::move(made);

    TestCertSpec leaf;
    leaf.common_name = "leaf.example";
    leaf.serial = 0x1001;
    leaf.not_before = now_ - absl::Hours(30 * kDay);
    leaf.not_after = now_ + absl::Hours(335 * kDay);
    made = MakeTestCert(leaf, &ca_);
    ASSERT_TRUE(made.ok()) << made.status();
    leaf_ = *std::move(made);

    TestCertSpec delegate;
    delegate.common_name = "OCSP signer";
    delegate.serial = 0x2001;
    delegate.extended_key_usage = "OCSPSigning";
    delegate.not_before = now_ - absl::Hours(kDay);
    delegate.not_after = now_ + absl::Hours(14 * kDay);
    made = MakeTestCert(delegate, &ca_);
    ASSERT_TRUE(made.ok()) << made.status();
    delegate_ = *std::move(made);
    delegate.common_name = "Not an OCSP signer";
    delegate.extended_key_usage = "serverAuth";
    made = MakeTestCert(delegate, &ca_);
    ASSERT_TRUE(made.ok()) << made.status();
    no_eku_ = *std::move(made);
    delegate.common_name = "Foreign OCSP signer";
    delegate.extended_key_usage = "OCSPSigning";
    made = MakeTestCert(delegate, &other_ca_);
    ASSERT_TRUE(made.ok()) << made.status();
    foreign_ = *std::move(made);
    delegate.common_name = "Expired OCSP signer";
    delegate.not_before = now_ - absl::Hours(30 * kDay);
    delegate.not_after = now_ - absl::Hours(kDay);
    made = MakeTestCert(delegate, &ca_);
    ASSERT_TRUE(made.ok()) << made.status();
    expired_ = *std::move(made);
  }

  TestOcspResponseSpec Good(const TestKeyCert& signer) {
    TestOcspResponseSpec s;
    s.cert = leaf_.cert.get();
    s.issuer = ca_.cert.get();
    s.signer = &signer;
    s.this_update = now_ - absl::Hours(1);
    s.next_update = now_ + absl::Hours(kDay);
    s.produced_at = now_ - absl::Hours(1);
    return s;
  }

  OcspVerdict Evaluate(const TestOcspResponseSpec& spec, OcspCheckOptions options = {}) {
    absl::StatusOr<std::string> der = MakeOcspResponse(spec);
    EXPECT_TRUE(der.ok()) << der.status();
    options.now = now_;
    options.cert = leaf_.cert.get();
    options.issuer = ca_.cert.get();
    return EvaluateOcspResponse(der.ok() ? *der : std::string(), options);
  }

  absl::Time now_;
  TestKeyCert ca_, other_ca_, leaf_, delegate_, no_eku_, foreign_, expired_;
};

TEST_F(OcspGeneratedTest, GoodFromIssuerAndFromDelegate) {
  OcspVerdict v = Evaluate(Good(ca_));
  EXPECT_EQ(v.status, v1::STATUS_OK) << v.detail;
  EXPECT_EQ(v.responder_kind, OcspResponder::kIssuer);
  EXPECT_EQ(v.responder, "CN=Issuing CA,O=pkiwatch test");
  EXPECT_EQ(v.nonce, "not sent");

  v = Evaluate(Good(delegate_));
  EXPECT_EQ(v.status, v1::STATUS_OK) << v.detail;
  EXPECT_EQ(v.responder_kind, OcspResponder::kDelegated);
  EXPECT_EQ(v.responder, "CN=OCSP signer,O=pkiwatch test");
  EXPECT_EQ(v.next_update, now_ + absl::Hours(kDay));

  // byKey responder ID, delegate not included but known from extra_certs.
  TestOcspResponseSpec spec = Good(delegate_);
  spec.include_signer_cert = false;
  spec.responder_id_by_key = true;
  OcspCheckOptions options;
  v = Evaluate(spec, options);
  EXPECT_EQ(CodeName(v.hresult), "CRYPT_E_SIGNER_NOT_FOUND") << v.detail;
  options.extra_certs = {delegate_.cert.get()};
  v = Evaluate(spec, options);
  EXPECT_EQ(v.status, v1::STATUS_OK) << v.detail;
}

TEST_F(OcspGeneratedTest, ResponderAuthorization) {
  OcspVerdict v = Evaluate(Good(no_eku_));
  EXPECT_EQ(v.status, v1::STATUS_FAIL);
  EXPECT_EQ(CodeName(v.hresult), "CERT_E_WRONG_USAGE") << v.detail;

  v = Evaluate(Good(foreign_));
  EXPECT_EQ(CodeName(v.hresult), "CERT_E_ISSUERCHAINING") << v.detail;

  v = Evaluate(Good(expired_));
  EXPECT_EQ(CodeName(v.hresult), "CERT_E_EXPIRED") << v.detail;

  TestOcspResponseSpec spec = Good(ca_);
  spec.wrong_signing_key = other_ca_.key.get();
  v = Evaluate(spec);
  EXPECT_EQ(CodeName(v.hresult), "NTE_BAD_SIGNATURE") << v.detail;
  EXPECT_FALSE(v.signature_verified);
}

TEST_F(OcspGeneratedTest, StatusesAndResponseStatuses) {
  TestOcspResponseSpec spec = Good(ca_);
  spec.cert_status = V_OCSP_CERTSTATUS_REVOKED;
  spec.revocation_time = now_ - absl::Hours(2 * kDay);
  spec.revocation_reason = OCSP_REVOKED_STATUS_SUPERSEDED;
  OcspVerdict v = Evaluate(spec);
  EXPECT_EQ(CodeName(v.hresult), "CRYPT_E_REVOKED") << v.detail;
  EXPECT_EQ(v.cert_status, "revoked");
  EXPECT_EQ(v.revocation_reason, "superseded");
  EXPECT_EQ(v.revocation_time, now_ - absl::Hours(2 * kDay));

  spec = Good(ca_);
  spec.cert_status = V_OCSP_CERTSTATUS_UNKNOWN;
  v = Evaluate(spec);
  EXPECT_EQ(CodeName(v.hresult), "CRYPT_E_NO_REVOCATION_CHECK") << v.detail;
  EXPECT_EQ(v.cert_status, "unknown");

  const std::vector<std::pair<int, const char*>> statuses = {
      {OCSP_RESPONSE_STATUS_TRYLATER, "CRYPT_E_REVOCATION_OFFLINE"},
      {OCSP_RESPONSE_STATUS_INTERNALERROR, "CRYPT_E_REVOCATION_OFFLINE"},
      {OCSP_RESPONSE_STATUS_UNAUTHORIZED, "CRYPT_E_NO_REVOCATION_CHECK"},
      {OCSP_RESPONSE_STATUS_SIGREQUIRED, "CRYPT_E_NO_REVOCATION_CHECK"},
      {OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "CRYPT_E_NO_REVOCATION_CHECK"},
  };
  for (const auto& [status, code] : statuses) {
    spec = Good(ca_);
    spec.response_status = status;
    v = Evaluate(spec);
    EXPECT_EQ(CodeName(v.hresult), code) << v.detail;
    EXPECT_TRUE(absl::StrContains(v.detail, v.response_status)) << v.detail;
  }

  spec = Good(ca_);
  spec.critical_response_extension = "1.2.3.4.5";
  v = Evaluate(spec);
  EXPECT_EQ(CodeName(v.hresult), "CERT_E_CRITICAL") << v.detail;
}

TEST_F(OcspGeneratedTest, Freshness) {
  struct Case {
    const char* label;
    absl::Duration this_update;                 // relative to now
    std::optional<absl::Duration> next_update;  // relative to now
    std::optional<absl::Duration> produced_at;  // relative to now
    v1::Status status;
    const char* code;
  };
  const absl::Duration h = absl::Hours(1);
  const std::vector<Case> cases = {
      {"fresh", -h, 24 * h, -h, v1::STATUS_OK, ""},
      {"within tolerance ahead", 4 * absl::Minutes(1), 24 * h, -h, v1::STATUS_OK, ""},
      {"thisUpdate ahead", 2 * h, 24 * h, -h, v1::STATUS_FAIL, "CRYPT_E_REVOCATION_OFFLINE"},
      {"producedAt ahead", -h, 24 * h, 2 * h, v1::STATUS_FAIL, "CRYPT_E_REVOCATION_OFFLINE"},
      {"expired", -48 * h, -24 * h, -48 * h, v1::STATUS_FAIL, "CRYPT_E_REVOCATION_OFFLINE"},
      {"expired within tolerance", -48 * h, -absl::Minutes(4), -48 * h, v1::STATUS_OK, ""},
      {"no nextUpdate, recent", -24 * h, std::nullopt, -h, v1::STATUS_OK, ""},
      {"no nextUpdate, old", -8 * 24 * h, std::nullopt, -h, v1::STATUS_FAIL,
       "CRYPT_E_REVOCATION_OFFLINE"},
      {"produced before the cert existed", -h, 24 * h, -60 * 24 * h, v1::STATUS_WARN, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    TestOcspResponseSpec spec = Good(ca_);
    spec.this_update = now_ + c.this_update;
    spec.next_update.reset();
    if (c.next_update.has_value()) spec.next_update = now_ + *c.next_update;
    spec.produced_at.reset();
    if (c.produced_at.has_value()) spec.produced_at = now_ + *c.produced_at;
    const OcspVerdict v = Evaluate(spec);
    EXPECT_EQ(StatusName(v.status), std::string(StatusName(c.status))) << v.detail;
    EXPECT_EQ(CodeName(v.hresult), c.code) << v.detail;
  }

  // Warnings that are off or on by option.
  OcspCheckOptions options;
  options.next_update_warn = absl::Hours(48);
  OcspVerdict v = Evaluate(Good(ca_), options);
  EXPECT_EQ(v.status, v1::STATUS_WARN) << v.detail;
  options = {};
  options.signer_expiry_warn = absl::Hours(24 * 30);
  v = Evaluate(Good(delegate_), options);
  EXPECT_EQ(v.status, v1::STATUS_WARN) << v.detail;
  EXPECT_TRUE(absl::StrContains(v.detail, "delegated responder certificate expires")) << v.detail;
}

TEST_F(OcspGeneratedTest, Nonce) {
  absl::StatusOr<OcspRequest> req =
      BuildOcspRequest(leaf_.cert.get(), ca_.cert.get(), OcspRequestOptions{.nonce = true});
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_FALSE(req->nonce_ext_value.empty());
  absl::StatusOr<OcspRequest> other =
      BuildOcspRequest(leaf_.cert.get(), ca_.cert.get(), OcspRequestOptions{.nonce = true});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(req->nonce_ext_value, other->nonce_ext_value);

  OcspCheckOptions options;
  options.nonce_ext_value = req->nonce_ext_value;
  TestOcspResponseSpec spec = Good(ca_);
  spec.nonce_ext_value = req->nonce_ext_value;
  OcspVerdict v = Evaluate(spec, options);
  EXPECT_EQ(v.status, v1::STATUS_OK) << v.detail;
  EXPECT_EQ(v.nonce, "matched");

  spec.nonce_ext_value = other->nonce_ext_value;
  v = Evaluate(spec, options);
  EXPECT_EQ(v.nonce, "mismatch");
  EXPECT_EQ(CodeName(v.hresult), "CERT_E_REVOCATION_FAILURE") << v.detail;

  spec.nonce_ext_value.clear();
  v = Evaluate(spec, options);
  EXPECT_EQ(v.status, v1::STATUS_OK) << v.detail;
  EXPECT_EQ(v.nonce, "absent");
  options.require_nonce = true;
  v = Evaluate(spec, options);
  EXPECT_EQ(CodeName(v.hresult), "CERT_E_REVOCATION_FAILURE") << v.detail;

  spec.nonce_ext_value = req->nonce_ext_value;
  v = Evaluate(spec, OcspCheckOptions{});
  EXPECT_EQ(v.nonce, "unsolicited");
  EXPECT_EQ(v.status, v1::STATUS_OK);
}

TEST_F(OcspGeneratedTest, CallerErrorsAndGarbage) {
  OcspCheckOptions options;
  options.now = now_;
  EXPECT_EQ(EvaluateOcspResponse("x", options).status, v1::STATUS_PROBE_ERROR);
  options.cert = leaf_.cert.get();
  options.issuer = other_ca_.cert.get();  // not the leaf's issuer
  EXPECT_EQ(CodeName(EvaluateOcspResponse("x", options).hresult), "E_INVALIDARG");
  options.issuer = ca_.cert.get();
  // Bounded deterministic garbage, including truncations of a real response.
  absl::StatusOr<std::string> real = MakeOcspResponse(Good(delegate_));
  ASSERT_TRUE(real.ok());
  for (size_t cut = 0; cut < real->size(); cut += 7) {
    const OcspVerdict v = EvaluateOcspResponse(real->substr(0, cut), options);
    EXPECT_EQ(v.status, v1::STATUS_FAIL);
  }
  std::string flipped = *real;
  for (size_t i = 0; i < flipped.size(); i += 13) {
    std::string copy = flipped;
    copy[i] = static_cast<char>(copy[i] ^ 0x5a);
    const OcspVerdict v = EvaluateOcspResponse(copy, options);
    EXPECT_NE(v.status, v1::STATUS_UNSPECIFIED);
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(OcspGeneratedTest, RequestAndGetUrl) {
  absl::StatusOr<OcspRequest> req = BuildOcspRequest(leaf_.cert.get(), ca_.cert.get(), {});
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_TRUE(req->nonce_ext_value.empty());
  EXPECT_LE(req->der.size(), kMaxOcspGetRequestBytes);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(req->der.data());
  OcspRequestPtr parsed(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(req->der.size())));
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(OCSP_request_onereq_count(parsed.get()), 1);

  EXPECT_EQ(OcspGetUrl("http://h/ocsp", std::string("\xfb\xff", 2)), "http://h/ocsp/%2B%2F8%3D");
  EXPECT_EQ(OcspGetUrl("http://h/", "abc"), "http://h/YWJj");
  EXPECT_FALSE(BuildOcspRequest(nullptr, ca_.cert.get(), {}).ok());
}

}  // namespace
}  // namespace pkiwatch
