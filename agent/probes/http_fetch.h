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

// Proxies: with HttpOptions.proxy empty and no_proxy false, libcurl takes the
// proxy from the environment: http_proxy (lower case only, as libcurl
// ignores HTTP_PROXY for CGI safety), https_proxy / HTTPS_PROXY, all_proxy /
// ALL_PROXY, and skips hosts listed in no_proxy / NO_PROXY.

// True for curl failures of the agent itself (init, out of memory, bad
// option, feature not built in): they say nothing about the target.
bool IsLocalCurlFailure(int curl_code);

// The HRESULT a Windows client reports for a transfer that failed like
// `curl_code` (CertEnroll event 86 and CES show WinHTTP codes, e.g.
// 0x80072f8f ERROR_WINHTTP_SECURE_FAILURE): name resolution ->
// ERROR_WINHTTP_NAME_NOT_RESOLVED, refused/unreachable ->
// ERROR_WINHTTP_CANNOT_CONNECT, timeout -> ERROR_WINHTTP_TIMEOUT, TLS ->
// ERROR_WINHTTP_SECURE_FAILURE, malformed or oversized answer ->
// ERROR_WINHTTP_INVALID_SERVER_RESPONSE, broken connection ->
// ERROR_WINHTTP_CONNECTION_ERROR, redirects -> ERROR_WINHTTP_REDIRECT_FAILED,
// bad URL -> ERROR_WINHTTP_INVALID_URL / _UNRECOGNIZED_SCHEME; local failures
// -> E_OUTOFMEMORY / E_FAIL; anything else E_FAIL. 0 for CURLE_OK.
uint32_t WinHttpHresultForCurl(int curl_code);

struct TcpConnectResult {
  int curl_code = 0;             // CURLcode; 0 when the connection was made
  std::string curl_error;
  std::string address;           // IP connected to (or last tried), may be empty
  long port = 0;
  absl::Duration name_lookup;    // start -> name resolved
  absl::Duration connect;        // start -> TCP connected
  absl::Duration latency;        // wall time of the whole call

  bool ok() const { return curl_code == 0; }
};

// Resolves `host` (name, IPv4 or IPv6 literal, without brackets) and opens a
// TCP connection to `port`, then closes it; no bytes are sent. Uses libcurl
// (threaded resolver), so name resolution and connect together are bounded
// by options.connect_timeout. Never uses a proxy. DNS failure ->
// CURLE_COULDNT_RESOLVE_HOST, refused -> CURLE_COULDNT_CONNECT, timeout ->
// CURLE_OPERATION_TIMEDOUT; a host with characters outside a host name ->
// CURLE_URL_MALFORMAT. Thread-safe.
TcpConnectResult TcpConnect(std::string_view host, uint16_t port, const HttpOptions& options);

}  // namespace pkiwatch
