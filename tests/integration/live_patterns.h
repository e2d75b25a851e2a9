#pragma once

#include "absl/status/statusor.h"
#include "collector/query/blame.h"
#include "collector/store/pg_connection.h"
#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::testing {

// ListPatterns computed from scratch: every call aggregates current_state
// (joined to nodes and the dimension tables) live. The test oracle of the
// counter-based query::ListPatterns; same request, same response.
absl::StatusOr<v1::ListPatternsResponse> LivePatterns(
    store::PgConnection& conn, const v1::ListPatternsRequest& request,
    const query::BlameThresholds& thresholds = {});

}  // namespace pkiwatch::testing
