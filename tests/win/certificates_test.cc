#include "agent/win/certificates.h"

#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kCertEUntrustedRoot = 0x800B0109;
constexpr uint32_t kCryptERevoked = 0x80092010;
constexpr uint32_t kCertTrustIsRevoked = 0x00000004;

// The fixture's PKI (tests/win/http_fixture.sh): root.cer, good.cer (v2
// template extension, CDP and AIA on the loopback server), revoked.cer (v1
// template name "Machine", revoked by the served CRL). The diag end-to-end
// test uses its own pair (e2e-*.cer): wine caches a revocation result per
// certificate in the prefix and caches "revoked" wrongly as "good".
class CertificatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::HttpFixturePort();
    if (!port_) GTEST_SKIP() << "http fixture not running (no port file in " << testing::HttpFixtureDir() << ")";
    const std::string dir = testing::HttpFixtureDir();
    root_ = testing::ReadBinaryFile(dir + "\\root.cer");
    good_ = testing::ReadBinaryFile(dir + "\\good.cer");
    revoked_ = testing::ReadBinaryFile(dir + "\\revoked.cer");
    ASSERT_FALSE(root_.empty() || good_.empty() || revoked_.empty()) << "fixture PKI missing in " << dir;
    store_ = testing::UniqueName("pkiwatch-test");
    const Status cleaned = testing::RemoveCertificatesBySubject(StoreLocation::kCurrentUser, "Root",
                                                                "pkiwatch Test Root");
    ASSERT_TRUE(cleaned.ok()) << cleaned.message();
  }
  void TearDown() override {
    if (!store_.empty()) {
      EXPECT_TRUE(testing::DeleteSystemStore(StoreLocation::kCurrentUser, store_).ok());
    }
    if (!root_thumbprint_.empty()) {
      EXPECT_TRUE(testing::RemoveCertificateFromStore(StoreLocation::kCurrentUser, "Root",
                                                      root_thumbprint_).ok());
    }
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(*port_) + path;
  }

  std::optional<uint16_t> port_;
  std::vector<uint8_t> root_, good_, revoked_;
  std::string store_;
  std::string root_thumbprint_;
};

TEST_F(CertificatesTest, EnumeratesStoreWithTemplateExtensions) {
  for (const auto* der : {&good_, &revoked_}) {
    const Status added = testing::AddCertificateToStore(StoreLocation::kCurrentUser, store_, *der, false);
    ASSERT_TRUE(added.ok()) << added.message();
  }
  auto certificates = EnumerateSystemStore(StoreLocation::kCurrentUser, store_);
  ASSERT_TRUE(certificates.ok()) << certificates.status().message();
  ASSERT_EQ(certificates->size(), 2u);
  const StoreCertificate* good = nullptr;
  const StoreCertificate* revoked = nullptr;
  for (const StoreCertificate& c : *certificates) {
    (c.der == good_ ? good : revoked) = &c;
  }
  ASSERT_NE(good, nullptr);
  ASSERT_NE(revoked, nullptr);
  EXPECT_EQ(revoked->der, revoked_);
  EXPECT_FALSE(good->archived);
  EXPECT_FALSE(good->has_private_key);
  EXPECT_EQ(good->thumbprint.size(), 40u);
  EXPECT_NE(good->subject.find("CN=pkiwatch-good.test"), std::string::npos) << good->subject;
  EXPECT_NE(good->issuer.find("CN=pkiwatch Test Root"), std::string::npos) << good->issuer;
  ASSERT_TRUE(good->not_after_unix.has_value());

  // v2 template extension: raw bytes always, decoded by crypt32.
  ASSERT_FALSE(good->template_extension.empty());
  EXPECT_EQ(good->template_extension[0], 0x30);  // SEQUENCE
  EXPECT_EQ(good->template_oid, "1.3.6.1.4.1.311.21.8.1111.2222.3333.4444.5555.6666.77.88");
  EXPECT_EQ(good->template_major_version, 100u);
  EXPECT_EQ(good->template_minor_version, 4u);
  EXPECT_TRUE(good->template_name_extension.empty());
  // v1 template name.
  ASSERT_FALSE(revoked->template_name_extension.empty());
  EXPECT_EQ(revoked->template_name, "Machine");
}

TEST_F(CertificatesTest, ReportsArchivedCertificates) {
  const Status added = testing::AddCertificateToStore(StoreLocation::kCurrentUser, store_, good_, true);
  if (!added.ok() && testing::RunningUnderWine()) {
    // wine's crypt32 has no CERT_ARCHIVED_PROP_ID (set and get both fail).
    GTEST_SKIP() << "wine cannot archive certificates: " << added.message();
  }
  ASSERT_TRUE(added.ok()) << added.message();
  auto certificates = EnumerateSystemStore(StoreLocation::kCurrentUser, store_);
  ASSERT_TRUE(certificates.ok()) << certificates.status().message();
  ASSERT_EQ(certificates->size(), 1u);  // archived ones are enumerated too
  EXPECT_TRUE((*certificates)[0].archived);
}

TEST_F(CertificatesTest, MissingStoreIsNotFound) {
  auto certificates = EnumerateSystemStore(StoreLocation::kCurrentUser, store_ + "-absent");
  ASSERT_FALSE(certificates.ok());
  EXPECT_EQ(certificates.status().code(), StatusCode::kNotFound);
  EXPECT_NE(certificates.status().message().find("CertOpenStore(CurrentUser\\" + store_ + "-absent)"),
            std::string::npos)
      << certificates.status().message();
}

TEST_F(CertificatesTest, ExtractsCdpAndAiaUrls) {
  auto urls = GetCertificateUrls(good_);
  ASSERT_TRUE(urls.ok()) << urls.status().message();
  EXPECT_EQ(urls->crl_distribution_points, std::vector<std::string>{Url("/root.crl")});
  EXPECT_EQ(urls->ca_issuers, std::vector<std::string>{Url("/root.crt")});
  EXPECT_TRUE(urls->ocsp.empty());
  auto none = GetCertificateUrls(root_);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->crl_distribution_points.empty());
}

TEST_F(CertificatesTest, GarbageIsAnError) {
  auto urls = GetCertificateUrls({0x30, 0x03, 0x02, 0x01});
  ASSERT_FALSE(urls.ok());
  EXPECT_NE(urls.status().message().find("CertCreateCertificateContext"), std::string::npos);
}

TEST_F(CertificatesTest, RetrievesUrlLikeCapi2) {
  auto blobs = RetrieveUrl(Url("/root.crl"), milliseconds(10000));
  ASSERT_TRUE(blobs.ok()) << blobs.status().message();
  ASSERT_EQ(blobs->size(), 1u);
  EXPECT_EQ((*blobs)[0], testing::ReadBinaryFile(testing::HttpFixtureDir() + "\\www\\root.crl"));
}

TEST_F(CertificatesTest, RetrievalFailuresCarryTheHresult) {
  auto missing = RetrieveUrl(Url("/absent.crl"), milliseconds(10000));
  if (testing::RunningUnderWine()) {
    // wine's cryptnet hands back the body of an HTTP 404 as the object.
    if (missing.ok()) {
      ASSERT_EQ(missing->size(), 1u);
      EXPECT_NE((*missing)[0], testing::ReadBinaryFile(testing::HttpFixtureDir() + "\\www\\root.crl"));
    }
  } else {
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().hresult(), 0u);
    EXPECT_NE(missing.status().message().find("CryptRetrieveObjectByUrlW(" + Url("/absent.crl") + ")"),
              std::string::npos)
        << missing.status().message();
  }
  // Port 1 on loopback: nothing listens.
  auto refused = RetrieveUrl("http://127.0.0.1:1/x.crl", milliseconds(5000));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().hresult(), 0u);
  EXPECT_EQ(refused.status().message().rfind("CryptRetrieveObjectByUrlW(http://127.0.0.1:1/x.crl): ", 0),
            0u)
      << refused.status().message();
}

// Chain engines read the root store once per process (wine, and Windows
// caches too), so "untrusted" and "trusted" are separate tests: ctest runs
// each test case in its own process.
TEST_F(CertificatesTest, ChainWithoutTrustedRoot) {
  ChainOptions options;
  options.machine_engine = false;
  options.url_timeout = milliseconds(10000);
  auto untrusted = VerifyChain(good_, options);
  ASSERT_TRUE(untrusted.ok()) << untrusted.status().message();
  EXPECT_EQ(untrusted->policy_status, kCertEUntrustedRoot);
  EXPECT_NE(untrusted->error_status, 0u);
}

TEST_F(CertificatesTest, ChainTrustAndRevocation) {
  const Status added = testing::AddCertificateToStore(StoreLocation::kCurrentUser, "Root", root_, false);
  ASSERT_TRUE(added.ok()) << added.message();
  auto root = EnumerateSystemStore(StoreLocation::kCurrentUser, "Root");
  ASSERT_TRUE(root.ok()) << root.status().message();
  for (const StoreCertificate& c : *root) {
    if (c.der == root_) root_thumbprint_ = c.thumbprint;
  }
  ASSERT_FALSE(root_thumbprint_.empty());

  ChainOptions options;
  options.machine_engine = false;
  options.url_timeout = milliseconds(10000);
  auto good = VerifyChain(good_, options);
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->policy_status, 0u) << DescribeError(good->policy_status);
  EXPECT_EQ(good->revocation_error, 0u) << DescribeError(good->revocation_error);
  ASSERT_EQ(good->elements.size(), 2u);
  EXPECT_NE(good->elements[0].subject.find("pkiwatch-good.test"), std::string::npos);

  // The served CRL revokes this one. The trust bit is set on Windows and
  // under wine; the HRESULTs only on Windows (wine's base policy does not map
  // revocation and its chains carry no per-element revocation info).
  auto revoked = VerifyChain(revoked_, options);
  ASSERT_TRUE(revoked.ok()) << revoked.status().message();
  EXPECT_NE(revoked->error_status & kCertTrustIsRevoked, 0u) << revoked->error_status;
  ASSERT_FALSE(revoked->elements.empty());
  EXPECT_NE(revoked->elements[0].error_status & kCertTrustIsRevoked, 0u);
  if (!testing::RunningUnderWine()) {
    EXPECT_EQ(revoked->policy_status, kCryptERevoked) << DescribeError(revoked->policy_status);
    EXPECT_EQ(revoked->revocation_error, kCryptERevoked) << DescribeError(revoked->revocation_error);
    EXPECT_EQ(good->elements[0].revocation_result, std::optional<uint32_t>(0));
  }
}

}  // namespace
}  // namespace pkiwatch::win
