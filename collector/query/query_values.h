#pragma once

// Reading query results into protobuf values, shared by the query modules.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "collector/store/pg_connection.h"
#include "google/protobuf/timestamp.pb.h"
#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::query {

// extract(epoch FROM ...) text such as "1795400000.123456" -> Timestamp.
// Seconds-with-fraction avoid depending on the session's TimeZone and
// DateStyle. Unparsable text gives the epoch.
google::protobuf::Timestamp EpochTimestamp(std::string_view text);

// The same text as an absl::Time (microseconds).
absl::Time EpochToTime(std::string_view text);

google::protobuf::Timestamp ToProto(absl::Time t);

inline std::string S(std::string_view v) { return std::string(v); }

inline uint32_t U32(const store::PgResult& r, int row, int col) {
  return static_cast<uint32_t>(r.GetInt64(row, col));
}

// A pattern key of the error grouping: the symbolic name, or 0x%08X.
std::string ErrorKey(uint32_t code);

// The group of a rollup row (alias r, with urls u, cas c, templates t
// joined); nullptr where rollups do not keep the dimension (hosts).
const char* RollupKey(v1::GroupBy by);

}  // namespace pkiwatch::query
