#include "agent/probes/http_fetch.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <memory>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/error_catalogue.h"

#ifndef PKIWATCH_VERSION
#define PKIWATCH_VERSION "0.0.0"
#endif

namespace pkiwatch {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

constexpr std::string_view kUserAgent = "pkiwatch-agent/" PKIWATCH_VERSION;

// curl_global_init is not thread-safe in libcurl before 7.84; a function-local
// static makes the first call happen exactly once. Never cleaned up: probes
// may run until the process exits.
CURLcode GlobalInit() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}

struct BodySink {
  std::string* body = nullptr;
  uint64_t max_bytes = 0;
  bool truncated = false;
  bool out_of_memory = false;
};

// Returning fewer bytes than offered makes libcurl abort with
// CURLE_WRITE_ERROR; that is how the body limit is enforced for bodies of
// unknown length (chunked, or a lying Content-Length). No exception may
// cross back into libcurl's C frames.
size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t n = size * nmemb;
  try {
    const uint64_t room = sink->max_bytes - std::min<uint64_t>(sink->max_bytes, sink->body->size());
    if (n > room) {
      sink->body->append(data, static_cast<size_t>(room));
      sink->truncated = true;
      return 0;
    }
    sink->body->append(data, n);
    return n;
  } catch (const std::bad_alloc&) {
    sink->out_of_memory = true;
    return 0;
  }
}

long ClampMillis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms < 1) return 1;
  if (ms > LONG_MAX) return LONG_MAX;
  return static_cast<long>(ms);
}

std::string CurlText(CURLcode code, const char* errbuf) {
  if (errbuf != nullptr && errbuf[0] != '\0') {
    std::string text(errbuf);
    // libcurl sometimes ends the buffer with a newline.
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    if (!text.empty()) return text;
  }
  return curl_easy_strerror(code);
}

struct Request {
  std::string_view url;
  bool post = false;
  std::string_view content_type;
  std::string_view body;
};

HttpResult Perform(const Request& req, const HttpOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  HttpResult result;
  auto finish = [&]() -> HttpResult {
    result.latency = absl::FromChrono(std::chrono::steady_clock::now() - start);
    return std::move(result);
  };
  auto fail = [&](CURLcode code, std::string text) -> HttpResult {
    result.curl_code = code;
    result.curl_error = std::move(text);
    return finish();
  };

  if (const CURLcode init = GlobalInit(); init != CURLE_OK) {
    return fail(init, absl::StrCat("curl_global_init: ", curl_easy_strerror(init)));
  }
  // libcurl reads the URL as a C string: an embedded NUL would silently
  // shorten it to a different URL.
  if (req.url.find('\0') != std::string_view::npos) {
    return fail(CURLE_URL_MALFORMAT, "URL contains a NUL byte");
  }
  CurlEasyPtr curl(curl_easy_init());
  if (curl == nullptr) {
    return fail(CURLE_FAILED_INIT, "curl_easy_init failed");
  }
  CURL* h = curl.get();

  char errbuf[CURL_ERROR_SIZE] = {};
  BodySink sink{&result.body, options.max_body_bytes};
  const std::string url(req.url);
  CurlSlistPtr headers;

  // Only a few options can fail (bad strings, out of memory, an option this
  // libcurl lacks); remember the first failure and report it.
  CURLcode setopt_code = CURLE_OK;
  const char* setopt_name = nullptr;
  auto check = [&](CURLcode c, const char* name) {
    if (c != CURLE_OK && setopt_code == CURLE_OK) {
      setopt_code = c;
      setopt_name = name;
    }
  };
  check(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf), "CURLOPT_ERRORBUFFER");
  check(curl_easy_setopt(h, CURLOPT_URL, url.c_str()), "CURLOPT_URL");
  // Probes speak HTTP(S) only; a redirect to file:// or ldap:// is refused.
  check(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"), "CURLOPT_PROTOCOLS_STR");
  check(curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"),
        "CURLOPT_REDIR_PROTOCOLS_STR");
  // Signals (for DNS timeouts) are not usable in a multi-threaded agent.
  check(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), "CURLOPT_NOSIGNAL");
  check(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ClampMillis(options.connect_timeout)),
        "CURLOPT_CONNECTTIMEOUT_MS");
  check(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ClampMillis(options.total_timeout)),
        "CURLOPT_TIMEOUT_MS");
  check(curl_easy_setopt(h, CURLOPT_USERAGENT, kUserAgent.data()), "CURLOPT_USERAGENT");
  if (options.max_redirects > 0) {
    check(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L), "CURLOPT_FOLLOWLOCATION");
    check(curl_easy_setopt(h, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects)),
          "CURLOPT_MAXREDIRS");
  }
  if (options.no_proxy) {
    // An empty string disables proxies, including those from the environment.
    check(curl_easy_setopt(h, CURLOPT_PROXY, ""), "CURLOPT_PROXY");
  } else if (!options.proxy.empty()) {
    check(curl_easy_setopt(h, CURLOPT_PROXY, options.proxy.c_str()), "CURLOPT_PROXY");
  }
  // Refuses early when the server announces a too large Content-Length.
  if (options.max_body_bytes <= static_cast<uint64_t>(INT64_MAX)) {
    check(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                           static_cast<curl_off_t>(options.max_body_bytes)),
          "CURLOPT_MAXFILESIZE_LARGE");
  }
  check(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody), "CURLOPT_WRITEFUNCTION");
  check(curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink), "CURLOPT_WRITEDATA");

  if (req.post) {
    const std::string content_type_header = absl::StrCat("Content-Type: ", std::string(req.content_type));
    if (content_type_header.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return fail(CURLE_BAD_FUNCTION_ARGUMENT, "content type contains CR, LF or NUL");
    }
    headers.reset(curl_slist_append(nullptr, content_type_header.c_str()));
    // No "Expect: 100-continue" round trip for larger bodies. On failure
    // curl_slist_append leaves the list as it was, still owned by `headers`.
    if (headers == nullptr || curl_slist_append(headers.get(), "Expect:") == nullptr) {
      return fail(CURLE_OUT_OF_MEMORY, "curl_slist_append: out of memory");
    }
    check(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get()), "CURLOPT_HTTPHEADER");
    check(curl_easy_setopt(h, CURLOPT_POST, 1L), "CURLOPT_POST");
    // Not copied: `req.body` outlives curl_easy_perform.
    check(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(req.body.size())),
          "CURLOPT_POSTFIELDSIZE_LARGE");
    // Never NULL: libcurl would then read the body from stdin.
    const char* fields = req.body.empty() ? "" : req.body.data();
    check(curl_easy_setopt(h, CURLOPT_POSTFIELDS, fields), "CURLOPT_POSTFIELDS");
  }
  if (setopt_code != CURLE_OK) {
    return fail(setopt_code, absl::StrFormat("curl_easy_setopt(%s): %s", setopt_name,
                                             curl_easy_strerror(setopt_code)));
  }

  const CURLcode code = curl_easy_perform(h);
  result.curl_code = code;

  long status = 0;
  if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
    result.http_status = status;
  }
  char* text = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &text) == CURLE_OK && text != nullptr) {
    result.content_type = text;
  }
  text = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &text) == CURLE_OK && text != nullptr) {
    result.effective_url = text;
  } else {
    result.effective_url = url;
  }
  text = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &text) == CURLE_OK && text != nullptr) {
    result.primary_ip = text;
  }
  long redirects = 0;
  if (curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects) == CURLE_OK) {
    result.redirect_count = static_cast<int>(redirects);
  }

  if (code == CURLE_OK) return finish();

  if (code == CURLE_WRITE_ERROR && sink.truncated) {
    result.body_truncated = true;
    result.curl_error = absl::StrFormat(
        "response body exceeds max_body_bytes (%d bytes); transfer aborted",
        options.max_body_bytes);
  } else if (code == CURLE_FILESIZE_EXCEEDED) {
    result.body_truncated = true;
    curl_off_t announced = -1;
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
    result.curl_error = absl::StrFormat(
        "response body of %d bytes (Content-Length) exceeds max_body_bytes (%d bytes); "
        "transfer refused",
        static_cast<int64_t>(announced), options.max_body_bytes);
  } else if (code == CURLE_WRITE_ERROR && sink.out_of_memory) {
    result.curl_error = "out of memory while storing the response body";
  } else {
    result.curl_error = CurlText(code, errbuf);
  }
  return finish();
}

}  // namespace

HttpOptions HttpOptionsFromSettings(const v1::HttpSettings& settings) {
  HttpOptions options;
  if (settings.connect_timeout_ms() != 0) {
    options.connect_timeout = absl::Milliseconds(settings.connect_timeout_ms());
  }
  if (settings.total_timeout_ms() != 0) {
    options.total_timeout = absl::Milliseconds(settings.total_timeout_ms());
  }
  options.proxy = settings.proxy();
  options.no_proxy = settings.no_proxy();
  if (settings.max_body_bytes() != 0) options.max_body_bytes = settings.max_body_bytes();
  return options;
}

HttpResult HttpGet(std::string_view url, const HttpOptions& options) {
  return Perform(Request{url, /*post=*/false, {}, {}}, options);
}

HttpResult HttpPost(std::string_view url, std::string_view content_type, std::string_view body,
                    const HttpOptions& options) {
  return Perform(Request{url, /*post=*/true, content_type, body}, options);
}

std::string_view HttpUserAgent() { return kUserAgent; }

bool IsLocalCurlFailure(int curl_code) {
  switch (curl_code) {
    case CURLE_FAILED_INIT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_NOT_BUILT_IN:
      return true;
    default:
      return false;
  }
}

uint32_t WinHttpHresultForCurl(int curl_code) {
  // WinHTTP codes the catalogue has but hr:: does not name (winhttp.h).
  constexpr uint32_t kErrorWinhttpInvalidUrl = 0x80072EE5;
  constexpr uint32_t kErrorWinhttpUnrecognizedScheme = 0x80072EE6;
  constexpr uint32_t kErrorWinhttpRedirectFailed = 0x80072F7C;
  switch (curl_code) {
    case CURLE_OK:
      return hr::kSOk;
    case CURLE_OUT_OF_MEMORY:
      return hr::kEOutOfMemory;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return hr::kErrorWinhttpNameNotResolved;
    case CURLE_COULDNT_CONNECT:
      return hr::kErrorWinhttpCannotConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return hr::kErrorWinhttpTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
      return hr::kErrorWinhttpSecureFailure;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_WRITE_ERROR:  // only the body limit makes WriteBody refuse data
    case CURLE_RANGE_ERROR:
      return hr::kErrorWinhttpInvalidServerResponse;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return hr::kErrorWinhttpConnectionError;
    case CURLE_TOO_MANY_REDIRECTS:
      return kErrorWinhttpRedirectFailed;
    case CURLE_URL_MALFORMAT:
      return kErrorWinhttpInvalidUrl;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return kErrorWinhttpUnrecognizedScheme;
    default:
      return hr::kEFail;
  }
}

TcpConnectResult TcpConnect(std::string_view host, uint16_t port, const HttpOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  TcpConnectResult result;
  result.port = port;
  auto finish = [&]() -> TcpConnectResult {
    result.latency = absl::FromChrono(std::chrono::steady_clock::now() - start);
    return std::move(result);
  };
  auto fail = [&](CURLcode code, std::string text) -> TcpConnectResult {
    result.curl_code = code;
    result.curl_error = std::move(text);
    return finish();
  };

  if (const CURLcode init = GlobalInit(); init != CURLE_OK) {
    return fail(init, absl::StrCat("curl_global_init: ", curl_easy_strerror(init)));
  }
  // The host goes into a URL: anything that could change the URL's meaning
  // (user info, path, query, spaces, NUL) is refused rather than escaped.
  static constexpr char kNotInHost[] = "/\\@?#[] \t\r\n";  // and the terminating NUL
  if (host.empty() || host.size() > 255 ||
      host.find_first_of(std::string_view(kNotInHost, sizeof(kNotInHost))) !=
          std::string_view::npos) {
    return fail(CURLE_URL_MALFORMAT,
                absl::StrCat("not a host name or IP address: \"",
                             std::string(host.substr(0, 64)), "\""));
  }
  const bool ipv6_literal = host.find(':') != std::string_view::npos;
  const std::string url = absl::StrCat("http://", ipv6_literal ? "[" : "", std::string(host),
                                       ipv6_literal ? "]" : "", ":", port, "/");
  CurlEasyPtr curl(curl_easy_init());
  if (curl == nullptr) return fail(CURLE_FAILED_INIT, "curl_easy_init failed");
  CURL* h = curl.get();
  char errbuf[CURL_ERROR_SIZE] = {};
  CURLcode setopt_code = CURLE_OK;
  const char* setopt_name = nullptr;
  auto check = [&](CURLcode c, const char* name) {
    if (c != CURLE_OK && setopt_code == CURLE_OK) {
      setopt_code = c;
      setopt_name = name;
    }
  };
  check(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf), "CURLOPT_ERRORBUFFER");
  check(curl_easy_setopt(h, CURLOPT_URL, url.c_str()), "CURLOPT_URL");
  check(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http"), "CURLOPT_PROTOCOLS_STR");
  // Connect, then stop: no request is sent to the (non-HTTP) service.
  check(curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L), "CURLOPT_CONNECT_ONLY");
  // RPC and the like never go through an HTTP proxy.
  check(curl_easy_setopt(h, CURLOPT_PROXY, ""), "CURLOPT_PROXY");
  check(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), "CURLOPT_NOSIGNAL");
  check(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ClampMillis(options.connect_timeout)),
        "CURLOPT_CONNECTTIMEOUT_MS");
  check(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ClampMillis(options.connect_timeout)),
        "CURLOPT_TIMEOUT_MS");
  if (setopt_code != CURLE_OK) {
    return fail(setopt_code, absl::StrFormat("curl_easy_setopt(%s): %s", setopt_name,
                                             curl_easy_strerror(setopt_code)));
  }
  const CURLcode code = curl_easy_perform(h);
  result.curl_code = code;
  char* ip = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr) {
    result.address = ip;
  }
  curl_off_t us = 0;
  if (curl_easy_getinfo(h, CURLINFO_NAMELOOKUP_TIME_T, &us) == CURLE_OK) {
    result.name_lookup = absl::Microseconds(us);
  }
  us = 0;
  if (curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &us) == CURLE_OK) {
    result.connect = absl::Microseconds(us);
  }
  if (code != CURLE_OK) result.curl_error = CurlText(code, errbuf);
  return finish();
}

}  // namespace pkiwatch
