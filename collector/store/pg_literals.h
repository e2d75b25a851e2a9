#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace pkiwatch::store {

// Text forms PostgreSQL parses for parameters and COPY columns.

// "2026-11-23 01:02:03.123456+00"
std::string PgTimestamp(absl::Time t);
std::string PgTimestamp(const google::protobuf::Timestamp& ts);

// Parses PostgreSQL's text output of a one-dimensional text[] ({a,"b c"}).
std::vector<std::string> ParsePgTextArray(std::string_view text);

// A one-dimensional array literal, e.g. {"a","b\"c"}, for $n::text[].
std::string PgTextArray(const std::vector<std::string>& values);

}  // namespace pkiwatch::store
