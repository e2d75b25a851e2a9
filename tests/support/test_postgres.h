#pragma once

// A throwaway PostgreSQL cluster for tests (EmbeddedPostgres with
// fsync=off) in a fresh /tmp directory that is removed afterwards. The
// cluster is copied from a template built once per user and PostgreSQL major
// version in /tmp/pkiwatch-test-pg-cache-<uid>/ (initdb is the slow part);
// delete that directory to force a fresh initdb.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "collector/store/embedded_postgres.h"
#include "collector/store/pg_connection.h"

namespace pkiwatch::testing {

class TestPostgres {
 public:
  // Starts a new cluster (about a second). Usually Shared() is enough.
  static absl::StatusOr<std::unique_ptr<TestPostgres>> Start();

  // One cluster per test process, started on first use and stopped and
  // removed at exit. Thread-safe. Typical use:
  //   absl::StatusOr<TestPostgres*> pg = TestPostgres::Shared();
  //   ASSERT_TRUE(pg.ok()) << pg.status();
  static absl::StatusOr<TestPostgres*> Shared();

  // Stops the server and removes the directory.
  ~TestPostgres();
  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  // DSN of the database "pkiwatch" (created empty, no migrations applied).
  const std::string& dsn() const { return server_->dsn(); }
  const std::string& data_dir() const { return dir_; }
  store::EmbeddedPostgres& server() { return *server_; }

  absl::StatusOr<std::unique_ptr<store::PgConnection>> Connect() const;

  // Creates a new empty database with a unique name and returns its DSN, so
  // tests sharing the cluster do not see each other's schema. Thread-safe.
  absl::StatusOr<std::string> CreateDatabase();

 private:
  TestPostgres() = default;

  std::string dir_;
  std::unique_ptr<store::EmbeddedPostgres> server_;
};

}  // namespace pkiwatch::testing
