#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "collector/store/pg_connection.h"

namespace pkiwatch::store {

// Brings one node's rows of pattern_members, and the pattern_counts they add
// up to (migration 0004), in line with the node's current_state rows and its
// site and hostname. One statement: the node's memberships are recomputed
// from its own results (bounded by what the node probes, not by the fleet)
// and only the host counts that change are updated, in key order, so
// concurrent batch transactions lock shared counter rows in the same order.
//
// Call inside the transaction that changed the node's results or host facts,
// after locking its nodes row (the batch writer and RecordHello do), so two
// refreshes of one node never interleave. Errors are the connection's.
absl::Status RefreshPatternCounters(PgConnection& conn, std::string_view node_id);

// The cheap case of the above: the node's results for these (probe, target)
// pairs were observed again and nothing else changed (same status, error
// and dimensions; failing ones observed no earlier than before). Then only
// the newest failing observation of the memberships they are in can move,
// and no host count does. Same calling rules.
absl::Status RecordRepeatedResults(PgConnection& conn, std::string_view node_id,
                                   const std::vector<std::string>& probes,
                                   const std::vector<std::string>& targets);

}  // namespace pkiwatch::store
