#include "agent/probes/clock_skew.h"

#include <cstdio>

namespace pkiwatch::clock {

Skew JudgeOffset(std::chrono::nanoseconds offset, std::chrono::nanoseconds warn,
                 std::chrono::nanoseconds fail) {
  const std::chrono::nanoseconds skew = offset < offset.zero() ? -offset : offset;
  if (skew > fail) return Skew::kBeyondKerberos;
  if (skew > warn) return Skew::kDrifting;
  return Skew::kInSync;
}

std::string FormatSignedOffset(std::chrono::nanoseconds offset) {
  const bool negative = offset < offset.zero();
  const long long ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(negative ? -offset : offset).count();
  const long long mins = ms / 60000;
  const long long rest = ms % 60000;
  char text[64];
  if (mins > 0) {
    std::snprintf(text, sizeof text, "%s%lldm%lld.%03llds", negative ? "-" : "+", mins,
                  rest / 1000, rest % 1000);
  } else {
    std::snprintf(text, sizeof text, "%s%lld.%03llds", negative ? "-" : "+", rest / 1000,
                  rest % 1000);
  }
  return text;
}

}  // namespace pkiwatch::clock
