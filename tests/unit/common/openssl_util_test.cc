#include "common/openssl_util.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <filesystem>
#include <string>

namespace pkiwatch {
namespace {

namespace fs = std::filesystem;
const fs::path kAdcsDir = fs::path(PKIWATCH_FIXTURES_DIR) / "certs" / "adcs";

TEST(OpenSslUtilTest, HexLower) {
  EXPECT_EQ(HexLower(""), "");
  EXPECT_EQ(HexLower(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

TEST(OpenSslUtilTest, NameToStringIsRfc2253WithUtf8) {
  X509NamePtr name(X509_NAME_new());
  // ASN.1 order is most significant first; RFC 2253 prints it reversed.
  for (const auto& [type, value] :
       {std::pair{"DC", "example"}, std::pair{"DC", "corp"},
        std::pair{"CN", "Issuing CA f\xC3\xBCr M\xC3\xBCnchen, Nord"}}) {
    ASSERT_EQ(X509_NAME_add_entry_by_txt(
                  name.get(), type, MBSTRING_UTF8,
                  reinterpret_cast<const unsigned char*>(value), -1, -1, 0),
              1);
  }
  EXPECT_EQ(NameToString(name.get()),
            "CN=Issuing CA f\xC3\xBCr M\xC3\xBCnchen\\, Nord,DC=corp,DC=example");
  EXPECT_EQ(NameToString(nullptr), "");
}

TEST(OpenSslUtilTest, Asn1TimeToAbsl) {
  Asn1TimePtr t(ASN1_TIME_new());
  ASSERT_EQ(ASN1_TIME_set_string(t.get(), "170302001122Z"), 1);
  absl::StatusOr<absl::Time> utc = Asn1TimeToAbsl(t.get());
  ASSERT_TRUE(utc.ok()) << utc.status();
  EXPECT_EQ(*utc, absl::FromCivil(absl::CivilSecond(2017, 3, 2, 0, 11, 22),
                                  absl::UTCTimeZone()));
  ASSERT_EQ(ASN1_TIME_set_string(t.get(), "20500101000000Z"), 1);
  absl::StatusOr<absl::Time> generalized = Asn1TimeToAbsl(t.get());
  ASSERT_TRUE(generalized.ok()) << generalized.status();
  EXPECT_EQ(*generalized, absl::FromCivil(absl::CivilSecond(2050, 1, 1, 0, 0, 0),
                                          absl::UTCTimeZone()));

  EXPECT_FALSE(Asn1TimeToAbsl(nullptr).ok());
  // A malformed value put in without validation.
  ASSERT_EQ(ASN1_STRING_set(t.get(), "20171399nonsense", -1), 1);
  absl::StatusOr<absl::Time> bad = Asn1TimeToAbsl(t.get());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OpenSslUtilTest, Asn1IntegerConversions) {
  Asn1IntegerPtr i(ASN1_INTEGER_new());
  ASSERT_EQ(ASN1_INTEGER_set(i.get(), 0x1234), 1);
  EXPECT_EQ(Asn1IntegerToDecimal(i.get()), "4660");
  EXPECT_EQ(Asn1IntegerToHex(i.get()), "1234");
  EXPECT_EQ(Asn1IntegerToDecimal(nullptr), "");
}

TEST(OpenSslUtilTest, OpenSslErrorsDrainsTheQueue) {
  ERR_clear_error();
  EXPECT_EQ(OpenSslErrors(), "no OpenSSL error");
  const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01};
  const unsigned char* p = junk;
  EXPECT_EQ(d2i_X509(nullptr, &p, sizeof(junk)), nullptr);
  std::string errors = OpenSslErrors();
  EXPECT_NE(errors.find("error:"), std::string::npos) << errors;
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(OpenSslUtilTest, LoadCertificatesRejectsGarbage) {
  EXPECT_FALSE(LoadCertificates("").ok());
  EXPECT_FALSE(LoadCertificates("garbage").ok());
  EXPECT_FALSE(LoadCertificates("\x30\x03\x02\x01\x01").ok());
  absl::StatusOr<std::vector<X509Ptr>> no_cert = LoadCertificates(
      "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n");
  ASSERT_FALSE(no_cert.ok());
  EXPECT_NE(no_cert.status().message().find("no CERTIFICATE block"),
            std::string::npos);
  absl::StatusOr<X509Ptr> missing =
      LoadCertificateFile("/nonexistent/pkiwatch/cert.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(OpenSslUtilTest, LoadsRealAdcsCertificatesPemAndDer) {
  if (!fs::is_directory(kAdcsDir)) {
    GTEST_SKIP() << "fixtures directory missing: " << kAdcsDir;
  }
  const std::string path = (kAdcsDir / "pyca_bigoid_ADCS-issued-subCA.pem").string();
  absl::StatusOr<X509Ptr> cert = LoadCertificateFile(path);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(NameToString(X509_get_issuer_name(cert->get())),
            "CN=ad-WIN-PPK015F9MDQ-CA,DC=ad,DC=local");
  EXPECT_EQ(NameToString(X509_get_subject_name(cert->get())),
            "CN=Certificate Authority,O=IPA.LOCAL");
  EXPECT_EQ(Asn1IntegerToHex(X509_get0_serialNumber(cert->get())),
            "4800000007756c40b996c39d9d000000000007");
  EXPECT_EQ(CertThumbprintSha1(cert->get()),
            "b8003c278113892a7564d531a40264eb2dd59d91");
  absl::StatusOr<absl::Time> not_after = Asn1TimeToAbsl(X509_get0_notAfter(cert->get()));
  ASSERT_TRUE(not_after.ok());
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d", *not_after, absl::UTCTimeZone()),
            "2019-05-25");

  // The same certificate as DER, and two PEM certificates in one input
  // with an unrelated block (BoringSSL's "ERRORS") in between.
  unsigned char* der = nullptr;
  int len = i2d_X509(cert->get(), &der);
  ASSERT_GT(len, 0);
  std::string der_bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  absl::StatusOr<std::vector<X509Ptr>> from_der = LoadCertificates(der_bytes);
  ASSERT_TRUE(from_der.ok()) << from_der.status();
  ASSERT_EQ(from_der->size(), 1u);
  EXPECT_EQ(X509_cmp(from_der->front().get(), cert->get()), 0);

  absl::StatusOr<std::string> a = ReadFileBytes(path);
  absl::StatusOr<std::string> b = ReadFileBytes(
      (kAdcsDir / "boringssl_subjectaltname_trailing_data_Intesa-ADCS-leaf.pem")
          .string());
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::vector<X509Ptr>> both = LoadCertificates(*a + *b);
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ(NameToString(X509_get_issuer_name((*both)[1].get())),
            "CN=Intesa Sanpaolo CA Servizi Esterni Enhanced,DC=corp,"
            "DC=sanpaoloimi,DC=com");
}

}  // namespace
}  // namespace pkiwatch
