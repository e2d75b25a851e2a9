#include "collector/store/maintenance.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "collector/store/partitions.h"
#include "common/log.h"

namespace pkiwatch::store {

absl::StatusOr<std::unique_ptr<Maintenance>> Maintenance::Start(ConnectionPool* pool,
                                                                Options options) {
  std::unique_ptr<Maintenance> m(new Maintenance(pool, options));
  if (absl::Status s = m->RunOnce(); !s.ok()) return s;
  m->thread_ = std::thread([raw = m.get()] { raw->Loop(); });
  return m;
}

Maintenance::~Maintenance() { Stop(); }

void Maintenance::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Maintenance::RunOnce() {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  const absl::Time now = absl::Now();
  if (absl::Status s = EnsureFindingPartitions(**lease, now); !s.ok()) return s;
  auto dropped = DropExpiredFindingPartitions(**lease, now, options_.findings_retention);
  if (!dropped.ok()) return dropped.status();
  if (!dropped->empty()) {
    LogInfo("retention: dropped ", absl::StrJoin(*dropped, ", "));
  }
  // Whole days only, from both rollups alike, so every day still kept in
  // the daily rollups is the sum of its hourly rows.
  const std::string retention = absl::StrCat(absl::ToInt64Seconds(options_.rollup_retention));
  auto hourly = (*lease)->Query(
      "DELETE FROM finding_rollups_hourly "
      "WHERE bucket < date_trunc('day', now() - make_interval(secs => $1))",
      {retention});
  if (!hourly.ok()) return hourly.status();
  auto daily = (*lease)->Query(
      "DELETE FROM failing_rollups_daily "
      "WHERE day < date_trunc('day', now() - make_interval(secs => $1))",
      {retention});
  if (!daily.ok()) return daily.status();
  // CRL history lives as long as the rollups it is read beside.
  auto versions = (*lease)->Query(
      "DELETE FROM crl_versions WHERE last_seen < now() - make_interval(secs => $1)", {retention});
  return versions.status();
}

void Maintenance::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), options_.interval)) return;
    }
    if (absl::Status s = RunOnce(); !s.ok()) LogError("maintenance: ", s.message());
  }
}

}  // namespace pkiwatch::store
