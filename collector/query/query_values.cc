#include "collector/query/query_values.h"

#include <cmath>

#include "absl/strings/numbers.h"

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

}  // namespace pkiwatch::query
