#include "agent/win/status.h"

#include <string>

#include "agent/win/win32.h"
#include "gtest/gtest.h"

namespace pkiwatch::win {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.hresult(), 0u);
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_EQ(status.ToString(), "OK");
}

TEST(StatusTest, Win32CodesBecomeHresults) {
  const Status status = Status::Error(ERROR_ACCESS_DENIED, "x");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.hresult(), 0x80070005u);
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
}

TEST(StatusTest, ZeroErrorIsStillAnError) {
  const Status status = Status::Error(0, "nothing set");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.hresult(), 0x80004005u);  // E_FAIL
}

TEST(StatusTest, ApiErrorNamesApiObjectCodeAndMeaning) {
  const Status status =
      ApiError("RegOpenKeyExW", "HKLM\\Software\\Policies\\pkiwatch\\Agent", ERROR_ACCESS_DENIED);
  // The text after the name is the catalogue's (winerror.h / Wine wording).
  EXPECT_EQ(status.message(), "RegOpenKeyExW(HKLM\\Software\\Policies\\pkiwatch\\Agent): " +
                                  DescribeError(0x80070005u));
  EXPECT_EQ(DescribeError(0x80070005u).rfind("0x80070005 E_ACCESSDENIED Access", 0), 0u);
}

TEST(StatusTest, DescribeErrorUsesTheCatalogue) {
  EXPECT_EQ(DescribeError(0x80092013u).rfind("0x80092013 CRYPT_E_REVOCATION_OFFLINE The "
                                             "revocation function was unable to check",
                                             0),
            0u);
  EXPECT_EQ(ErrorName(0x800706BAu), "RPC_S_SERVER_UNAVAILABLE");
  EXPECT_EQ(ErrorName(1722), "RPC_S_SERVER_UNAVAILABLE");  // raw Win32 code
  EXPECT_EQ(ErrorName(0x12345678u), "");
  EXPECT_EQ(DescribeError(0x12345678u).substr(0, 10), "0x12345678");
}

TEST(StatusTest, LastErrorWithoutCodeSaysNotImplemented) {
  SetLastError(0);
  const Status status = LastError("EvtSubscribe", "Application");
  EXPECT_EQ(status.hresult(), 0x80004001u);  // E_NOTIMPL
  EXPECT_EQ(status.code(), StatusCode::kUnimplemented);
  EXPECT_NE(status.message().find("EvtSubscribe(Application): failed without an error code"),
            std::string::npos)
      << status.message();
}

TEST(StatusTest, LastErrorUsesGetLastError) {
  SetLastError(ERROR_FILE_NOT_FOUND);
  const Status status = LastError("CreateFileW", "C:\\nothing");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("0x80070002 ERROR_FILE_NOT_FOUND"), std::string::npos);
}

TEST(StatusTest, CanonicalCodes) {
  EXPECT_EQ(CanonicalCode(0x80072EE2u), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CanonicalCode(0x80090029u), StatusCode::kUnimplemented);
  EXPECT_EQ(CanonicalCode(0x800706BAu), StatusCode::kUnavailable);
  EXPECT_EQ(CanonicalCode(0x80070057u), StatusCode::kInvalidArgument);
  EXPECT_EQ(CanonicalCode(0x80094012u), StatusCode::kUnknown);
}

TEST(StatusOrTest, ValueAndError) {
  StatusOr<int> value = 42;
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 42);
  StatusOr<int> error = ApiError("X", "", ERROR_INVALID_PARAMETER);
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), StatusCode::kInvalidArgument);
  StatusOr<int> from_ok = Status();  // a programming error, reported as one
  EXPECT_FALSE(from_ok.ok());
}

}  // namespace
}  // namespace pkiwatch::win
