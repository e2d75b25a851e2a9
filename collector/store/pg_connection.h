#pragma once

// The only libpq caller in pkiwatch. Everything else talks to PostgreSQL
// through PgConnection so that error mapping, result ownership and the COPY
// protocol are handled in one place.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pkiwatch::store {

// Move-only owner of a PGresult. Values are returned as text (the queries run
// with text result format); accessors never crash on out-of-range indexes:
// they return an empty view / true for IsNull / 0.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) : result_(result) {}
  PgResult(PgResult&&) noexcept = default;
  PgResult& operator=(PgResult&&) noexcept = default;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  int cols() const;
  bool IsNull(int r, int c) const;
  // The value's text; valid while this PgResult lives. Empty for NULL.
  std::string_view Get(int r, int c) const;
  // The value parsed as a decimal int64; 0 if NULL or not a number.
  int64_t GetInt64(int r, int c) const;
  // Index of the named column, or -1.
  int ColumnIndex(std::string_view name) const;
  PGresult* get() { return result_.get(); }
  const PGresult* get() const { return result_.get(); }

 private:
  struct Deleter {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  bool InRange(int r, int c) const;
  std::unique_ptr<PGresult, Deleter> result_;
};

// One libpq connection. Not thread-safe: use one per thread (or guard it).
// Every method returns a canonical absl::Status:
//   connection failures / lost connection  -> Unavailable
//   SQLSTATE 23505 (unique_violation)      -> AlreadyExists
//   other SQLSTATE 23xxx (integrity)       -> FailedPrecondition
//   SQLSTATE 40001 / 40P01 (retryable)     -> Aborted
//   anything else                          -> Internal
// Messages name the libpq call, e.g.
//   "PQexecParams: ERROR: duplicate key ... (SQLSTATE 23505)".
class PgConnection {
 public:
  // Connects with a libpq conninfo string or URI. The error text contains
  // the DSN with any password replaced by "***".
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const std::string& dsn);

  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // Runs one or more ';'-separated statements without parameters
  // (simple query protocol). Any result other than OK/TUPLES is an error.
  absl::Status Exec(std::string_view sql);

  // One statement with $1..$n text parameters (nullopt -> SQL NULL) and text
  // results (PQexecParams).
  absl::StatusOr<PgResult> Query(
      std::string_view sql,
      const std::vector<std::optional<std::string>>& params = {});

  // Runs `copy_sql` (a "COPY ... FROM STDIN" statement, text format) and
  // streams `data`, which the caller has already escaped with CopyEscape /
  // AppendCopyNull, tab-separated, one '\n'-terminated line per row.
  // Succeeds only when PQputCopyData, PQputCopyEnd and the final command
  // result all succeed; all pending results are drained so the connection
  // stays usable after a failure.
  absl::Status CopyIn(std::string_view copy_sql, std::string_view data);

  absl::Status Begin();
  // A COMMIT of a transaction that already failed is reported by the server
  // as a successful "ROLLBACK"; Commit() turns that into Aborted.
  absl::Status Commit();
  absl::Status Rollback();

  // True while a transaction block is open (including a failed one).
  bool InTransaction() const;

  // True when the connection is lost (PQstatus != CONNECTION_OK); the
  // caller should drop this object and Connect again.
  bool IsBroken() const;

  // The DSN with its password cut, for logs.
  const std::string& redacted_dsn() const { return redacted_dsn_; }

  // For tests only.
  PGconn* raw() { return conn_.get(); }

 private:
  struct Deleter {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  PgConnection(PGconn* conn, std::string redacted_dsn);

  // Turns a PGresult from `api` into OK or a mapped error status.
  absl::Status CheckResult(std::string_view api, const PGresult* result) const;
  // Reads and discards results until PQgetResult returns NULL; returns the
  // first error seen (or OK).
  absl::Status DrainResults(std::string_view api);

  std::unique_ptr<PGconn, Deleter> conn_;
  std::string redacted_dsn_;
};

// Appends `value` to `out` escaped for COPY text format: backslash, tab,
// newline and carriage return become \\, \t, \n, \r.
void CopyEscape(std::string_view value, std::string* out);
// Appends the COPY text-format NULL marker \N.
void AppendCopyNull(std::string* out);

// Returns `dsn` with the password replaced by "***": both key/value form
// (password=secret, password='se cret') and URI form
// (postgresql://user:secret@host/db, ?password=secret).
std::string RedactDsn(std::string_view dsn);

// Quotes an SQL identifier ("name", embedded quotes doubled), for the few
// statements that cannot take parameters (CREATE DATABASE, COPY table names).
std::string QuoteIdent(std::string_view name);

// Quotes a value for a key/value conninfo string ('value', with \ and \'
// escaped), e.g. a socket directory containing spaces.
std::string QuoteConninfoValue(std::string_view value);

// The SQLSTATE attached to a status returned by PgConnection, or "" if the
// error did not come from the server.
std::string SqlStateOf(const absl::Status& status);

}  // namespace pkiwatch::store
