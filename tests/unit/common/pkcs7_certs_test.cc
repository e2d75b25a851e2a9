#include "common/pkcs7_certs.h"

#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::CertDer;
using ::pkiwatch::testing::CertsOnlyPkcs7Der;
using ::pkiwatch::testing::MakeTestCert;
using ::pkiwatch::testing::TestCertSpec;
using ::pkiwatch::testing::TestKeyCert;

using Pkcs7Ptr = std::unique_ptr<PKCS7, openssl_internal::Deleter<&PKCS7_free>>;

class Pkcs7CertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Time now = absl::Now();
    TestCertSpec spec;
    spec.not_before = now - absl::Hours(1);
    spec.not_after = now + absl::Hours(24);
    spec.is_ca = true;
    spec.common_name = "P7 Root";
    auto root = MakeTestCert(spec);
    ASSERT_TRUE(root.ok()) << root.status();
    root_ = std::move(*root);
    spec.common_name = "P7 RA";
    spec.serial = 2;
    spec.is_ca = false;
    auto ra = MakeTestCert(spec, &root_);
    ASSERT_TRUE(ra.ok()) << ra.status();
    ra_ = std::move(*ra);
    der_ = CertsOnlyPkcs7Der({root_.cert.get(), ra_.cert.get()});
    ASSERT_FALSE(der_.empty());
  }

  std::string ToPem(const std::string& der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (p7 == nullptr || bio == nullptr || PEM_write_bio_PKCS7(bio.get(), p7.get()) != 1) {
      ADD_FAILURE() << "PEM_write_bio_PKCS7: " << OpenSslErrors();
      return "";
    }
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
  }

  TestKeyCert root_;
  TestKeyCert ra_;
  std::string der_;
};

TEST_F(Pkcs7CertsTest, DerDegenerateInStoredOrder) {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePkcs7Certificates(der_);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp((*certs)[0].get(), root_.cert.get()), 0);
  EXPECT_EQ(X509_cmp((*certs)[1].get(), ra_.cert.get()), 0);
}

TEST_F(Pkcs7CertsTest, PemWithTextAroundAndOtherBlocksFirst) {
  const std::string pem = "GetCACert answer\n" + testing::CertPem(ra_.cert.get()) + ToPem(der_) +
                          "trailing words\n";
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePkcs7Certificates(pem);
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_EQ(certs->size(), 2u);
}

TEST_F(Pkcs7CertsTest, EmptyCertificateSetIsAnEmptyVector) {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePkcs7Certificates(CertsOnlyPkcs7Der({}));
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_TRUE(certs->empty());
}

TEST_F(Pkcs7CertsTest, CertificatesOutliveTheParse) {
  std::vector<X509Ptr> kept;
  {
    absl::StatusOr<std::vector<X509Ptr>> certs = ParsePkcs7Certificates(der_);
    ASSERT_TRUE(certs.ok());
    kept = std::move(*certs);
  }
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(NameToString(X509_get_subject_name(kept[1].get())), "CN=P7 RA,O=pkiwatch test");
}

TEST_F(Pkcs7CertsTest, RejectsWhatIsNotSignedDataWithCertificates) {
  auto expect_invalid = [](std::string_view bytes, const char* needle) {
    absl::StatusOr<std::vector<X509Ptr>> certs = ParsePkcs7Certificates(bytes);
    ASSERT_FALSE(certs.ok()) << needle;
    EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(certs.status().message(), needle)) << certs.status();
  };
  expect_invalid("", "empty input");
  expect_invalid("plain text", "neither DER");
  expect_invalid(CertDer(root_.cert.get()), "d2i_PKCS7");
  expect_invalid(der_ + "xx", "trailing data");
  expect_invalid(testing::CertPem(root_.cert.get()), "no \"PKCS7\"");
  expect_invalid(std::string(kMaxPkcs7Bytes + 1, '\x30'), "exceed the limit");

  // A PKCS#7 "data" content is not signedData.
  Pkcs7Ptr data(PKCS7_new());
  ASSERT_NE(data, nullptr);
  ASSERT_EQ(PKCS7_set_type(data.get(), NID_pkcs7_data), 1);
  unsigned char* out = nullptr;
  const int len = i2d_PKCS7(data.get(), &out);
  ASSERT_GT(len, 0) << OpenSslErrors();
  const std::string data_der(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  expect_invalid(data_der, "not signedData");
}

TEST_F(Pkcs7CertsTest, EveryTruncationFailsCleanly) {
  // Bounded: one parse per prefix length of a ~1 KB structure.
  for (size_t n = 1; n < der_.size(); ++n) {
    EXPECT_FALSE(ParsePkcs7Certificates(std::string_view(der_).substr(0, n)).ok()) << n;
  }
}

TEST_F(Pkcs7CertsTest, FlippedBytesNeverCrash) {
  // Deterministic corruption of every byte, one at a time.
  for (size_t i = 0; i < der_.size(); ++i) {
    std::string bad = der_;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    absl::StatusOr<std::vector<X509Ptr>> certs = ParsePkcs7Certificates(bad);
    if (certs.ok()) {
      EXPECT_LE(certs->size(), 2u);
    }
  }
}

}  // namespace
}  // namespace pkiwatch
