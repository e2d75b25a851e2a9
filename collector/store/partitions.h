#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/store/pg_connection.h"

namespace pkiwatch::store {

// Daily partitions of the raw findings (findings_pYYYYMMDD, UTC days of
// receipt): created ahead of time, dropped after the retention period.

// Creates the partitions for the day of `now` and the `days_ahead`
// following days where missing. Idempotent; safe with several collectors.
absl::Status EnsureFindingPartitions(PgConnection& conn, absl::Time now, int days_ahead = 2);

// Drops every partition whose day ended more than `retention` before `now`.
// Returns the dropped partitions' names.
absl::StatusOr<std::vector<std::string>> DropExpiredFindingPartitions(PgConnection& conn,
                                                                     absl::Time now,
                                                                     absl::Duration retention);

// "findings_p20261123" for the UTC day of `t`.
std::string FindingPartitionName(absl::Time t);

}  // namespace pkiwatch::store
