#include "common/url.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pkiwatch {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlDeleter>;

struct CurlFreeDeleter {
  void operator()(char* p) const { curl_free(p); }
};
using CurlString = std::unique_ptr<char, CurlFreeDeleter>;

// Parse flags: any scheme (ldap:// even when libcurl lacks LDAP) and spaces
// as they appear in ADCS LDAP URLs. CURLU_NO_AUTHORITY does not help with
// "ldap:///CN=...": libcurl skips the third slash and takes "CN=..." for the
// host, so empty hosts are handled with a placeholder below.
constexpr unsigned int kParseFlags = CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE;

// Stands in for the empty host of "ldap:///..." while libcurl parses the
// rest; .invalid is reserved (RFC 2606) and cannot clash with a real host.
constexpr std::string_view kEmptyHostPlaceholder = "empty-host.invalid";

absl::Status CurlError(std::string_view what, CURLUcode rc,
                       std::string_view url) {
  // The input is not echoed in full: it may be 8 KiB of garbage.
  std::string shown(url.substr(0, 200));
  return absl::InvalidArgumentError(absl::StrFormat(
      "NormalizeUrl: %s failed: CURLUcode %d (%s) for \"%s%s\"", what,
      static_cast<int>(rc), curl_url_strerror(rc), shown,
      url.size() > shown.size() ? "..." : ""));
}

// Returns the part, "" when absent; other errors are reported.
absl::StatusOr<std::string> GetPart(CURLU* u, CURLUPart part,
                                    std::string_view what,
                                    std::string_view url) {
  char* raw = nullptr;
  CURLUcode rc = curl_url_get(u, part, &raw, 0);
  CurlString owned(raw);
  switch (rc) {
    case CURLUE_OK:
      return std::string(raw != nullptr ? raw : "");
    case CURLUE_NO_SCHEME:
    case CURLUE_NO_USER:
    case CURLUE_NO_PASSWORD:
    case CURLUE_NO_OPTIONS:
    case CURLUE_NO_HOST:
    case CURLUE_NO_PORT:
    case CURLUE_NO_QUERY:
    case CURLUE_NO_FRAGMENT:
      return std::string();
    default:
      return CurlError(absl::StrCat("curl_url_get(", std::string(what), ")"), rc,
                       url);
  }
}

int DefaultPort(std::string_view scheme) {
  if (scheme == "http") return 80;
  if (scheme == "https") return 443;
  if (scheme == "ldap") return 389;
  if (scheme == "ldaps") return 636;
  if (scheme == "ftp") return 21;
  return -1;
}

// ADCS writes "ldap:///CN=<CA>,CN=CDP,..." so that the client asks its own
// domain controller; no other scheme we handle may omit the host.
bool SchemeAllowsEmptyHost(std::string_view scheme) {
  return scheme == "ldap" || scheme == "ldaps";
}

struct UrlParts {
  std::string scheme, user, password, host, port, path, query;
};

// Validates and splits `url` into normalized parts (see NormalizeUrl).
absl::StatusOr<UrlParts> ParseUrl(std::string_view url) {
  if (url.empty()) {
    return absl::InvalidArgumentError("NormalizeUrl: empty URL");
  }
  if (url.size() > kMaxUrlLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "NormalizeUrl: URL of %d bytes exceeds the limit of %d bytes",
        url.size(), kMaxUrlLength));
  }
  if (url.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("NormalizeUrl: URL contains a NUL byte");
  }
  // Every URL we normalize (CDP, OCSP, AIA, NDES) is hierarchical, so
  // "scheme://" is required. Checked here because libcurl would answer a
  // vague "bad scheme" for "crl.example.com/x.crl" or take "host:80/x" for a
  // scheme.
  size_t sep = url.find("://");
  bool scheme_ok = sep != std::string_view::npos && sep > 0 &&
                   absl::ascii_isalpha(static_cast<unsigned char>(url[0]));
  for (size_t i = 0; scheme_ok && i < sep; ++i) {
    char c = url[i];
    scheme_ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                c == '+' || c == '-' || c == '.';
  }
  if (!scheme_ok) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "NormalizeUrl: no scheme in \"%s\" (expected scheme://host/path)",
        url.substr(0, 200)));
  }

  std::string lower_scheme(url.substr(0, sep));
  absl::AsciiStrToLower(&lower_scheme);
  std::string input(url);  // curl needs NUL termination
  const bool empty_host = url.substr(sep + 3, 1) == "/";
  if (empty_host) {
    if (!SchemeAllowsEmptyHost(lower_scheme)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "NormalizeUrl: no host in \"%s\" (only ldap:/// URLs may omit it)",
          url.substr(0, 200)));
    }
    input = absl::StrCat(lower_scheme, "://",
                         std::string(kEmptyHostPlaceholder),
                         std::string(url.substr(sep + 3)));
  }

  CurlUrlPtr u(curl_url());
  if (u == nullptr) {
    return absl::ResourceExhaustedError("NormalizeUrl: curl_url() failed");
  }
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, input.c_str(), kParseFlags);
  if (rc != CURLUE_OK) return CurlError("curl_url_set(URL)", rc, url);

  absl::StatusOr<std::string> scheme =
      GetPart(u.get(), CURLUPART_SCHEME, "scheme", url);
  if (!scheme.ok()) return scheme.status();
  absl::AsciiStrToLower(&*scheme);
  if (scheme->empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("NormalizeUrl: no scheme in \"%s\"", url.substr(0, 200)));
  }

  absl::StatusOr<std::string> host =
      GetPart(u.get(), CURLUPART_HOST, "host", url);
  if (!host.ok()) return host.status();
  absl::AsciiStrToLower(&*host);
  if (empty_host) {
    host->clear();
  } else if (host->empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("NormalizeUrl: no host in \"%s\"", url.substr(0, 200)));
  }

  absl::StatusOr<std::string> port =
      GetPart(u.get(), CURLUPART_PORT, "port", url);
  if (!port.ok()) return port.status();
  if (!port->empty() && *port == std::to_string(DefaultPort(*scheme))) {
    port->clear();
  }

  absl::StatusOr<std::string> user =
      GetPart(u.get(), CURLUPART_USER, "user", url);
  if (!user.ok()) return user.status();
  absl::StatusOr<std::string> password =
      GetPart(u.get(), CURLUPART_PASSWORD, "password", url);
  if (!password.ok()) return password.status();
  absl::StatusOr<std::string> path =
      GetPart(u.get(), CURLUPART_PATH, "path", url);
  if (!path.ok()) return path.status();
  if (path->empty()) *path = "/";
  absl::StatusOr<std::string> query =
      GetPart(u.get(), CURLUPART_QUERY, "query", url);
  if (!query.ok()) return query.status();

  return UrlParts{std::move(*scheme), std::move(*user), std::move(*password),
                  std::move(*host),   std::move(*port), std::move(*path),
                  std::move(*query)};
}

}  // namespace

absl::StatusOr<std::string> NormalizeUrl(std::string_view url) {
  absl::StatusOr<UrlParts> parts = ParseUrl(url);
  if (!parts.ok()) return parts.status();
  const UrlParts& p = *parts;
  // Assembled here rather than by CURLUPART_URL, which cannot express the
  // empty authority of "ldap:///..." and would re-encode parts we keep.
  std::string out = absl::StrCat(p.scheme, "://");
  if (!p.user.empty() || !p.password.empty()) {
    absl::StrAppend(&out, p.user);
    if (!p.password.empty()) absl::StrAppend(&out, ":", p.password);
    absl::StrAppend(&out, "@");
  }
  absl::StrAppend(&out, p.host);
  if (!p.port.empty()) absl::StrAppend(&out, ":", p.port);
  if (p.path.front() != '/') out.push_back('/');
  absl::StrAppend(&out, p.path);
  if (!p.query.empty()) absl::StrAppend(&out, "?", p.query);
  return out;
}

std::string UrlHost(std::string_view normalized_url) {
  absl::StatusOr<UrlParts> parts = ParseUrl(normalized_url);
  return parts.ok() ? parts->host : std::string();
}

}  // namespace pkiwatch
