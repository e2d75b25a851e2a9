#include "agent/win/winhttp_client.h"

#include "agent/win/handles.h"
#include "agent/win/strings.h"

namespace pkiwatch::win {
namespace {

// WinHTTP returns strings the caller frees with GlobalFree.
std::string TakeGlobalString(wchar_t* text) {
  UniqueGlobalMemory<wchar_t*> owned(text);
  return WideToUtf8(text);
}

int Milliseconds(std::chrono::milliseconds d) { return static_cast<int>(d.count()); }

StatusOr<std::wstring> QueryHeaderString(HINTERNET request, DWORD info, std::string_view url) {
  DWORD size = 0;
  WinHttpQueryHeaders(request, info, WINHTTP_HEADER_NAME_BY_INDEX, WINHTTP_NO_OUTPUT_BUFFER, &size,
                      WINHTTP_NO_HEADER_INDEX);
  const DWORD error = GetLastError();
  if (error == ERROR_WINHTTP_HEADER_NOT_FOUND) return std::wstring();
  if (error != ERROR_INSUFFICIENT_BUFFER) return ApiError("WinHttpQueryHeaders", url, error);
  std::wstring value(size / sizeof(wchar_t) + 1, L'\0');
  if (!WinHttpQueryHeaders(request, info, WINHTTP_HEADER_NAME_BY_INDEX, value.data(), &size,
                           WINHTTP_NO_HEADER_INDEX)) {
    return LastError("WinHttpQueryHeaders", url);
  }
  value.resize(size / sizeof(wchar_t));
  return value;
}

}  // namespace

StatusOr<WinHttpProxyConfig> GetWinHttpDefaultProxy() {
  WINHTTP_PROXY_INFO info{};
  if (!WinHttpGetDefaultProxyConfiguration(&info)) {
    return LastError("WinHttpGetDefaultProxyConfiguration", "");
  }
  WinHttpProxyConfig config;
  config.access_type = info.dwAccessType;
  config.proxy = TakeGlobalString(info.lpszProxy);
  config.bypass = TakeGlobalString(info.lpszProxyBypass);
  return config;
}

StatusOr<IeProxyConfig> GetIeProxyConfigForCurrentUser() {
  WINHTTP_CURRENT_USER_IE_PROXY_CONFIG info{};
  if (!WinHttpGetIEProxyConfigForCurrentUser(&info)) {
    return LastError("WinHttpGetIEProxyConfigForCurrentUser", "");
  }
  IeProxyConfig config;
  config.auto_detect = info.fAutoDetect != FALSE;
  config.auto_config_url = TakeGlobalString(info.lpszAutoConfigUrl);
  config.proxy = TakeGlobalString(info.lpszProxy);
  config.bypass = TakeGlobalString(info.lpszProxyBypass);
  return config;
}

StatusOr<HttpResponse> HttpGet(std::string_view url, const HttpGetOptions& options) {
  auto starts_with_no_case = [&](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      const char c = url[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != prefix[i]) return false;
    }
    return true;
  };
  if (!starts_with_no_case("http://") && !starts_with_no_case("https://")) {
    return Status::Error(0x80070057u, "HttpGet(" + std::string(url) + "): only http and https URLs");
  }
  std::wstring wide_url = Utf8ToWide(url);
  URL_COMPONENTS parts{};
  parts.dwStructSize = sizeof parts;
  parts.dwHostNameLength = static_cast<DWORD>(-1);
  parts.dwUrlPathLength = static_cast<DWORD>(-1);
  parts.dwExtraInfoLength = static_cast<DWORD>(-1);
  parts.dwSchemeLength = static_cast<DWORD>(-1);
  if (!WinHttpCrackUrl(wide_url.c_str(), 0, 0, &parts)) return LastError("WinHttpCrackUrl", url);
  const std::wstring host(parts.lpszHostName, parts.dwHostNameLength);
  std::wstring path(parts.lpszUrlPath, parts.dwUrlPathLength);
  path.append(parts.lpszExtraInfo, parts.dwExtraInfoLength);
  if (path.empty()) path = L"/";

  const DWORD access = options.use_default_proxy ? WINHTTP_ACCESS_TYPE_DEFAULT_PROXY
                                                 : WINHTTP_ACCESS_TYPE_NO_PROXY;
  UniqueWinHttpHandle session(WinHttpOpen(L"pkiwatch-agent", access, WINHTTP_NO_PROXY_NAME,
                                          WINHTTP_NO_PROXY_BYPASS, 0));
  if (!session) return LastError("WinHttpOpen", url);
  if (!WinHttpSetTimeouts(session.get(), Milliseconds(options.resolve_timeout),
                          Milliseconds(options.connect_timeout), Milliseconds(options.send_timeout),
                          Milliseconds(options.receive_timeout))) {
    return LastError("WinHttpSetTimeouts", url);
  }
  UniqueWinHttpHandle connection(WinHttpConnect(session.get(), host.c_str(), parts.nPort, 0));
  if (!connection) return LastError("WinHttpConnect", url);
  const DWORD flags = parts.nScheme == INTERNET_SCHEME_HTTPS ? WINHTTP_FLAG_SECURE : 0;
  UniqueWinHttpHandle request(WinHttpOpenRequest(connection.get(), L"GET", path.c_str(), nullptr,
                                                 WINHTTP_NO_REFERER,
                                                 WINHTTP_DEFAULT_ACCEPT_TYPES, flags));
  if (!request) return LastError("WinHttpOpenRequest", url);
  if (!WinHttpSendRequest(request.get(), WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA,
                          0, 0, 0)) {
    return LastError("WinHttpSendRequest", url);
  }
  if (!WinHttpReceiveResponse(request.get(), nullptr)) {
    return LastError("WinHttpReceiveResponse", url);
  }

  HttpResponse response;
  DWORD status_code = 0;
  DWORD size = sizeof status_code;
  if (!WinHttpQueryHeaders(request.get(), WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &status_code, &size,
                           WINHTTP_NO_HEADER_INDEX)) {
    return LastError("WinHttpQueryHeaders(status)", url);
  }
  response.status_code = status_code;
  auto content_type = QueryHeaderString(request.get(), WINHTTP_QUERY_CONTENT_TYPE, url);
  if (!content_type.ok()) return content_type.status();
  response.content_type = WideToUtf8(*content_type);

  uint8_t buffer[16384];
  while (true) {
    DWORD read = 0;
    if (!WinHttpReadData(request.get(), buffer, sizeof buffer, &read)) {
      return LastError("WinHttpReadData", url);
    }
    if (read == 0) break;
    if (response.body.size() + read > options.max_body_bytes) {
      return Status::Error(0x800700DFu /* ERROR_FILE_TOO_LARGE */, "HttpGet(" + std::string(url) + "): body larger than " +
                                            std::to_string(options.max_body_bytes) + " bytes");
    }
    response.body.insert(response.body.end(), buffer, buffer + read);
  }
  return response;
}

}  // namespace pkiwatch::win
