#include "agent/probes/http_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/probes/test_http_server.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::TestHttpServer;

// A port on 127.0.0.1 that nothing listens on: bound once to get a free
// number, then closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class HttpFetchTest : public ::testing::Test {
 protected:
  static constexpr size_t kChunk = 4 * 1024;
  static constexpr size_t kBigBody = 25 * kChunk;  // a whole number of chunks

  void SetUp() override {
    httplib::Server& s = server_.server();
    s.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello", "application/pkix-crl");
    });
    s.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("<html>not found</html>", "text/html");
    });
    s.Get("/broken", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content("oops", "text/plain");
    });
    // /r/3 -> /r/2 -> /r/1 -> /r/0 (200).
    s.Get(R"(/r/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      int n = 0;
      if (!absl::SimpleAtoi(req.matches[1].str(), &n) || n <= 0) {
        res.set_content("final", "text/plain");
        return;
      }
      res.set_redirect(absl::StrCat("/r/", n - 1), 302);
    });
    s.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file:///etc/hostname", 302);
    });
    // Sleeps until released by TearDown, at most 5 s, so the server can
    // always be stopped.
    s.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(slow_mu_);
      slow_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return slow_released_; });
      res.set_content("late", "text/plain");
    });
    s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(kBigBody, 'x'), "application/octet-stream");
    });
    // No Content-Length: only the write callback can enforce the limit.
    s.Get("/big-chunked", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider(
          "application/octet-stream", [](size_t offset, httplib::DataSink& sink) {
            if (offset >= kBigBody) {
              sink.done();
              return true;
            }
            const std::string chunk(kChunk, 'y');
            return sink.write(chunk.data(), chunk.size());
          });
    });
    s.Get("/ua", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("User-Agent"), "text/plain");
    });
    s.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(absl::StrCat(req.get_header_value("Content-Type"), "|", req.body),
                      "text/plain");
    });
    ASSERT_TRUE(server_.Start()) << "cannot start the test HTTP server on 127.0.0.1";

    // The loopback server must never be reached through a proxy from the
    // environment.
    options_.no_proxy = true;
    options_.connect_timeout = absl::Seconds(5);
    options_.total_timeout = absl::Seconds(10);
  }

  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(slow_mu_);
      slow_released_ = true;
    }
    slow_cv_.notify_all();
    server_.Stop();
  }

  TestHttpServer server_;
  HttpOptions options_;
  std::mutex slow_mu_;
  std::condition_variable slow_cv_;
  bool slow_released_ = false;
};

TEST_F(HttpFetchTest, GetOk) {
  const HttpResult r = HttpGet(server_.Url("/ok"), options_);
  EXPECT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_TRUE(r.curl_error.empty());
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.content_type, "application/pkix-crl");
  EXPECT_EQ(r.effective_url, server_.Url("/ok"));
  EXPECT_EQ(r.redirect_count, 0);
  EXPECT_EQ(r.primary_ip, "127.0.0.1");
  EXPECT_FALSE(r.body_truncated);
  EXPECT_GE(r.latency, absl::ZeroDuration());
}

TEST_F(HttpFetchTest, NotFoundIsAResponseNotATransportError) {
  const HttpResult r = HttpGet(server_.Url("/missing"), options_);
  EXPECT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.http_status, 404);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.content_type, "text/html");
  EXPECT_EQ(r.body, "<html>not found</html>");
}

TEST_F(HttpFetchTest, ServerError) {
  const HttpResult r = HttpGet(server_.Url("/broken"), options_);
  EXPECT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.http_status, 500);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.body, "oops");
}

TEST_F(HttpFetchTest, FollowsRedirectChain) {
  const HttpResult r = HttpGet(server_.Url("/r/3"), options_);
  EXPECT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body, "final");
  EXPECT_EQ(r.redirect_count, 3);
  EXPECT_EQ(r.effective_url, server_.Url("/r/0"));
}

TEST_F(HttpFetchTest, TooManyRedirects) {
  options_.max_redirects = 2;
  const HttpResult r = HttpGet(server_.Url("/r/3"), options_);
  EXPECT_EQ(r.curl_code, CURLE_TOO_MANY_REDIRECTS);
  EXPECT_FALSE(r.curl_error.empty());
  EXPECT_FALSE(r.ok());
}

TEST_F(HttpFetchTest, RedirectsNotFollowedWhenDisabled) {
  options_.max_redirects = 0;
  const HttpResult r = HttpGet(server_.Url("/r/1"), options_);
  EXPECT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.http_status, 302);
  EXPECT_EQ(r.redirect_count, 0);
}

TEST_F(HttpFetchTest, RefusesRedirectToNonHttpScheme) {
  const HttpResult r = HttpGet(server_.Url("/to-file"), options_);
  EXPECT_NE(r.curl_code, CURLE_OK);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(r.curl_error.empty());
}

TEST_F(HttpFetchTest, TimeoutOnSlowHandler) {
  options_.total_timeout = absl::Milliseconds(300);
  const HttpResult r = HttpGet(server_.Url("/slow"), options_);
  EXPECT_EQ(r.curl_code, CURLE_OPERATION_TIMEDOUT) << r.curl_error;
  EXPECT_FALSE(r.curl_error.empty());
  EXPECT_FALSE(r.ok());
}

TEST_F(HttpFetchTest, OversizedBodyWithContentLengthIsRefused) {
  options_.max_body_bytes = 1000;
  const HttpResult r = HttpGet(server_.Url("/big"), options_);
  EXPECT_EQ(r.curl_code, CURLE_FILESIZE_EXCEEDED) << r.curl_error;
  EXPECT_TRUE(r.body_truncated);
  EXPECT_LE(r.body.size(), 1000u);
  EXPECT_TRUE(absl::StrContains(r.curl_error, "max_body_bytes")) << r.curl_error;
  EXPECT_FALSE(r.ok());
}

TEST_F(HttpFetchTest, OversizedChunkedBodyIsAborted) {
  options_.max_body_bytes = 1000;
  const HttpResult r = HttpGet(server_.Url("/big-chunked"), options_);
  EXPECT_EQ(r.curl_code, CURLE_WRITE_ERROR) << r.curl_error;
  EXPECT_TRUE(r.body_truncated);
  EXPECT_EQ(r.body.size(), 1000u);
  EXPECT_TRUE(absl::StrContains(r.curl_error, "max_body_bytes")) << r.curl_error;
}

TEST_F(HttpFetchTest, BodyAtTheLimitIsComplete) {
  options_.max_body_bytes = kBigBody;
  const HttpResult r = HttpGet(server_.Url("/big-chunked"), options_);
  EXPECT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_FALSE(r.body_truncated);
  EXPECT_EQ(r.body.size(), kBigBody);
}

TEST_F(HttpFetchTest, ConnectionRefused) {
  const int port = ClosedPort();
  ASSERT_GT(port, 0);
  const HttpResult r = HttpGet(absl::StrCat("http://127.0.0.1:", port, "/x.crl"), options_);
  EXPECT_EQ(r.curl_code, CURLE_COULDNT_CONNECT) << r.curl_error;
  EXPECT_FALSE(r.curl_error.empty());
  EXPECT_EQ(r.http_status, 0);
  EXPECT_FALSE(r.ok());
}

TEST_F(HttpFetchTest, SendsUserAgent) {
  const HttpResult r = HttpGet(server_.Url("/ua"), options_);
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.body, HttpUserAgent());
  EXPECT_TRUE(absl::StartsWith(r.body, "pkiwatch-agent/")) << r.body;
}

TEST_F(HttpFetchTest, PostSendsBodyAndContentType) {
  const std::string payload("\x30\x03\x02\x01\x00", 5);
  const HttpResult r =
      HttpPost(server_.Url("/echo"), "application/ocsp-request", payload, options_);
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body, absl::StrCat("application/ocsp-request|", payload));
}

TEST_F(HttpFetchTest, PostEmptyBody) {
  const HttpResult r = HttpPost(server_.Url("/echo"), "text/plain", "", options_);
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.body, "text/plain|");
}

TEST_F(HttpFetchTest, PostRejectsHeaderInjection) {
  const HttpResult r = HttpPost(server_.Url("/echo"), "text/plain\r\nX-Evil: 1", "a", options_);
  EXPECT_NE(r.curl_code, CURLE_OK);
  EXPECT_FALSE(r.curl_error.empty());
}

TEST_F(HttpFetchTest, MalformedUrlsAreErrorsNotCrashes) {
  for (const std::string_view url :
       {std::string_view("not a url"), std::string_view(""), std::string_view("http://"),
        std::string_view("ftp://127.0.0.1/x"), std::string_view("http://a\0b/", 11)}) {
    const HttpResult r = HttpGet(url, options_);
    EXPECT_NE(r.curl_code, CURLE_OK) << url;
    EXPECT_FALSE(r.curl_error.empty()) << url;
  }
}

TEST_F(HttpFetchTest, ConcurrentCallsFromSeveralThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        const HttpResult r = HttpGet(server_.Url("/r/1"), options_);
        if (r.ok() && r.body == "final") ++good;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * kPerThread);
}

TEST(HttpOptionsFromSettingsTest, ZeroKeepsDefaults) {
  const HttpOptions defaults;
  const HttpOptions o = HttpOptionsFromSettings(v1::HttpSettings());
  EXPECT_EQ(o.connect_timeout, defaults.connect_timeout);
  EXPECT_EQ(o.total_timeout, defaults.total_timeout);
  EXPECT_EQ(o.max_body_bytes, defaults.max_body_bytes);
  EXPECT_EQ(o.proxy, "");
  EXPECT_FALSE(o.no_proxy);
  EXPECT_EQ(o.max_redirects, defaults.max_redirects);
}

TEST(HttpOptionsFromSettingsTest, CopiesSetFields) {
  v1::HttpSettings s;
  s.set_connect_timeout_ms(250);
  s.set_total_timeout_ms(1500);
  s.set_proxy("http://proxy.corp.example:8080");
  s.set_no_proxy(true);
  s.set_max_body_bytes(4096);
  const HttpOptions o = HttpOptionsFromSettings(s);
  EXPECT_EQ(o.connect_timeout, absl::Milliseconds(250));
  EXPECT_EQ(o.total_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(o.proxy, "http://proxy.corp.example:8080");
  EXPECT_TRUE(o.no_proxy);
  EXPECT_EQ(o.max_body_bytes, 4096u);
}

}  // namespace
}  // namespace pkiwatch
