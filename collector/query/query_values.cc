#include "collector/query/query_values.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "common/error_catalogue.h"

namespace pkiwatch::query {

google::protobuf::Timestamp EpochTimestamp(std::string_view text) {
  double seconds = 0;
  (void)absl::SimpleAtod(absl::string_view(text.data(), text.size()), &seconds);
  google::protobuf::Timestamp ts;
  const double whole = std::floor(seconds);
  ts.set_seconds(static_cast<int64_t>(whole));
  ts.set_nanos(static_cast<int32_t>(std::lround((seconds - whole) * 1e6)) * 1000);
  return ts;
}

absl::Time EpochToTime(std::string_view text) {
  double seconds = 0;
  if (!absl::SimpleAtod(absl::string_view(text.data(), text.size()), &seconds)) {
    return absl::UnixEpoch();
  }
  return absl::UnixEpoch() + absl::Microseconds(static_cast<int64_t>(seconds * 1e6));
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(ts.seconds())) /
                                    absl::Nanoseconds(1)));
  return ts;
}

std::string ErrorKey(uint32_t code) {
  auto entry = LookupError(code);
  return entry ? std::string(entry->name) : absl::StrFormat("0x%08X", code);
}

const char* RollupKey(v1::GroupBy by) {
  switch (by) {
    case v1::GROUP_BY_URL: return "u.url";
    case v1::GROUP_BY_CA:
      return "c.name || CASE WHEN c.key_id <> '' THEN ' [' || c.key_id || ']' ELSE '' END";
    case v1::GROUP_BY_TEMPLATE: return "CASE WHEN t.name <> '' THEN t.name ELSE t.oid END";
    case v1::GROUP_BY_ERROR: return "r.hresult::text";
    case v1::GROUP_BY_SITE: return "CASE WHEN r.site <> '' THEN r.site ELSE '(no site)' END";
    default: return nullptr;
  }
}

}  // namespace pkiwatch::query
