#include "collector/store/connection_pool.h"

#include <utility>

namespace pkiwatch::store {

ConnectionPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(
    std::string dsn, int max_connections) {
  auto conn = PgConnection::Connect(dsn);
  if (!conn.ok()) return conn.status();
  std::unique_ptr<ConnectionPool> pool(
      new ConnectionPool(std::move(dsn), max_connections < 1 ? 1 : max_connections));
  absl::MutexLock lock(&pool->mu_);
  pool->idle_.push_back(*std::move(conn));
  pool->open_ = 1;
  return pool;
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < max_connections_;
    };
    mu_.Await(absl::Condition(&available));
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (!conn->IsBroken()) return Lease(this, std::move(conn));
      // Broken: drop it and open a fresh one below.
      --open_;
    }
    ++open_;  // reserve the slot before connecting without the lock
  }
  auto conn = PgConnection::Connect(dsn_);
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return conn.status();
  }
  return Lease(this, *std::move(conn));
}

void ConnectionPool::Release(std::unique_ptr<PgConnection> conn) {
  absl::MutexLock lock(&mu_);
  if (conn->IsBroken()) {
    --open_;
    return;
  }
  idle_.push_back(std::move(conn));
}

}  // namespace pkiwatch::store
