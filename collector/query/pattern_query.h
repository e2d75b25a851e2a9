#pragma once

#include "absl/status/statusor.h"
#include "collector/store/pg_connection.h"
#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::query {

// Failure patterns over the current state of the fleet: per URL, CA,
// template or error, how many hosts fail, warn and probe it, since when, and
// the most common errors. One implementation behind gRPC and HTTP.
absl::StatusOr<v1::ListPatternsResponse> ListPatterns(store::PgConnection& conn,
                                                      const v1::ListPatternsRequest& request);

// "url", "ca", "template", "error" -> GroupBy; InvalidArgument otherwise.
absl::StatusOr<v1::GroupBy> ParseGroupBy(absl::string_view name);

}  // namespace pkiwatch::query
