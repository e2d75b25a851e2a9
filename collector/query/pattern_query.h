#pragma once

#include "absl/status/statusor.h"
#include "collector/query/blame.h"
#include "collector/store/pg_connection.h"
#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::query {

// Failure patterns over the current state of the fleet: per URL, CA,
// template, error, site or host, how many hosts fail, warn and probe it,
// since when, the most common errors, the sites involved, where the fault
// most likely sits (blame, with its evidence), the next steps, and the trend
// against the previous window. One implementation behind gRPC and HTTP.
// Reads the host counts the batch writer keeps (pattern_counts,
// pattern_members), not current_state: its cost follows the page of keys,
// and with a window also the hosts holding results older than the window,
// not the size of the fleet. The answer is what aggregating current_state
// would give (GroupingFor's keys).
absl::StatusOr<v1::ListPatternsResponse> ListPatterns(store::PgConnection& conn,
                                                      const v1::ListPatternsRequest& request,
                                                      const BlameThresholds& thresholds = {});

// "url", "ca", "template", "error", "site", "host" -> GroupBy.
absl::StatusOr<v1::GroupBy> ParseGroupBy(absl::string_view name);

// The SQL pieces that put a current_state row (alias cs, nodes alias n) into
// its group; shared with the host listing and command targeting.
struct Grouping {
  const char* key;    // SQL expression naming the group
  const char* kind;   // SQL expression for the URL kind, or "0"
  const char* join;   // joins that make `key` available
  const char* where;  // rows that belong to some group
};
absl::StatusOr<Grouping> GroupingFor(v1::GroupBy by);

// Page tokens are offsets, opaque to clients.
absl::StatusOr<uint32_t> DecodePageToken(const std::string& token);
std::string EncodePageToken(uint32_t offset);
uint32_t PageSize(uint32_t requested);

}  // namespace pkiwatch::query
