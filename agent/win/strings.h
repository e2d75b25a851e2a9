// UTF-8 <-> UTF-16 and time conversions at the Win32 boundary. The rest of
// the project speaks UTF-8 std::string; wide strings exist only at call
// sites of W APIs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pkiwatch::win {

// Invalid input sequences become U+FFFD (never fails).
std::wstring Utf8ToWide(std::string_view utf8);
std::string WideToUtf8(std::wstring_view wide);
// A NUL-terminated wide string that may be null.
std::string WideToUtf8(const wchar_t* wide);

// Upper-case hex of `bytes` without separators ("3F2A...", as Windows shows
// thumbprints).
std::string HexUpper(const uint8_t* data, size_t size);
inline std::string HexUpper(const std::vector<uint8_t>& bytes) {
  return HexUpper(bytes.data(), bytes.size());
}

// A FILETIME value (100 ns ticks since 1601-01-01 UTC) as seconds since the
// Unix epoch; nullopt for 0 ("never").
std::optional<int64_t> FileTimeTicksToUnixSeconds(uint64_t ticks);

// An OLE automation DATE in *local* time (what Task Scheduler returns) as
// Unix seconds (UTC), using the time zone rules of that date; nullopt for 0
// (the value Task Scheduler reports for "never") or an invalid date.
std::optional<int64_t> LocalOleDateToUnixSeconds(double date);

// "2024-05-01T12:00:00Z".
std::string FormatUnixSecondsUtc(int64_t seconds);

}  // namespace pkiwatch::win
