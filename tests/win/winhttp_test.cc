#include "agent/win/winhttp_client.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

class WinHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::HttpFixturePort();
    if (!port_) GTEST_SKIP() << "http fixture not running (no port file in " << testing::HttpFixtureDir() << ")";
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(*port_) + path;
  }
  std::optional<uint16_t> port_;
};

TEST_F(WinHttpTest, GetsABody) {
  HttpGetOptions options;
  options.use_default_proxy = false;
  auto response = HttpGet(Url("/hello.txt"), options);
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status_code, 200u);
  EXPECT_EQ(std::string(response->body.begin(), response->body.end()),
            "hello from the pkiwatch wine tests\n");
  EXPECT_EQ(response->content_type.rfind("text/plain", 0), 0u) << response->content_type;
}

TEST_F(WinHttpTest, HttpErrorStatusIsAResponse) {
  auto response = HttpGet(Url("/absent"), HttpGetOptions{});
  ASSERT_TRUE(response.ok()) << response.status().message();
  EXPECT_EQ(response->status_code, 404u);
}

TEST_F(WinHttpTest, BodyLimit) {
  HttpGetOptions options;
  options.max_body_bytes = 4;
  auto response = HttpGet(Url("/hello.txt"), options);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("body larger than 4 bytes"), std::string::npos);
}

TEST(WinHttpErrorsTest, RefusedConnectionCarriesWinHttpCode) {
  HttpGetOptions options;
  options.use_default_proxy = false;
  auto response = HttpGet("http://127.0.0.1:1/", options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().hresult(), 0x80072EFDu) << response.status().message();  // CANNOT_CONNECT
  EXPECT_NE(response.status().message().find("ERROR_WINHTTP_CANNOT_CONNECT"), std::string::npos);
}

TEST(WinHttpErrorsTest, RejectsOtherSchemes) {
  auto response = HttpGet("ldap://dc.corp.example/", HttpGetOptions{});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
}

TEST(WinHttpProxyTest, ReadsProxyConfiguration) {
  auto winhttp = GetWinHttpDefaultProxy();
  ASSERT_TRUE(winhttp.ok()) << winhttp.status().message();
  EXPECT_NE(winhttp->access_type, 0u);
  auto ie = GetIeProxyConfigForCurrentUser();
  // Not every account has IE settings (ERROR_FILE_NOT_FOUND); anything else
  // must be a clean error.
  if (!ie.ok()) {
    EXPECT_NE(ie.status().message().find("WinHttpGetIEProxyConfigForCurrentUser"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace pkiwatch::win
