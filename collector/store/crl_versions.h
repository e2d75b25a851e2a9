#pragma once

// The writer's bookkeeping of CRL versions per URL (table crl_versions,
// migration 0006): one statement per batch, inside the batch transaction.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "collector/store/pg_connection.h"

namespace pkiwatch::store {

// Folds the CRL details of the node's findings with seq in (after_seq,
// through_seq], written in this transaction, into crl_versions.
absl::Status RecordCrlVersions(PgConnection& conn, const std::string& node_id,
                               uint64_t after_seq, uint64_t through_seq);

}  // namespace pkiwatch::store
