#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collector/store/pg_connection.h"

namespace pkiwatch::store {

// A fixed set of PostgreSQL connections shared by the ingest streams and the
// query surfaces. Broken connections are replaced on the next Acquire, so a
// database restart costs the callers one failed operation, not the process.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<PgConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // Opens one connection eagerly so that a wrong DSN fails at start.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(std::string dsn,
                                                                int max_connections);

  // Blocks while all connections are leased. Thread-safe.
  absl::StatusOr<Lease> Acquire();

  const std::string& dsn() const { return dsn_; }

 private:
  ConnectionPool(std::string dsn, int max_connections)
      : dsn_(std::move(dsn)), max_connections_(max_connections) {}
  void Release(std::unique_ptr<PgConnection> conn);

  const std::string dsn_;
  const int max_connections_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pkiwatch::store
