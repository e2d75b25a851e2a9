// UTF-8 hygiene for text that crosses the wire: protobuf string fields must
// hold valid UTF-8, and texts from event logs, HTTP bodies or OpenSSL may not.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pkiwatch {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, no code
// points above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Returns `s` with every ill-formed sequence replaced by U+FFFD, cut to at
// most `max_bytes` bytes at a character boundary. When anything was cut,
// "…" (U+2026, 3 bytes) is appended within the limit. With max_bytes < 3
// and a cut, the result is cut without the ellipsis.
std::string SanitizeUtf8(std::string_view s, size_t max_bytes);

}  // namespace pkiwatch
