#pragma once

// A thin RAII layer over the SQLite C API: one owner for the connection, one
// for each prepared statement, and a guard that rolls back a write
// transaction unless it was committed. Every failure becomes an absl::Status
// whose text names the step, the SQLite code and its meaning.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pkiwatch::agent {

// "SQLITE_NOTADB (26) file is not a database" for a result code; extended
// codes are named by their primary code and shown with their number.
std::string SqliteCodeText(int rc);

// The canonical absl code for a SQLite result code (BUSY -> Unavailable,
// CORRUPT/NOTADB -> DataLoss, FULL -> ResourceExhausted, ...).
absl::StatusCode SqliteToStatusCode(int rc);

class SqliteStatement;

// Owns one sqlite3 connection; closes it on destruction. Move-only.
// Not thread-safe: the owner serializes all use of the connection and of the
// statements prepared on it. Statements must be destroyed before the SqliteDb.
class SqliteDb {
 public:
  // sqlite3_open_v2(path, flags). On failure the error names the path.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(std::string_view path,
                                                         int flags);

  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows needed by the caller.
  absl::Status Exec(std::string_view sql);

  // Prepares a single statement.
  absl::StatusOr<SqliteStatement> Prepare(std::string_view sql);

  // Runs `sql` (one statement) and returns the first column of its first
  // row as an integer; NotFound when there is no row.
  absl::StatusOr<int64_t> QueryInt64(std::string_view sql);

  // Runs `sql` (one statement) and returns the first column of its first
  // row as text; NotFound when there is no row.
  absl::StatusOr<std::string> QueryText(std::string_view sql);

  // Builds the status for result code `rc` returned by the step `what`,
  // adding the connection's detail message (sqlite3_errmsg).
  absl::Status Error(std::string_view what, int rc) const;

  // True while an explicit transaction is open on this connection.
  bool InTransaction() const;

  sqlite3* get() const { return db_.get(); }

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  explicit SqliteDb(std::unique_ptr<sqlite3, Closer> db) : db_(std::move(db)) {}

  std::unique_ptr<sqlite3, Closer> db_;
};

// Owns one prepared statement; finalizes it on destruction. Move-only.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&&) = default;
  SqliteStatement& operator=(SqliteStatement&&) = default;

  // Parameter indexes start at 1, as in sqlite3_bind_*. Values are copied.
  absl::Status BindInt64(int index, int64_t value);
  absl::Status BindBlob(int index, std::string_view value);

  // Advances the statement: true when a row is available, false when done.
  absl::StatusOr<bool> Step();

  // Steps until done, ignoring any rows.
  absl::Status Run();

  // Resets the statement so it can run again; bindings are kept. Also ends
  // the statement's read of the database, which lets WAL checkpoints proceed.
  void Reset();

  // Column accessors for the current row; column indexes start at 0. The
  // returned view is valid until the next Step, Reset or destruction.
  int64_t ColumnInt64(int column) const;
  std::string_view ColumnBlob(int column) const;

 private:
  friend class SqliteDb;
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  SqliteStatement(sqlite3_stmt* stmt, const SqliteDb* db)
      : stmt_(stmt), db_(db) {}

  absl::Status Error(std::string_view what, int rc) const;

  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  const SqliteDb* db_;  // Not owned; outlives the statement.
};

// BEGIN IMMEDIATE on creation (takes the write lock up front, so a busy
// database is reported at BEGIN and never as a failed lock upgrade later);
// ROLLBACK on destruction unless Commit() succeeded. Move-only.
class SqliteWriteTransaction {
 public:
  static absl::StatusOr<SqliteWriteTransaction> Begin(SqliteDb& db);

  SqliteWriteTransaction(SqliteWriteTransaction&& other) noexcept
      : db_(other.db_) {
    other.db_ = nullptr;
  }
  SqliteWriteTransaction& operator=(SqliteWriteTransaction&&) = delete;
  SqliteWriteTransaction(const SqliteWriteTransaction&) = delete;
  SqliteWriteTransaction& operator=(const SqliteWriteTransaction&) = delete;
  ~SqliteWriteTransaction();

  // COMMIT. After a failure the destructor rolls back what is left.
  absl::Status Commit();

 private:
  explicit SqliteWriteTransaction(SqliteDb* db) : db_(db) {}

  SqliteDb* db_;  // Not owned; null once committed or moved from.
};

}  // namespace pkiwatch::agent
