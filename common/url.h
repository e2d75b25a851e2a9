// URL normalization so that the same CDP/OCSP/AIA URL seen by many hosts is
// one dimension value.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pkiwatch {

// Longest URL accepted; longer input is rejected rather than truncated.
inline constexpr size_t kMaxUrlLength = 8 * 1024;

// Normalizes an absolute URL with libcurl's URL API:
//  - scheme and host lower-cased, default port dropped (http 80, https 443,
//    ldap 389, ldaps 636, ftp 21),
//  - empty path becomes "/", fragment dropped, query kept,
//  - percent-encoding and user info left as they are.
// Any scheme is accepted; "scheme://" is required. "ldap:///CN=..." (and
// ldaps) with an empty host, as ADCS writes its CDPs, is accepted with only
// the scheme lower-cased; other schemes need a host.
// Errors: InvalidArgument naming the reason (no scheme, unparsable, too long,
// embedded NUL). Thread-safe.
absl::StatusOr<std::string> NormalizeUrl(std::string_view url);

// Host of a URL produced by NormalizeUrl ("" for ldap:///... or on error).
std::string UrlHost(std::string_view normalized_url);

}  // namespace pkiwatch
