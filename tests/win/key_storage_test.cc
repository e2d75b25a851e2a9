#include "agent/win/key_storage.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

TEST(KeyStorageTest, SoftwareProviderCreatesEphemeralRsaKey) {
  const Status status = TestEphemeralKey(kSoftwareKeyStorageProvider, KeyCreationOptions{});
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(KeyStorageTest, SoftwareProviderCreatesEphemeralEcdsaKey) {
  KeyCreationOptions options;
  options.algorithm = "ECDSA_P256";
  options.key_bits = 0;
  const Status status = TestEphemeralKey(kSoftwareKeyStorageProvider, options);
  if (testing::RunningUnderWine()) {
    // wine 8's software KSP knows RSA only: a clean NTE_NOT_SUPPORTED.
    if (!status.ok()) {
      EXPECT_EQ(status.hresult(), 0x80090029u) << status.message();
      EXPECT_EQ(status.message().rfind("NCryptCreatePersistedKey(", 0), 0u) << status.message();
    }
    return;
  }
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(KeyStorageTest, UnknownAlgorithmNamesTheFailingStep) {
  KeyCreationOptions options;
  options.algorithm = "NO_SUCH_ALGORITHM";
  const Status status = TestEphemeralKey(kSoftwareKeyStorageProvider, options);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.hresult(), 0u);
  EXPECT_NE(status.message().find("Microsoft Software Key Storage Provider, NO_SUCH_ALGORITHM"),
            std::string::npos)
      << status.message();
}

TEST(KeyStorageTest, PlatformProviderGivesAResultNotACrash) {
  // With a TPM this succeeds; without one (or under wine) it fails with the
  // provider's HRESULT, e.g. NTE_DEVICE_NOT_READY.
  const Status status = TestEphemeralKey(kPlatformCryptoProvider, KeyCreationOptions{});
  if (!status.ok()) {
    EXPECT_NE(status.hresult(), 0u);
    EXPECT_EQ(status.message().rfind("NCrypt", 0), 0u) << status.message();
  }
}

}  // namespace
}  // namespace pkiwatch::win
