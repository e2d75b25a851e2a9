#include "agent/core/sqlite_db.h"

#include <limits>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pkiwatch::agent {
namespace {

std::string_view PrimaryCodeName(int primary) {
  switch (primary) {
    case SQLITE_OK: return "SQLITE_OK";
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_EMPTY: return "SQLITE_EMPTY";
    case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_NOLFS: return "SQLITE_NOLFS";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    case SQLITE_FORMAT: return "SQLITE_FORMAT";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    case SQLITE_NOTICE: return "SQLITE_NOTICE";
    case SQLITE_WARNING: return "SQLITE_WARNING";
    case SQLITE_ROW: return "SQLITE_ROW";
    case SQLITE_DONE: return "SQLITE_DONE";
    default: return "SQLITE_UNKNOWN";
  }
}

// For errors that come from the OS, the errno SQLite saw says why (no such
// directory, permission denied, disk full), which its own text does not.
void AppendSystemErrno(sqlite3* db, int rc, std::string* text) {
  const int primary = rc & 0xff;
  if (db == nullptr || (primary != SQLITE_CANTOPEN && primary != SQLITE_IOERR &&
                        primary != SQLITE_FULL)) {
    return;
  }
  const int err = sqlite3_system_errno(db);
  if (err == 0) return;
  absl::StrAppend(text, " (errno ", err, " ",
                  std::error_code(err, std::generic_category()).message(),
                  ")");
}

}  // namespace

std::string SqliteCodeText(int rc) {
  const int primary = rc & 0xff;
  if (primary == rc) {
    return absl::StrFormat("%s (%d) %s", PrimaryCodeName(primary), rc,
                           sqlite3_errstr(rc));
  }
  return absl::StrFormat("%s (extended %d) %s", PrimaryCodeName(primary), rc,
                         sqlite3_errstr(rc));
}

absl::StatusCode SqliteToStatusCode(int rc) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return absl::StatusCode::kOk;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return absl::StatusCode::kDataLoss;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_NOLFS:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_CANTOPEN:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_TOOBIG:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return absl::StatusCode::kInvalidArgument;
    case SQLITE_ABORT:
    case SQLITE_INTERRUPT:
      return absl::StatusCode::kAborted;
    default:
      return absl::StatusCode::kInternal;
  }
}

// ---------------------------------------------------------------- SqliteDb

void SqliteDb::Closer::operator()(sqlite3* db) const {
  // close_v2 never fails for a valid handle; any statement still alive makes
  // it a zombie that is freed with the last statement.
  sqlite3_close_v2(db);
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(std::string_view path,
                                                         int flags) {
  const std::string path_z(path);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path_z.c_str(), &raw, flags, nullptr);
  // SQLite may hand back a handle even on failure; it must still be closed.
  std::unique_ptr<sqlite3, Closer> db(raw);
  if (rc != SQLITE_OK) {
    std::string detail = db ? sqlite3_errmsg(db.get()) : "";
    std::string text = absl::StrCat("sqlite3_open_v2(", path_z, "): ",
                                    SqliteCodeText(rc));
    if (!detail.empty() && detail != sqlite3_errstr(rc)) {
      absl::StrAppend(&text, ": ", detail);
    }
    AppendSystemErrno(db.get(), rc, &text);
    return absl::Status(SqliteToStatusCode(rc), text);
  }
  // Extended codes tell SQLITE_IOERR_FSYNC from SQLITE_IOERR_WRITE etc.
  sqlite3_extended_result_codes(db.get(), 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(std::move(db)));
}

absl::Status SqliteDb::Error(std::string_view what, int rc) const {
  std::string text = absl::StrFormat("%s: %s", what, SqliteCodeText(rc));
  const char* detail = db_ ? sqlite3_errmsg(db_.get()) : nullptr;
  // errmsg repeats errstr when SQLite has nothing more specific to say.
  if (detail != nullptr && std::string_view(detail) != sqlite3_errstr(rc) &&
      std::string_view(detail) != "not an error") {
    absl::StrAppend(&text, ": ", detail);
  }
  AppendSystemErrno(db_.get(), rc, &text);
  return absl::Status(SqliteToStatusCode(rc), text);
}

absl::Status SqliteDb::Exec(std::string_view sql) {
  const std::string sql_z(sql);
  char* errmsg = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql_z.c_str(), nullptr, nullptr,
                              &errmsg);
  std::unique_ptr<char, decltype(&sqlite3_free)> owned(errmsg, &sqlite3_free);
  if (rc != SQLITE_OK) return Error(absl::StrFormat("sqlite3_exec(%s)", sql), rc);
  return absl::OkStatus();
}

absl::StatusOr<SqliteStatement> SqliteDb::Prepare(std::string_view sql) {
  if (sql.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError("sqlite3_prepare_v2: SQL text too long");
  }
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db_.get(), sql.data(),
                                    static_cast<int>(sql.size()), &raw,
                                    nullptr);
  SqliteStatement stmt(raw, this);
  if (rc != SQLITE_OK) {
    return Error(absl::StrFormat("sqlite3_prepare_v2(%s)", sql), rc);
  }
  if (raw == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sqlite3_prepare_v2(%s): no statement in text", sql));
  }
  return stmt;
}

absl::StatusOr<int64_t> SqliteDb::QueryInt64(std::string_view sql) {
  absl::StatusOr<SqliteStatement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrFormat("%s: no row", sql));
  return stmt->ColumnInt64(0);
}

absl::StatusOr<std::string> SqliteDb::QueryText(std::string_view sql) {
  absl::StatusOr<SqliteStatement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrFormat("%s: no row", sql));
  return std::string(stmt->ColumnBlob(0));
}

bool SqliteDb::InTransaction() const {
  return sqlite3_get_autocommit(db_.get()) == 0;
}

// --------------------------------------------------------- SqliteStatement

void SqliteStatement::Finalizer::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

absl::Status SqliteStatement::Error(std::string_view what, int rc) const {
  const char* sql = sqlite3_sql(stmt_.get());
  return db_->Error(absl::StrFormat("%s(%s)", what, sql ? sql : ""), rc);
}

absl::Status SqliteStatement::BindInt64(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (rc != SQLITE_OK) return Error("sqlite3_bind_int64", rc);
  return absl::OkStatus();
}

absl::Status SqliteStatement::BindBlob(int index, std::string_view value) {
  // A null data pointer would bind SQL NULL; an empty payload is a
  // zero-length blob.
  static constexpr char kEmpty[] = "";
  const char* data = value.data() != nullptr ? value.data() : kEmpty;
  const int rc = sqlite3_bind_blob64(stmt_.get(), index, data,
                                     static_cast<sqlite3_uint64>(value.size()),
                                     SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) return Error("sqlite3_bind_blob64", rc);
  return absl::OkStatus();
}

absl::StatusOr<bool> SqliteStatement::Step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  absl::Status status = Error("sqlite3_step", rc);
  // Leave the statement reusable; the error is already captured.
  sqlite3_reset(stmt_.get());
  return status;
}

absl::Status SqliteStatement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void SqliteStatement::Reset() {
  // The code returned repeats the last Step's error, which was reported then.
  sqlite3_reset(stmt_.get());
}

int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string_view SqliteStatement::ColumnBlob(int column) const {
  // Pointer first, then size: the documented safe order.
  const void* data = sqlite3_column_blob(stmt_.get(), column);
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  if (data == nullptr || size <= 0) return {};
  return std::string_view(static_cast<const char*>(data),
                          static_cast<size_t>(size));
}

// -------------------------------------------------- SqliteWriteTransaction

absl::StatusOr<SqliteWriteTransaction> SqliteWriteTransaction::Begin(
    SqliteDb& db) {
  absl::Status status = db.Exec("BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  return SqliteWriteTransaction(&db);
}

absl::Status SqliteWriteTransaction::Commit() {
  if (db_ == nullptr) {
    return absl::FailedPreconditionError("COMMIT: no transaction is open");
  }
  absl::Status status = db_->Exec("COMMIT");
  if (status.ok()) db_ = nullptr;
  return status;
}

SqliteWriteTransaction::~SqliteWriteTransaction() {
  // After some errors (SQLITE_FULL, SQLITE_IOERR) SQLite has already rolled
  // back; a second ROLLBACK would only fail.
  if (db_ != nullptr && db_->InTransaction()) {
    db_->Exec("ROLLBACK").IgnoreError();
  }
}

}  // namespace pkiwatch::agent
