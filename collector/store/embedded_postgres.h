#pragma once

// A private PostgreSQL cluster run from the installed binaries: the
// collector's zero-setup default (no --database-url) and the tests'
// throwaway database.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pkiwatch::store {

class EmbeddedPostgres {
 public:
  struct Options {
    // The cluster lives in data_dir/pg, its log in data_dir/postgres.log,
    // its socket in data_dir/run (or a private /tmp dir if that path is too
    // long for a unix socket).
    std::string data_dir;
    // Directory with initdb/pg_ctl; empty: the newest
    // /usr/lib/postgresql/<N>/bin.
    std::string bindir;
    // Tests only: initdb --no-sync, fsync=off, full_page_writes=off.
    bool fast_unsafe = false;
    // Created on start if missing.
    std::string database = "pkiwatch";
  };

  // Initialises the cluster on first use, starts it and creates the
  // database. A postmaster still running from a killed previous run is
  // reused if it accepts connections; a dead one not yet reaped is waited
  // for, and a postmaster.pid whose PID now belongs to a non-PostgreSQL
  // process (reboot, container restart) is removed as stale.
  // When running as root the server runs as the `postgres` user, which must
  // be able to reach data_dir. Errors: InvalidArgument (bad options),
  // NotFound (no PostgreSQL binaries), FailedPrecondition (permissions),
  // Internal (initdb/pg_ctl failed; the message carries their output).
  static absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> Start(
      Options options);

  // The bindir Start would use: `requested` if it holds pg_ctl and initdb,
  // else the newest /usr/lib/postgresql/<N>/bin. NotFound if none.
  static absl::StatusOr<std::string> FindBindir(const std::string& requested);

  EmbeddedPostgres(const EmbeddedPostgres&) = delete;
  EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;
  // Calls Stop() and ignores its error.
  ~EmbeddedPostgres();

  // libpq DSN over the unix socket, e.g.
  // "host=/path/run port=5432 dbname=pkiwatch user=postgres".
  const std::string& dsn() const { return dsn_; }
  // DSN for the maintenance database "postgres".
  const std::string& admin_dsn() const { return admin_dsn_; }
  // DSN for another database in this cluster (e.g. one per test).
  std::string DsnFor(const std::string& database) const;
  const std::string& cluster_dir() const { return cluster_dir_; }
  const std::string& socket_dir() const { return socket_dir_; }

  // pg_ctl stop -m fast. Idempotent.
  absl::Status Stop();

 private:
  EmbeddedPostgres() = default;

  Options options_;
  std::string bindir_;
  std::string cluster_dir_;
  std::string socket_dir_;
  bool socket_dir_is_temp_ = false;
  std::string log_path_;
  std::string dsn_;
  std::string admin_dsn_;
  int port_ = 5432;
  // Root runs the server as `postgres` (it refuses to run as root).
  bool as_postgres_user_ = false;
  bool running_ = false;
};

}  // namespace pkiwatch::store
