#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "collector/store/pg_connection.h"

namespace pkiwatch::store {

struct Migration {
  int version;
  std::string_view name;  // file stem, e.g. "0001_init"
  std::string_view sql;
};

// The migrations compiled into the binary, ascending by version.
const std::vector<Migration>& EmbeddedMigrations();

// Applies every embedded migration not yet recorded in schema_migrations,
// in order, each in its own transaction holding a pg_advisory_xact_lock so
// concurrent collectors do not race. Idempotent. `conn` must not be inside
// a transaction. Errors are those of PgConnection, prefixed with the
// migration name.
absl::Status ApplyMigrations(PgConnection& conn);

}  // namespace pkiwatch::store
