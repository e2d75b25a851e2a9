#pragma once

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/store/connection_pool.h"

namespace pkiwatch::store {

// Housekeeping of the database: daily finding partitions created ahead of
// time, partitions and rollups past their retention dropped. Runs once at
// Start (so ingest never lacks today's partition) and then hourly on its own
// thread.
class Maintenance {
 public:
  struct Options {
    absl::Duration findings_retention = absl::Hours(24 * 30);
    absl::Duration rollup_retention = absl::Hours(24 * 400);
    absl::Duration interval = absl::Hours(1);
  };

  // Fails when the first pass fails (e.g. no permission to create tables).
  static absl::StatusOr<std::unique_ptr<Maintenance>> Start(ConnectionPool* pool,
                                                            Options options);
  ~Maintenance();
  void Stop();

  // One pass, now; thread-safe.
  absl::Status RunOnce();

 private:
  Maintenance(ConnectionPool* pool, Options options) : pool_(pool), options_(options) {}
  void Loop();

  ConnectionPool* const pool_;
  const Options options_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pkiwatch::store
