// WinHTTP: the proxy configuration CAPI2 uses (WinHTTP's default, set with
// `netsh winhttp set proxy`), the user's IE proxy settings for comparison,
// and a bounded HTTP GET through the same stack.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/win/status.h"

namespace pkiwatch::win {

// WinHttpGetDefaultProxyConfiguration.
struct WinHttpProxyConfig {
  uint32_t access_type = 0;  // WINHTTP_ACCESS_TYPE_NO_PROXY (1), _NAMED_PROXY (3), ...
  std::string proxy;         // "host:port" list, empty when none
  std::string bypass;
};
StatusOr<WinHttpProxyConfig> GetWinHttpDefaultProxy();

// WinHttpGetIEProxyConfigForCurrentUser (of the calling account; for a
// service that is LocalSystem's settings).
struct IeProxyConfig {
  bool auto_detect = false;
  std::string auto_config_url;
  std::string proxy;
  std::string bypass;
};
StatusOr<IeProxyConfig> GetIeProxyConfigForCurrentUser();

struct HttpGetOptions {
  std::chrono::milliseconds resolve_timeout{5000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds send_timeout{10000};
  std::chrono::milliseconds receive_timeout{20000};
  size_t max_body_bytes = 64u << 20;  // bigger bodies are an error
  bool use_default_proxy = true;      // WinHTTP's default proxy, else none
};

struct HttpResponse {
  uint32_t status_code = 0;
  std::string content_type;
  std::vector<uint8_t> body;
};

// GET `url` (http or https). Transport errors carry the ERROR_WINHTTP_*
// code as HRESULT (0x80072EFD cannot connect, 0x80072EE2 timeout, ...). Any
// HTTP status is a response, not an error.
StatusOr<HttpResponse> HttpGet(std::string_view url, const HttpGetOptions& options);

}  // namespace pkiwatch::win
