#include <string>
#include <utility>

#include "absl/status/status.h"
#include "collector/http/http_api.h"
#include "gtest/gtest.h"

namespace pkiwatch::http {
namespace {

void ExpectSplit(const std::string& listen, const std::string& host, int port) {
  SCOPED_TRACE(listen);
  absl::StatusOr<std::pair<std::string, int>> split = SplitHostPort(listen);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->first, host);
  EXPECT_EQ(split->second, port);
}

void ExpectRejected(const std::string& listen) {
  SCOPED_TRACE(listen);
  absl::StatusOr<std::pair<std::string, int>> split = SplitHostPort(listen);
  ASSERT_FALSE(split.ok()) << "parsed as " << split->first << " port "
                           << split->second;
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument);
  // The message quotes the offending input.
  EXPECT_NE(split.status().message().find("'" + listen + "'"),
            absl::string_view::npos)
      << split.status();
}

TEST(SplitHostPortTest, HostAndPort) {
  ExpectSplit("127.0.0.1:8080", "127.0.0.1", 8080);
  ExpectSplit("localhost:80", "localhost", 80);
  ExpectSplit("collector.example.com:65535", "collector.example.com", 65535);
  ExpectSplit("0.0.0.0:1", "0.0.0.0", 1);
}

TEST(SplitHostPortTest, BracketedIpv6) {
  ExpectSplit("[::1]:80", "::1", 80);
  ExpectSplit("[::]:8080", "::", 8080);
  ExpectSplit("[fe80::1%eth0]:443", "fe80::1%eth0", 443);
}

TEST(SplitHostPortTest, PortZeroPicksAPort) {
  ExpectSplit("127.0.0.1:0", "127.0.0.1", 0);
  ExpectSplit("[::1]:0", "::1", 0);
}

TEST(SplitHostPortTest, MissingPortIsRejected) {
  ExpectRejected("127.0.0.1");
  ExpectRejected("localhost");
  ExpectRejected("127.0.0.1:");
  ExpectRejected("[::1]");
  ExpectRejected("[::1]:");
  ExpectRejected("");
}

TEST(SplitHostPortTest, BadPortIsRejected) {
  ExpectRejected("127.0.0.1:http");
  ExpectRejected("127.0.0.1:80x");
  ExpectRejected("127.0.0.1:-1");
  ExpectRejected("127.0.0.1:65536");
  ExpectRejected("[::1]:65536");
  ExpectRejected("127.0.0.1:99999999999999999999");
}

TEST(SplitHostPortTest, EmptyHostIsRejected) {
  ExpectRejected(":8080");
  ExpectRejected("[]:8080");
}

TEST(SplitHostPortTest, UnbracketedIpv6IsRejected) {
  // Without brackets the port cannot be told apart from the address: "::1"
  // must not become host "::" port 1.
  ExpectRejected("::1");
  ExpectRejected("::1:80");
  ExpectRejected("fe80::1:443");
}

TEST(SplitHostPortTest, MalformedBracketsAreRejected) {
  ExpectRejected("[::1:80");
  ExpectRejected("[::1]x:80");
  ExpectRejected("[::1]:80]");
}

}  // namespace
}  // namespace pkiwatch::http
