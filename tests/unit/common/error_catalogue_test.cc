#include "common/error_catalogue.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace pkiwatch {
namespace {

static_assert(HresultFromWin32(0) == 0);
static_assert(HresultFromWin32(5) == 0x80070005u);
static_assert(HresultFromWin32(1722) == 0x800706BAu);
static_assert(HresultFromWin32(0x80092013u) == 0x80092013u);

struct NamedCode {
  uint32_t code;
  const char* name;
};

// Every constant in namespace hr, proven against winerror.h (via the
// generated catalogue) by its symbolic name.
constexpr NamedCode kProductCodes[] = {
    {hr::kSOk, "S_OK"},
    {hr::kEFail, "E_FAIL"},
    {hr::kEInvalidArg, "E_INVALIDARG"},
    {hr::kEAccessDenied, "E_ACCESSDENIED"},
    {hr::kEOutOfMemory, "E_OUTOFMEMORY"},
    {hr::kENotImpl, "E_NOTIMPL"},
    {hr::kEUnexpected, "E_UNEXPECTED"},
    {hr::kErrorFileNotFound, "ERROR_FILE_NOT_FOUND"},
    {hr::kErrorTimeout, "ERROR_TIMEOUT"},
    {hr::kErrorNoSuchDomain, "ERROR_NO_SUCH_DOMAIN"},
    {hr::kRpcSServerUnavailable, "RPC_S_SERVER_UNAVAILABLE"},
    {hr::kCryptERevoked, "CRYPT_E_REVOKED"},
    {hr::kCryptENoRevocationCheck, "CRYPT_E_NO_REVOCATION_CHECK"},
    {hr::kCryptERevocationOffline, "CRYPT_E_REVOCATION_OFFLINE"},
    {hr::kCryptENotFound, "CRYPT_E_NOT_FOUND"},
    {hr::kCryptEAsn1Error, "CRYPT_E_ASN1_ERROR"},
    {hr::kCryptEAsn1BadTag, "CRYPT_E_ASN1_BADTAG"},
    {hr::kCertEExpired, "CERT_E_EXPIRED"},
    {hr::kCertEUntrustedRoot, "CERT_E_UNTRUSTEDROOT"},
    {hr::kCertEChaining, "CERT_E_CHAINING"},
    {hr::kCertERevocationFailure, "CERT_E_REVOCATION_FAILURE"},
    {hr::kCertEIssuerChaining, "CERT_E_ISSUERCHAINING"},
    {hr::kCertEWrongUsage, "CERT_E_WRONG_USAGE"},
    {hr::kCertECritical, "CERT_E_CRITICAL"},
    {hr::kCertECnNoMatch, "CERT_E_CN_NO_MATCH"},
    {hr::kNteBadSignature, "NTE_BAD_SIGNATURE"},
    {hr::kNteBadKey, "NTE_BAD_KEY"},
    {hr::kNteFail, "NTE_FAIL"},
    {hr::kNteDeviceNotReady, "NTE_DEVICE_NOT_READY"},
    {hr::kNteNotSupported, "NTE_NOT_SUPPORTED"},
    {hr::kCertsrvETemplateDenied, "CERTSRV_E_TEMPLATE_DENIED"},
    {hr::kCertsrvEUnsupportedCertType, "CERTSRV_E_UNSUPPORTED_CERT_TYPE"},
    {hr::kCertsrvEKeyLength, "CERTSRV_E_KEY_LENGTH"},
    {hr::kErrorWinhttpTimeout, "ERROR_WINHTTP_TIMEOUT"},
    {hr::kErrorWinhttpNameNotResolved, "ERROR_WINHTTP_NAME_NOT_RESOLVED"},
    {hr::kErrorWinhttpCannotConnect, "ERROR_WINHTTP_CANNOT_CONNECT"},
    {hr::kErrorWinhttpConnectionError, "ERROR_WINHTTP_CONNECTION_ERROR"},
    {hr::kErrorWinhttpInvalidServerResponse,
     "ERROR_WINHTTP_INVALID_SERVER_RESPONSE"},
    {hr::kErrorWinhttpSecureFailure, "ERROR_WINHTTP_SECURE_FAILURE"},
};

TEST(ErrorCatalogueTest, EveryProductConstantMatchesWinerrorByName) {
  for (const NamedCode& c : kProductCodes) {
    SCOPED_TRACE(c.name);
    std::optional<ErrorEntry> e = LookupErrorByName(c.name);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, c.code) << std::hex << e->code << " vs " << c.code;
    EXPECT_EQ(e->name, c.name);
    // And back: the code is known (maybe under a more canonical name).
    EXPECT_TRUE(LookupError(c.code).has_value());
  }
}

TEST(ErrorCatalogueTest, RevocationOfflineHasNameAndWindowsText) {
  std::optional<ErrorEntry> e = LookupError(0x80092013u);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 0x80092013u);
  EXPECT_EQ(e->name, "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_EQ(e->message,
            "The revocation function was unable to check revocation because "
            "the revocation server was offline.");
}

TEST(ErrorCatalogueTest, FormatErrorNamesCodeNameAndText) {
  EXPECT_EQ(FormatError(hr::kCryptERevocationOffline),
            "0x80092013 CRYPT_E_REVOCATION_OFFLINE The revocation function "
            "was unable to check revocation because the revocation server was "
            "offline.");
  // A code without a known text: name only.
  std::optional<ErrorEntry> no_text = LookupError(hr::kNteDeviceNotReady);
  ASSERT_TRUE(no_text.has_value());
  if (no_text->message.empty()) {
    EXPECT_EQ(FormatError(hr::kNteDeviceNotReady),
              "0x80090030 NTE_DEVICE_NOT_READY");
  }
  // Unknown code: just the number.
  ASSERT_FALSE(LookupError(0xDEADBEEFu).has_value());
  EXPECT_EQ(FormatError(0xDEADBEEFu), "0xDEADBEEF");
}

TEST(ErrorCatalogueTest, RawWin32CodesAreLookedUpAsHresult) {
  std::optional<ErrorEntry> rpc = LookupError(1722);
  ASSERT_TRUE(rpc.has_value());
  EXPECT_EQ(rpc->code, 0x800706BAu);
  EXPECT_EQ(rpc->name, "RPC_S_SERVER_UNAVAILABLE");
  EXPECT_EQ(rpc->message, "The RPC server is unavailable.");
  EXPECT_EQ(FormatError(1722), FormatError(0x800706BAu));

  std::optional<ErrorEntry> winhttp = LookupError(12175);
  ASSERT_TRUE(winhttp.has_value());
  EXPECT_EQ(winhttp->code, 0x80072F8Fu);
  EXPECT_EQ(winhttp->name, "ERROR_WINHTTP_SECURE_FAILURE");
}

TEST(ErrorCatalogueTest, SharedCodesKeepTheHresultNameAndFindAliases) {
  // 0x80070005 is both E_ACCESSDENIED and HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED).
  std::optional<ErrorEntry> by_code = LookupError(5);
  ASSERT_TRUE(by_code.has_value());
  EXPECT_EQ(by_code->code, 0x80070005u);
  EXPECT_EQ(by_code->name, "E_ACCESSDENIED");

  std::optional<ErrorEntry> alias = LookupErrorByName("ERROR_ACCESS_DENIED");
  ASSERT_TRUE(alias.has_value());
  EXPECT_EQ(alias->code, 0x80070005u);
  EXPECT_EQ(alias->name, "ERROR_ACCESS_DENIED");
  EXPECT_EQ(alias->message, by_code->message);

  std::optional<ErrorEntry> invalid_arg = LookupError(87);
  ASSERT_TRUE(invalid_arg.has_value());
  EXPECT_EQ(invalid_arg->name, "E_INVALIDARG");

  std::optional<ErrorEntry> ok = LookupError(0);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->name, "S_OK");
}

TEST(ErrorCatalogueTest, UnknownInputsAreNotFound) {
  EXPECT_FALSE(LookupErrorByName("").has_value());
  EXPECT_FALSE(LookupErrorByName("NOT_AN_ERROR_NAME").has_value());
  EXPECT_FALSE(LookupErrorByName("crypt_e_revoked").has_value());  // exact case
  EXPECT_FALSE(LookupError(0xDEADBEEFu).has_value());
}

TEST(ErrorCatalogueTest, MakeErrorInfoFillsFromCatalogue) {
  v1::ErrorInfo info =
      MakeErrorInfo(hr::kCertsrvETemplateDenied, "CA event 53, request 168");
  EXPECT_EQ(info.hresult(), 0x80094012u);
  EXPECT_EQ(info.symbolic_name(), "CERTSRV_E_TEMPLATE_DENIED");
  EXPECT_EQ(info.message(),
            "The permissions on the certificate template do not allow the "
            "current user to enroll for this type of certificate.");
  EXPECT_EQ(info.native_detail(), "CA event 53, request 168");

  v1::ErrorInfo win32 = MakeErrorInfo(1722, "");
  EXPECT_EQ(win32.hresult(), 0x800706BAu);
  EXPECT_EQ(win32.symbolic_name(), "RPC_S_SERVER_UNAVAILABLE");

  v1::ErrorInfo unknown = MakeErrorInfo(0xDEADBEEFu, "curl: 7");
  EXPECT_EQ(unknown.hresult(), 0xDEADBEEFu);
  EXPECT_EQ(unknown.symbolic_name(), "");
  EXPECT_EQ(unknown.message(), "");
  EXPECT_EQ(unknown.native_detail(), "curl: 7");
}

// The texts in the catalogue must be the ones Windows wrote into the real
// CAPI2 events of the fixtures: <Result value="80092013">text</Result>.
TEST(ErrorCatalogueTest, TextsMatchRealCapi2EventFixtures) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(PKIWATCH_FIXTURES_DIR) / "events";
  if (!fs::is_directory(dir)) {
    GTEST_SKIP() << "fixtures directory missing: " << dir;
  }
  const std::regex result_re(
      R"re(value="([0-9A-Fa-f]{8})">([^<]+)<)re");
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".xml") {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    for (std::sregex_iterator it(text.begin(), text.end(), result_re), end;
         it != end; ++it) {
      uint32_t code = static_cast<uint32_t>(std::stoul((*it)[1].str(), nullptr, 16));
      SCOPED_TRACE(entry.path().filename().string() + " " + (*it)[1].str());
      std::optional<ErrorEntry> e = LookupError(code);
      ASSERT_TRUE(e.has_value());
      EXPECT_EQ(e->message, (*it)[2].str());
      ++checked;
    }
  }
  EXPECT_GE(checked, 4);
}

// The checked-in .inc must be what the generator makes from its sources
// (guards against hand edits). Runs only where mingw-w64's winerror.h, the
// Wine source and python3 are present; the build itself needs none of them.
TEST(ErrorCatalogueTest, CheckedInDataMatchesGenerator) {
  namespace fs = std::filesystem;
  const fs::path src(PKIWATCH_SOURCE_DIR);
  const fs::path winerror("/usr/x86_64-w64-mingw32/include/winerror.h");
  const fs::path wine_mc("/tmp/winesrc/wine-8.0/dlls/kernelbase/winerror.mc");
  if (!fs::exists(winerror) || !fs::exists(wine_mc) ||
      std::system("python3 --version > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "generator sources missing: " << winerror << ", " << wine_mc
                 << " or python3";
  }
  const fs::path out = fs::path(PKIWATCH_BINARY_DIR) / "error_catalogue_check.inc";
  const std::string cmd = "python3 '" +
                          (src / "common/tools/gen_error_catalogue.py").string() +
                          "' --out '" + out.string() + "' 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
  };
  EXPECT_TRUE(slurp(out) == slurp(src / "common/error_catalogue_data.inc"))
      << "common/error_catalogue_data.inc is stale: rerun "
         "common/tools/gen_error_catalogue.py";
  fs::remove(out);
}

}  // namespace
}  // namespace pkiwatch
