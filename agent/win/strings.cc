#include "agent/win/strings.h"

#include <cstdio>
#include <ctime>
#include <limits>

#include "agent/win/win32.h"

namespace pkiwatch::win {

std::wstring Utf8ToWide(std::string_view utf8) {
  if (utf8.empty()) return std::wstring();
  if (utf8.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return std::wstring();
  const int in_size = static_cast<int>(utf8.size());
  const int size = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), in_size, nullptr, 0);
  if (size <= 0) return std::wstring();
  std::wstring wide(static_cast<size_t>(size), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), in_size, wide.data(), size);
  return wide;
}

std::string WideToUtf8(std::wstring_view wide) {
  if (wide.empty()) return std::string();
  if (wide.size() > static_cast<size_t>(std::numeric_limits<int>::max() / 4)) return std::string();
  const int in_size = static_cast<int>(wide.size());
  const int size =
      WideCharToMultiByte(CP_UTF8, 0, wide.data(), in_size, nullptr, 0, nullptr, nullptr);
  if (size <= 0) return std::string();
  std::string utf8(static_cast<size_t>(size), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide.data(), in_size, utf8.data(), size, nullptr, nullptr);
  return utf8;
}

std::string WideToUtf8(const wchar_t* wide) {
  return wide == nullptr ? std::string() : WideToUtf8(std::wstring_view(wide));
}

std::string HexUpper(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string hex;
  hex.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(kDigits[data[i] >> 4]);
    hex.push_back(kDigits[data[i] & 0x0F]);
  }
  return hex;
}

std::optional<int64_t> FileTimeTicksToUnixSeconds(uint64_t ticks) {
  if (ticks == 0) return std::nullopt;
  constexpr uint64_t kTicksPerSecond = 10'000'000;
  constexpr int64_t kEpochDifferenceSeconds = 11'644'473'600;  // 1601-01-01 .. 1970-01-01
  return static_cast<int64_t>(ticks / kTicksPerSecond) - kEpochDifferenceSeconds;
}

std::optional<int64_t> LocalOleDateToUnixSeconds(double date) {
  if (date == 0.0) return std::nullopt;
  SYSTEMTIME local{};
  if (!VariantTimeToSystemTime(date, &local)) return std::nullopt;
  SYSTEMTIME utc{};
  if (!TzSpecificLocalTimeToSystemTime(nullptr, &local, &utc)) return std::nullopt;
  FILETIME file_time{};
  if (!SystemTimeToFileTime(&utc, &file_time)) return std::nullopt;
  const uint64_t ticks =
      (static_cast<uint64_t>(file_time.dwHighDateTime) << 32) | file_time.dwLowDateTime;
  return FileTimeTicksToUnixSeconds(ticks);
}

std::string FormatUnixSecondsUtc(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_s(&tm, &t) != 0) return std::to_string(seconds);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

}  // namespace pkiwatch::win
