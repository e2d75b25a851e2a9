#include "agent/probes/probe_budget.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/error_catalogue.h"
#include "common/utf8.h"

namespace pkiwatch {

absl::Duration ProbeBudgetFromSeconds(uint32_t seconds) {
  return seconds == 0 ? kDefaultProbeBudget : absl::Seconds(seconds);
}

v1::Finding MakeBudgetSkippedFinding(std::string_view probe, std::string_view target,
                                     absl::Time observed_at, absl::Duration budget,
                                     const v1::Dimensions& dimensions) {
  v1::Finding f;
  f.set_probe(std::string(probe));
  f.set_target(std::string(target));
  SetTimestamp(observed_at, f.mutable_observed_at());
  SetDuration(absl::ZeroDuration(), f.mutable_duration());
  f.set_status(v1::STATUS_PROBE_ERROR);
  *f.mutable_dimensions() = dimensions;
  const std::string detail = absl::StrCat(
      "not checked: the probe run budget of ", HumanDuration(budget),
      " was spent on earlier targets (raise probe_budget_seconds or split the targets)");
  f.set_summary(detail);
  // ERROR_TIMEOUT: the agent's own time limit, not the target's failure.
  *f.mutable_error() = MakeErrorInfo(hr::kErrorTimeout, detail);
  return f;
}

int StatusSeverity(v1::Status status) {
  switch (status) {
    case v1::STATUS_FAIL:
      return 3;
    case v1::STATUS_PROBE_ERROR:
      return 2;
    case v1::STATUS_WARN:
      return 1;
    default:
      return 0;
  }
}

std::string OneLine(std::string_view s, size_t max_bytes) {
  std::string clean = SanitizeUtf8(s, max_bytes);
  for (char& c : clean) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return clean;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  // ToUnixSeconds rounds towards the past, so nanos is in [0, 1e9).
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  // Same sign for seconds and nanos, as google.protobuf.Duration requires.
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

std::string HumanDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = -d;
  const int64_t secs = absl::ToInt64Seconds(d);
  const int64_t days = secs / 86400, hours = (secs % 86400) / 3600, mins = (secs % 3600) / 60;
  if (days > 0) return absl::StrFormat("%dd%dh", days, hours);
  if (hours > 0) return absl::StrFormat("%dh%dm", hours, mins);
  if (mins > 0) return absl::StrFormat("%dm", mins);
  if (secs > 0) return absl::StrFormat("%ds", secs);
  return absl::StrFormat("%dms", absl::ToInt64Milliseconds(d));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace pkiwatch
