#pragma once

// Minimal leveled logging to stderr (Abseil 20220623 has no absl/log): one
// line per event with a UTC timestamp, safe to call from any thread.

#include <cstdio>
#include "absl/strings/string_view.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pkiwatch {

enum class LogLevel { kInfo, kWarning, kError };

inline void Log(LogLevel level, absl::string_view message) {
  const char* tag = level == LogLevel::kInfo ? "I" : level == LogLevel::kWarning ? "W" : "E";
  const std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   " ", tag, " ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write: lines do not interleave
}

template <typename... Args>
void LogInfo(const Args&... args) { Log(LogLevel::kInfo, absl::StrCat(args...)); }
template <typename... Args>
void LogWarning(const Args&... args) { Log(LogLevel::kWarning, absl::StrCat(args...)); }
template <typename... Args>
void LogError(const Args&... args) { Log(LogLevel::kError, absl::StrCat(args...)); }

}  // namespace pkiwatch
