#include "collector/store/migrations.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace pkiwatch::store {
namespace {

// Key of the transaction-level advisory lock that serialises migrations
// between collectors starting at the same time ("pkiwatch" in ASCII).
constexpr char kLockKey[] = "7075697477617463";

absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  absl::Status out(s.code(), absl::StrCat(absl::string_view(context.data(),
                                                            context.size()),
                                          ": ", s.message()));
  // Keep the SQLSTATE payload for SqlStateOf().
  s.ForEachPayload([&out](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

absl::Status RollbackAfter(PgConnection& conn, const absl::Status& cause,
                           std::string_view context) {
  // The original error matters; a failed ROLLBACK on a broken connection
  // adds nothing the caller can act on.
  conn.Rollback().IgnoreError();
  return Annotate(cause, context);
}

// Applies `m` unless it is already recorded. Runs in its own transaction so a
// failing migration leaves no partial schema behind.
absl::Status ApplyOne(PgConnection& conn, const Migration& m) {
  const std::string context = absl::StrCat("migration ", std::string(m.name));
  absl::Status s = conn.Begin();
  if (!s.ok()) return Annotate(s, context);
  // Held until COMMIT/ROLLBACK: a second collector waits here, then sees the
  // version recorded and skips it.
  absl::StatusOr<PgResult> lock = conn.Query(
      absl::StrCat("SELECT pg_advisory_xact_lock(x'", kLockKey, "'::bigint)"));
  if (!lock.ok()) return RollbackAfter(conn, lock.status(), context);
  absl::StatusOr<PgResult> done =
      conn.Query("SELECT 1 FROM schema_migrations WHERE version = $1",
                 {std::to_string(m.version)});
  if (!done.ok()) return RollbackAfter(conn, done.status(), context);
  if (done->rows() > 0) return Annotate(conn.Rollback(), context);
  s = conn.Exec(m.sql);
  if (!s.ok()) return RollbackAfter(conn, s, context);
  absl::StatusOr<PgResult> record = conn.Query(
      "INSERT INTO schema_migrations (version, name, applied_at) "
      "VALUES ($1, $2, now())",
      {std::to_string(m.version), std::string(m.name)});
  if (!record.ok()) return RollbackAfter(conn, record.status(), context);
  return Annotate(conn.Commit(), context);
}

}  // namespace

const std::vector<Migration>& EmbeddedMigrations() {
  static const std::vector<Migration>* const kMigrations = [] {
    auto* v = new std::vector<Migration>{
#include "collector/store/migrations_sql.inc"
    };
    std::sort(v->begin(), v->end(), [](const Migration& a, const Migration& b) {
      return a.version < b.version;
    });
    return v;
  }();
  return *kMigrations;
}

absl::Status ApplyMigrations(PgConnection& conn) {
  if (conn.InTransaction()) {
    return absl::FailedPreconditionError(
        "ApplyMigrations: the connection is inside a transaction");
  }
  // The bookkeeping table itself. IF NOT EXISTS can still race between two
  // collectors on a brand-new database (both see it missing), so it is
  // created under the same advisory lock.
  absl::Status s = conn.Begin();
  if (!s.ok()) return Annotate(s, "schema_migrations");
  absl::StatusOr<PgResult> lock = conn.Query(
      absl::StrCat("SELECT pg_advisory_xact_lock(x'", kLockKey, "'::bigint)"));
  if (!lock.ok()) return RollbackAfter(conn, lock.status(), "schema_migrations");
  s = conn.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY,"
      " name text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  if (!s.ok()) return RollbackAfter(conn, s, "schema_migrations");
  s = conn.Commit();
  if (!s.ok()) return Annotate(s, "schema_migrations");

  for (const Migration& m : EmbeddedMigrations()) {
    s = ApplyOne(conn, m);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace pkiwatch::store
