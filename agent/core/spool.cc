#include "agent/core/spool.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pkiwatch::agent {
namespace {

// Written to the SQLite header (PRAGMA application_id) so that another
// program's SQLite file at the configured path is refused, not modified.
constexpr int64_t kApplicationId = 0x504B5753;  // "PKWS"
// PRAGMA user_version of the schema below. Raise it with a migration.
constexpr int64_t kSchemaVersion = 1;
// A reader (e.g. a diagnostic tool) may briefly hold a lock.
constexpr int kBusyTimeoutMs = 5000;
// After a large batch the WAL file is truncated back to this size at the
// next checkpoint instead of staying at its high-water mark.
constexpr int64_t kJournalSizeLimit = 16ll << 20;
// SQLite integers are signed 64-bit: next_seq is at most this, so seqs stay
// below it.
constexpr uint64_t kMaxSeq = static_cast<uint64_t>(
    std::numeric_limits<int64_t>::max());

constexpr std::string_view kCreateSchema = R"sql(
CREATE TABLE entries (
  seq INTEGER PRIMARY KEY,
  payload BLOB NOT NULL
);
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('next_seq', 1), ('dropped_total', 0);
)sql";

// std::filesystem interprets a narrow string in the platform's code page on
// Windows; SQLite takes UTF-8 everywhere. Build the path from UTF-8.
std::filesystem::path Utf8Path(std::string_view utf8) {
  return std::filesystem::path(std::u8string(utf8.begin(), utf8.end()));
}

absl::StatusOr<uint64_t> ReadMeta(SqliteDb& db, std::string_view key) {
  absl::StatusOr<int64_t> value =
      db.QueryInt64(absl::StrFormat("SELECT value FROM meta WHERE key = '%s'",
                                    key));
  if (absl::IsNotFound(value.status())) {
    return absl::DataLossError(
        absl::StrFormat("meta row '%s' is missing", key));
  }
  if (!value.ok()) return value.status();
  if (*value < 0) {
    return absl::DataLossError(
        absl::StrFormat("meta row '%s' is negative: %d", key, *value));
  }
  return static_cast<uint64_t>(*value);
}

absl::Status WriteMeta(SqliteDb& db, std::string_view key, uint64_t value) {
  absl::StatusOr<SqliteStatement> stmt = db.Prepare(
      absl::StrFormat("UPDATE meta SET value = ?1 WHERE key = '%s'", key));
  if (!stmt.ok()) return stmt.status();
  absl::Status status = stmt->BindInt64(1, static_cast<int64_t>(value));
  if (!status.ok()) return status;
  status = stmt->Run();
  if (!status.ok()) return status;
  if (sqlite3_changes(db.get()) != 1) {
    return absl::DataLossError(
        absl::StrFormat("meta row '%s' is missing", key));
  }
  return absl::OkStatus();
}

// Checks that the file is an empty database or one of our spools, before
// anything is written to it. Returns true when the schema must be created.
absl::StatusOr<bool> CheckIdentity(SqliteDb& db) {
  // The first read of the file: a non-SQLite file fails here with
  // SQLITE_NOTADB.
  absl::StatusOr<int64_t> app_id = db.QueryInt64("PRAGMA application_id");
  if (!app_id.ok()) return app_id.status();
  absl::StatusOr<int64_t> version = db.QueryInt64("PRAGMA user_version");
  if (!version.ok()) return version.status();
  absl::StatusOr<int64_t> objects =
      db.QueryInt64("SELECT count(*) FROM sqlite_master");
  if (!objects.ok()) return objects.status();

  if (*app_id == 0 && *version == 0 && *objects == 0) return true;
  if (*app_id != kApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        "an SQLite database that is not a pkiwatch spool (application_id ",
        *app_id, ", ", *objects, " schema objects); refusing to modify it"));
  }
  if (*version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("spool schema version ", *version,
                     " is newer than this agent's ", kSchemaVersion));
  }
  if (*version != kSchemaVersion) {
    return absl::DataLossError(
        absl::StrCat("spool schema version ", *version, " is invalid"));
  }
  return false;
}

absl::Status CreateSchema(SqliteDb& db) {
  absl::StatusOr<SqliteWriteTransaction> txn = SqliteWriteTransaction::Begin(db);
  if (!txn.ok()) return txn.status();
  absl::Status status = db.Exec(kCreateSchema);
  if (!status.ok()) return status;
  status = db.Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId,
                                "; PRAGMA user_version = ", kSchemaVersion));
  if (!status.ok()) return status;
  return txn->Commit();
}

}  // namespace

absl::Status Spool::Annotate(std::string_view op,
                             const absl::Status& status) const {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrFormat("Spool::%s(%s): %s", op, options_.path,
                                      status.message()));
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(Options options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("Spool::Open: options.path is empty");
  }
  if (options.max_findings == 0 || options.max_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Spool::Open(", options.path, "): max_findings (",
        options.max_findings, ") and max_bytes (", options.max_bytes,
        ") must both be at least 1"));
  }

  std::error_code ec;
  const std::filesystem::path fs_path = Utf8Path(options.path);
  // On error assume it exists: SQLite then reports the real problem.
  const bool existed = std::filesystem::exists(fs_path, ec) || ec;

  absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(
      options.path,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  // The message already names the path.
  if (!db.ok()) return db.status();
  if (!existed) {
    // SQLite creates the file 0644 (less the umask) and gives its -wal and
    // -shm files the main file's mode; restrict it before anything is
    // written. (On Windows this only clears the read-only attribute; the
    // data directory's ACL protects the file there.)
    std::filesystem::permissions(fs_path,
                                 std::filesystem::perms::owner_read |
                                     std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("Spool::Open(", options.path,
                       "): std::filesystem::permissions(0600): ", ec.value(),
                       " ", ec.message()));
    }
  }

  auto spool = std::unique_ptr<Spool>(new Spool(std::move(options),
                                                std::move(*db)));
  absl::MutexLock lock(&spool->mu_);
  SqliteDb& sdb = *spool->db_;
  const int rc = sqlite3_busy_timeout(sdb.get(), kBusyTimeoutMs);
  if (rc != SQLITE_OK) {
    return spool->Annotate("Open", sdb.Error("sqlite3_busy_timeout", rc));
  }
  absl::StatusOr<bool> fresh = CheckIdentity(sdb);
  if (!fresh.ok()) return spool->Annotate("Open", fresh.status());

  absl::StatusOr<std::string> mode = sdb.QueryText("PRAGMA journal_mode = WAL");
  if (!mode.ok()) return spool->Annotate("Open", mode.status());
  if (*mode != "wal") {
    return spool->Annotate(
        "Open", absl::FailedPreconditionError(absl::StrCat(
                    "PRAGMA journal_mode = WAL: the file system allows only '",
                    *mode, "'")));
  }
  // FULL: a commit is synced to the WAL before it returns, so an
  // acknowledged Append survives a power loss, not only a killed process.
  absl::Status status = sdb.Exec(
      absl::StrCat("PRAGMA synchronous = FULL; PRAGMA journal_size_limit = ",
                   kJournalSizeLimit));
  if (!status.ok()) return spool->Annotate("Open", status);

  if (*fresh) {
    status = CreateSchema(sdb);
    if (!status.ok()) return spool->Annotate("Open", status);
  }
  status = spool->LoadState();
  if (!status.ok()) return spool->Annotate("Open", status);
  return spool;
}

absl::Status Spool::LoadState() {
  SqliteDb& db = *db_;
  absl::StatusOr<uint64_t> next_seq = ReadMeta(db, "next_seq");
  if (!next_seq.ok()) return next_seq.status();
  absl::StatusOr<uint64_t> dropped = ReadMeta(db, "dropped_total");
  if (!dropped.ok()) return dropped.status();

  // One pass over the rows at start; afterwards the counters are kept up to
  // date by each write.
  absl::StatusOr<SqliteStatement> stmt = db.Prepare(
      "SELECT count(*), coalesce(sum(length(payload)), 0), "
      "coalesce(max(seq), 0) FROM entries");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("aggregate query returned no row");
  const int64_t depth = stmt->ColumnInt64(0);
  const int64_t bytes = stmt->ColumnInt64(1);
  const int64_t max_seq = stmt->ColumnInt64(2);
  stmt->Reset();
  if (depth < 0 || bytes < 0 || max_seq < 0) {
    return absl::DataLossError("entries table holds negative values");
  }

  uint64_t next = std::max<uint64_t>(*next_seq, 1);
  // Never hand out a seq that is still stored (a damaged or hand-edited
  // meta row): that would make the collector discard new data as duplicate.
  if (static_cast<uint64_t>(max_seq) >= next) {
    next = static_cast<uint64_t>(max_seq) + 1;
    absl::StatusOr<SqliteWriteTransaction> txn =
        SqliteWriteTransaction::Begin(db);
    if (!txn.ok()) return txn.status();
    absl::Status status = WriteMeta(db, "next_seq", next);
    if (!status.ok()) return status;
    status = txn->Commit();
    if (!status.ok()) return status;
  }
  depth_ = static_cast<uint64_t>(depth);
  bytes_ = static_cast<uint64_t>(bytes);
  dropped_total_ = *dropped;
  next_seq_ = next;
  return absl::OkStatus();
}

absl::StatusOr<std::pair<uint64_t, uint64_t>> Spool::DeleteThrough(
    uint64_t seq) {
  SqliteDb& db = *db_;
  const int64_t bound = static_cast<int64_t>(std::min(seq, kMaxSeq));
  absl::StatusOr<SqliteStatement> count = db.Prepare(
      "SELECT count(*), coalesce(sum(length(payload)), 0) FROM entries "
      "WHERE seq <= ?1");
  if (!count.ok()) return count.status();
  absl::Status status = count->BindInt64(1, bound);
  if (!status.ok()) return status;
  absl::StatusOr<bool> row = count->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("aggregate query returned no row");
  const auto removed = std::make_pair(
      static_cast<uint64_t>(std::max<int64_t>(count->ColumnInt64(0), 0)),
      static_cast<uint64_t>(std::max<int64_t>(count->ColumnInt64(1), 0)));
  count->Reset();
  if (removed.first == 0) return removed;

  absl::StatusOr<SqliteStatement> del =
      db.Prepare("DELETE FROM entries WHERE seq <= ?1");
  if (!del.ok()) return del.status();
  status = del->BindInt64(1, bound);
  if (!status.ok()) return status;
  status = del->Run();
  if (!status.ok()) return status;
  return removed;
}

absl::StatusOr<std::vector<uint64_t>> Spool::Append(
    std::vector<std::string> payloads) {
  std::vector<uint64_t> seqs;
  if (payloads.empty()) return seqs;

  uint64_t batch_bytes = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    if (payloads[i].size() > options_.max_bytes) {
      return Annotate("Append", absl::InvalidArgumentError(absl::StrCat(
                                    "payload ", i, " has ", payloads[i].size(),
                                    " bytes, more than max_bytes (",
                                    options_.max_bytes, ")")));
    }
    batch_bytes += payloads[i].size();
  }

  absl::MutexLock lock(&mu_);
  SqliteDb& db = *db_;
  absl::StatusOr<SqliteWriteTransaction> txn = SqliteWriteTransaction::Begin(db);
  if (!txn.ok()) return Annotate("Append", txn.status());

  // Read inside the write transaction: authoritative even if another
  // process wrote to the file.
  absl::StatusOr<uint64_t> first = ReadMeta(db, "next_seq");
  if (!first.ok()) return Annotate("Append", first.status());
  // next_seq itself must stay storable, so the last seq is kMaxSeq - 1.
  if (*first == 0 || *first > kMaxSeq - payloads.size()) {
    return Annotate("Append",
                    absl::OutOfRangeError(absl::StrCat(
                        "next_seq ", *first, " leaves no room for ",
                        payloads.size(), " more entries")));
  }

  {
    absl::StatusOr<SqliteStatement> insert =
        db.Prepare("INSERT INTO entries (seq, payload) VALUES (?1, ?2)");
    if (!insert.ok()) return Annotate("Append", insert.status());
    seqs.reserve(payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) {
      const uint64_t seq = *first + i;
      absl::Status status = insert->BindInt64(1, static_cast<int64_t>(seq));
      if (status.ok()) status = insert->BindBlob(2, payloads[i]);
      if (status.ok()) status = insert->Run();
      if (!status.ok()) return Annotate("Append", status);
      insert->Reset();
      seqs.push_back(seq);
    }
  }
  const uint64_t next = *first + payloads.size();
  absl::Status status = WriteMeta(db, "next_seq", next);
  if (!status.ok()) return Annotate("Append", status);

  // Enforce the bounds by dropping from the oldest end. Each payload fits
  // max_bytes and max_findings >= 1, so the newest entry always survives.
  uint64_t depth = depth_ + payloads.size();
  uint64_t bytes = bytes_ + batch_bytes;
  uint64_t dropped = 0;
  if (depth > options_.max_findings || bytes > options_.max_bytes) {
    uint64_t cutoff = 0;
    uint64_t drop_bytes = 0;
    {
      absl::StatusOr<SqliteStatement> oldest = db.Prepare(
          "SELECT seq, length(payload) FROM entries ORDER BY seq");
      if (!oldest.ok()) return Annotate("Append", oldest.status());
      while (depth - dropped > options_.max_findings ||
             bytes - drop_bytes > options_.max_bytes) {
        absl::StatusOr<bool> row = oldest->Step();
        if (!row.ok()) return Annotate("Append", row.status());
        if (!*row) break;  // The counters overstated the table; nothing left.
        cutoff = static_cast<uint64_t>(oldest->ColumnInt64(0));
        ++dropped;
        drop_bytes += static_cast<uint64_t>(
            std::max<int64_t>(oldest->ColumnInt64(1), 0));
      }
    }
    if (dropped > 0) {
      absl::StatusOr<std::pair<uint64_t, uint64_t>> removed =
          DeleteThrough(cutoff);
      if (!removed.ok()) return Annotate("Append", removed.status());
      status = WriteMeta(db, "dropped_total", dropped_total_ + dropped);
      if (!status.ok()) return Annotate("Append", status);
    }
    depth -= std::min(depth, dropped);
    bytes -= std::min(bytes, drop_bytes);
  }

  status = txn->Commit();
  if (!status.ok()) return Annotate("Append", status);
  depth_ = depth;
  bytes_ = bytes;
  dropped_total_ += dropped;
  next_seq_ = next;
  return seqs;
}

absl::StatusOr<std::vector<Spool::Entry>> Spool::ReadAfter(uint64_t after_seq,
                                                           size_t max_count,
                                                           size_t max_bytes) {
  std::vector<Entry> entries;
  if (max_count == 0) {
    return Annotate("ReadAfter",
                    absl::InvalidArgumentError("max_count must be at least 1"));
  }
  if (after_seq >= kMaxSeq) return entries;

  absl::MutexLock lock(&mu_);
  absl::StatusOr<SqliteStatement> stmt = db_->Prepare(
      "SELECT seq, payload FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!stmt.ok()) return Annotate("ReadAfter", stmt.status());
  absl::Status status = stmt->BindInt64(1, static_cast<int64_t>(after_seq));
  if (status.ok()) {
    status = stmt->BindInt64(
        2, static_cast<int64_t>(std::min<uint64_t>(max_count, kMaxSeq)));
  }
  if (!status.ok()) return Annotate("ReadAfter", status);

  size_t total = 0;
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return Annotate("ReadAfter", row.status());
    if (!*row) break;
    std::string_view payload = stmt->ColumnBlob(1);
    if (!entries.empty() && payload.size() > max_bytes - total) break;
    total += payload.size();
    entries.push_back(Entry{static_cast<uint64_t>(stmt->ColumnInt64(0)),
                            std::string(payload)});
    // The first entry may exceed max_bytes alone; then nothing else fits.
    if (total >= max_bytes) break;
  }
  return entries;
}

absl::Status Spool::AckThrough(uint64_t seq) {
  if (seq == 0) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  absl::StatusOr<SqliteWriteTransaction> txn =
      SqliteWriteTransaction::Begin(*db_);
  if (!txn.ok()) return Annotate("AckThrough", txn.status());
  absl::StatusOr<std::pair<uint64_t, uint64_t>> removed = DeleteThrough(seq);
  if (!removed.ok()) return Annotate("AckThrough", removed.status());
  absl::Status status = txn->Commit();
  if (!status.ok()) return Annotate("AckThrough", status);
  depth_ -= std::min(depth_, removed->first);
  bytes_ -= std::min(bytes_, removed->second);
  return absl::OkStatus();
}

absl::Status Spool::EnsureSeqAbove(uint64_t seq) {
  if (seq >= kMaxSeq) {
    return Annotate("EnsureSeqAbove",
                    absl::OutOfRangeError(absl::StrCat(
                        "seq ", seq, " leaves no room for a next seq")));
  }
  absl::MutexLock lock(&mu_);
  SqliteDb& db = *db_;
  absl::StatusOr<SqliteWriteTransaction> txn = SqliteWriteTransaction::Begin(db);
  if (!txn.ok()) return Annotate("EnsureSeqAbove", txn.status());
  absl::StatusOr<std::pair<uint64_t, uint64_t>> removed = DeleteThrough(seq);
  if (!removed.ok()) return Annotate("EnsureSeqAbove", removed.status());
  absl::StatusOr<uint64_t> next = ReadMeta(db, "next_seq");
  if (!next.ok()) return Annotate("EnsureSeqAbove", next.status());
  uint64_t new_next = *next;
  if (new_next <= seq) {
    new_next = seq + 1;
    absl::Status status = WriteMeta(db, "next_seq", new_next);
    if (!status.ok()) return Annotate("EnsureSeqAbove", status);
  }
  absl::Status status = txn->Commit();
  if (!status.ok()) return Annotate("EnsureSeqAbove", status);
  depth_ -= std::min(depth_, removed->first);
  bytes_ -= std::min(bytes_, removed->second);
  next_seq_ = new_next;
  return absl::OkStatus();
}

Spool::Stats Spool::stats() {
  absl::MutexLock lock(&mu_);
  return Stats{depth_, bytes_, dropped_total_, next_seq_};
}

}  // namespace pkiwatch::agent
