// A small libcurl HTTP client for the portable probes (CRL, OCSP, AIA, NDES).
//
// Probes need the raw facts of a transfer (curl code and text, HTTP status,
// where it ended up, how long it took) rather than a pass/fail Status, so the
// functions here return an HttpResult for every outcome and never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "pkiwatch/v1/config.pb.h"

namespace pkiwatch {

struct HttpOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  // Whole transfer including connect and redirects. Values <= 0 are treated
  // as 1 ms: libcurl reads 0 as "no timeout", which a probe must never have.
  absl::Duration total_timeout = absl::Seconds(20);
  // Explicit proxy URL. Empty: the environment decides (libcurl honours
  // http_proxy, https_proxy, all_proxy and no_proxy).
  std::string proxy;
  // Ignore any proxy, also one from the environment. Wins over `proxy`.
  bool no_proxy = false;
  // A larger body aborts the transfer (CURLE_FILESIZE_EXCEEDED when the
  // server announces the length, CURLE_WRITE_ERROR otherwise).
  uint64_t max_body_bytes = 64 << 20;
  // 0 or less: redirects are not followed and the 3xx response is returned.
  int max_redirects = 5;
};

struct HttpResult {
  int curl_code = 0;           // CURLcode; 0 (CURLE_OK) when a response came
  std::string curl_error;      // CURLOPT_ERRORBUFFER text (or ours); empty on success
  long http_status = 0;        // 0 when no response was received
  std::string content_type;    // as sent by the server, may be empty
  std::string body;            // at most max_body_bytes bytes
  std::string effective_url;   // last URL after redirects
  int redirect_count = 0;
  std::string primary_ip;      // address of the last connection, may be empty
  absl::Duration latency;      // wall time of the whole call
  bool body_truncated = false; // the body limit was hit; body is incomplete

  // A response was received and its status is 2xx.
  bool ok() const {
    return curl_code == 0 && http_status >= 200 && http_status < 300;
  }
};

// Options from the agent configuration; zero fields keep the defaults above
// (5 s connect, 20 s total, 64 MiB body).
HttpOptions HttpOptionsFromSettings(const v1::HttpSettings& settings);

// GET `url` (http or https only, also across redirects). Blocks for at most
// about options.total_timeout. Transport failures are reported in curl_code /
// curl_error, HTTP errors in http_status; nothing throws. Thread-safe: each
// call uses its own CURL handle, and libcurl is initialized once per process.
// Sends the User-Agent "pkiwatch-agent/<version>".
HttpResult HttpGet(std::string_view url, const HttpOptions& options);

// POST `body` with the given Content-Type (e.g. "application/ocsp-request").
// Same contract as HttpGet.
HttpResult HttpPost(std::string_view url, std::string_view content_type,
                    std::string_view body, const HttpOptions& options);

// The User-Agent value sent by HttpGet/HttpPost.
std::string_view HttpUserAgent();

}  // namespace pkiwatch
