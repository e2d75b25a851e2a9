#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/core/spool.h"
#include "agent/probes/probe.h"

namespace pkiwatch::agent {

// Runs each probe on its own interval, spooling every finding before anyone
// can send it. The first run of a probe is delayed by a random share of its
// jitter so that a fleet booting together does not hit a CDP at once.
// Probes run one after another on the scheduler's thread; each probe bounds
// its own run time (per-target timeouts).
class Scheduler {
 public:
  // `on_spooled` is called after findings were written to the spool.
  Scheduler(Spool* spool, std::function<void()> on_spooled)
      : spool_(spool), on_spooled_(std::move(on_spooled)) {}
  ~Scheduler();

  // Only before Start(): the background thread holds pointers into the list.
  void Add(ProbePtr probe, absl::Duration interval, absl::Duration jitter);

  // Runs every probe once, now, on the calling thread; spools the findings.
  absl::Status RunAllOnce();

  // Background operation. Start once; Stop is idempotent.
  void Start();
  void Stop();
  // Makes the background thread run the named probes (all when empty) at
  // once, e.g. for a collector's run-now command.
  void RunNow(const std::vector<std::string>& probes);

 private:
  struct Entry {
    ProbePtr probe;
    absl::Duration interval;
    absl::Duration jitter;
    absl::Time next_run;
  };
  absl::Status RunProbe(Probe& probe);
  void Loop();

  Spool* const spool_;
  const std::function<void()> on_spooled_;
  absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace pkiwatch::agent
