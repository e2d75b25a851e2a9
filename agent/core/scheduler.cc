#include "agent/core/scheduler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace pkiwatch::agent {

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Add(ProbePtr probe, absl::Duration interval, absl::Duration jitter) {
  absl::MutexLock lock(&mu_);
  const absl::Duration delay =
      jitter > absl::ZeroDuration()
          ? absl::Milliseconds(absl::Uniform<int64_t>(random_, 0, absl::ToInt64Milliseconds(jitter) + 1))
          : absl::ZeroDuration();
  entries_.push_back({std::move(probe), interval, jitter, absl::Now() + delay});
}

absl::Status Scheduler::RunProbe(Probe& probe) {
  ProbeContext context{absl::Now()};
  std::vector<v1::Finding> findings = probe.Run(context);
  std::vector<std::string> payloads;
  payloads.reserve(findings.size());
  for (const v1::Finding& f : findings) payloads.push_back(f.SerializeAsString());
  auto seqs = spool_->Append(std::move(payloads));
  if (!seqs.ok()) {
    return absl::Status(seqs.status().code(),
                        absl::StrCat("spooling ", findings.size(), " findings of probe ",
                                     std::string(probe.info().name), ": ", seqs.status().message()));
  }
  if (on_spooled_) on_spooled_();
  return absl::OkStatus();
}

absl::Status Scheduler::RunAllOnce() {
  // The entries are only added before Start, so iterating without the lock
  // while probes run is safe here; the lock guards the vector's shape.
  std::vector<Probe*> probes;
  {
    absl::MutexLock lock(&mu_);
    for (Entry& e : entries_) probes.push_back(e.probe.get());
  }
  for (Probe* probe : probes) {
    if (absl::Status s = RunProbe(*probe); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void Scheduler::Start() { thread_ = std::thread([this] { Loop(); }); }

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Scheduler::RunNow(const std::vector<std::string>& probes) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  for (Entry& e : entries_) {
    bool selected = probes.empty();
    for (const std::string& name : probes) selected |= e.probe->info().name == name;
    if (selected) e.next_run = now;
  }
  wake_ = true;
}

void Scheduler::Loop() {
  for (;;) {
    Entry* due = nullptr;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) return;
        absl::Time earliest = absl::InfiniteFuture();
        for (Entry& e : entries_) {
          if (e.next_run < earliest) {
            earliest = e.next_run;
            due = &e;
          }
        }
        if (due != nullptr && earliest <= absl::Now()) break;
        due = nullptr;
        wake_ = false;
        auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; };
        mu_.AwaitWithDeadline(absl::Condition(&woken), earliest);
      }
      // The next run is planned before this one starts, so a slow probe does
      // not drift its own schedule.
      const int64_t jitter_ms = absl::ToInt64Milliseconds(due->jitter);
      due->next_run = absl::Now() + due->interval +
                      absl::Milliseconds(jitter_ms > 0 ? absl::Uniform<int64_t>(
                                                             random_, -jitter_ms / 2, jitter_ms / 2 + 1)
                                                       : 0);
    }
    // Entries are never removed after Start, so `due` stays valid.
    if (absl::Status s = RunProbe(*due->probe); !s.ok()) LogError(s.message());
  }
}

}  // namespace pkiwatch::agent
