#pragma once

// Reading query results into protobuf values, shared by the query modules.

#include <string>
#include <string_view>

#include "google/protobuf/timestamp.pb.h"

namespace pkiwatch::query {

// extract(epoch FROM ...) text such as "1795400000.123456" -> Timestamp.
// Seconds-with-fraction avoid depending on the session's TimeZone and
// DateStyle. Unparsable text gives the epoch.
google::protobuf::Timestamp EpochTimestamp(std::string_view text);

inline std::string S(std::string_view v) { return std::string(v); }

}  // namespace pkiwatch::query
