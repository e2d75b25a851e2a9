#include "agent/core/scheduler.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/core/spool.h"
#include "agent/probes/probe.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pkiwatch::agent {
namespace {

constexpr ProbeInfo kAlphaInfo{"alpha", "test probe", "", "linux"};
constexpr ProbeInfo kBetaInfo{"beta", "test probe", "", "linux"};

// A real Probe that makes `findings_per_run` findings per run and counts its
// runs; Run may be called from the scheduler's thread.
class CountingProbe : public Probe {
 public:
  CountingProbe(const ProbeInfo& info, int findings_per_run, size_t summary_bytes = 0)
      : info_(info), findings_per_run_(findings_per_run), summary_bytes_(summary_bytes) {}

  const ProbeInfo& info() const override { return info_; }

  std::vector<v1::Finding> Run(const ProbeContext& ctx) override {
    const int run = runs_.fetch_add(1) + 1;
    std::vector<v1::Finding> findings;
    for (int i = 0; i < findings_per_run_; ++i) {
      v1::Finding f;
      f.set_probe(std::string(info_.name));
      f.set_target(absl::StrCat("target-", i));
      f.set_status(v1::STATUS_OK);
      f.mutable_observed_at()->set_seconds(absl::ToUnixSeconds(ctx.now));
      f.set_summary(absl::StrCat("run ", run, std::string(summary_bytes_, '.')));
      findings.push_back(std::move(f));
    }
    return findings;
  }

  int runs() const { return runs_.load(); }

 private:
  const ProbeInfo& info_;
  const int findings_per_run_;
  const size_t summary_bytes_;
  std::atomic<int> runs_{0};
};

// Polls `done` until it holds or 10 s passed; returns its last value. Only
// bounds the wait: nothing asserts how long it took.
bool WaitFor(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > deadline) return done();
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "cannot create a temp dir";
    OpenSpool();
  }

  void OpenSpool(const std::string& name = "spool.db", uint64_t max_bytes = 256ull << 20) {
    absl::StatusOr<std::unique_ptr<Spool>> spool =
        Spool::Open({dir_.path() + "/" + name, 200000, max_bytes});
    ASSERT_TRUE(spool.ok()) << spool.status();
    spool_ = std::move(*spool);
  }

  // Every spooled finding, parsed, in seq order.
  std::vector<v1::Finding> Spooled() {
    std::vector<v1::Finding> out;
    absl::StatusOr<std::vector<Spool::Entry>> entries =
        spool_->ReadAfter(0, 100000, 256u << 20);
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (!entries.ok()) return out;
    for (const Spool::Entry& e : *entries) {
      v1::Finding f;
      EXPECT_TRUE(f.ParseFromString(e.payload)) << "seq " << e.seq;
      out.push_back(std::move(f));
    }
    return out;
  }

  testing::ScopedTempDir dir_;
  std::unique_ptr<Spool> spool_;
  std::atomic<int> spooled_calls_{0};
  std::function<void()> on_spooled_ = [this] { spooled_calls_.fetch_add(1); };
};

TEST_F(SchedulerTest, RunAllOnceSpoolsEveryFindingAndCallsBack) {
  Scheduler scheduler(spool_.get(), on_spooled_);
  auto alpha = std::make_unique<CountingProbe>(kAlphaInfo, 3);
  auto beta = std::make_unique<CountingProbe>(kBetaInfo, 2);
  CountingProbe* a = alpha.get();
  CountingProbe* b = beta.get();
  scheduler.Add(std::move(alpha), absl::Hours(1), absl::ZeroDuration());
  scheduler.Add(std::move(beta), absl::Hours(1), absl::ZeroDuration());

  ASSERT_TRUE(scheduler.RunAllOnce().ok());
  EXPECT_EQ(a->runs(), 1);
  EXPECT_EQ(b->runs(), 1);
  EXPECT_EQ(spooled_calls_.load(), 2);  // once per probe run
  EXPECT_EQ(spool_->stats().depth, 5u);

  const std::vector<v1::Finding> findings = Spooled();
  ASSERT_EQ(findings.size(), 5u);
  // Probes run in the order they were added, findings in probe order.
  const char* expected[][2] = {{"alpha", "target-0"}, {"alpha", "target-1"},
                               {"alpha", "target-2"}, {"beta", "target-0"},
                               {"beta", "target-1"}};
  for (size_t i = 0; i < findings.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(findings[i].probe(), expected[i][0]);
    EXPECT_EQ(findings[i].target(), expected[i][1]);
  }

  ASSERT_TRUE(scheduler.RunAllOnce().ok());
  EXPECT_EQ(a->runs(), 2);
  EXPECT_EQ(spool_->stats().depth, 10u);
  EXPECT_EQ(spooled_calls_.load(), 4);
}

TEST_F(SchedulerTest, RunAllOnceWithoutCallbackOrProbes) {
  Scheduler empty(spool_.get(), nullptr);
  EXPECT_TRUE(empty.RunAllOnce().ok());

  Scheduler scheduler(spool_.get(), nullptr);
  auto probe = std::make_unique<CountingProbe>(kAlphaInfo, 0);
  CountingProbe* p = probe.get();
  scheduler.Add(std::move(probe), absl::Hours(1), absl::ZeroDuration());
  EXPECT_TRUE(scheduler.RunAllOnce().ok());
  EXPECT_EQ(p->runs(), 1);
  EXPECT_EQ(spool_->stats().depth, 0u);
}

TEST_F(SchedulerTest, RunAllOnceReportsSpoolFailure) {
  // A spool whose byte bound is smaller than one finding refuses it.
  OpenSpool("small.db", /*max_bytes=*/64);
  Scheduler scheduler(spool_.get(), on_spooled_);
  scheduler.Add(std::make_unique<CountingProbe>(kBetaInfo, 1, /*summary_bytes=*/200),
                absl::Hours(1), absl::ZeroDuration());
  const absl::Status status = scheduler.RunAllOnce();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "probe beta")) << status;
  EXPECT_EQ(spooled_calls_.load(), 0);
  EXPECT_EQ(spool_->stats().depth, 0u);
}

TEST_F(SchedulerTest, StartRunsRepeatedly) {
  auto probe = std::make_unique<CountingProbe>(kAlphaInfo, 2);
  CountingProbe* p = probe.get();
  {
    Scheduler scheduler(spool_.get(), on_spooled_);
    scheduler.Add(std::move(probe), absl::Milliseconds(20), absl::Milliseconds(10));
    scheduler.Start();
    ASSERT_TRUE(WaitFor([&] { return p->runs() >= 3; }))
        << "only " << p->runs() << " runs in 10 s";
    scheduler.Stop();
    const int runs = p->runs();
    // After Stop nothing runs any more, and every run was spooled.
    EXPECT_EQ(spooled_calls_.load(), runs);
    EXPECT_EQ(spool_->stats().depth, 2u * static_cast<uint64_t>(runs));
    absl::SleepFor(absl::Milliseconds(60));
    EXPECT_EQ(p->runs(), runs);
  }
}

TEST_F(SchedulerTest, RunNowRunsOnlyTheNamedProbe) {
  Scheduler scheduler(spool_.get(), on_spooled_);
  auto alpha = std::make_unique<CountingProbe>(kAlphaInfo, 1);
  auto beta = std::make_unique<CountingProbe>(kBetaInfo, 1);
  CountingProbe* a = alpha.get();
  CountingProbe* b = beta.get();
  // Without jitter the first run is due at once; the next only in a day.
  scheduler.Add(std::move(alpha), absl::Hours(24), absl::ZeroDuration());
  scheduler.Add(std::move(beta), absl::Hours(24), absl::ZeroDuration());
  scheduler.Start();
  ASSERT_TRUE(WaitFor([&] { return a->runs() == 1 && b->runs() == 1; }))
      << "first runs: alpha " << a->runs() << ", beta " << b->runs();

  scheduler.RunNow({"beta"});
  ASSERT_TRUE(WaitFor([&] { return b->runs() == 2; })) << "beta ran " << b->runs();
  EXPECT_EQ(a->runs(), 1);

  scheduler.RunNow({"no-such-probe"});
  scheduler.RunNow({"alpha"});
  ASSERT_TRUE(WaitFor([&] { return a->runs() == 2; })) << "alpha ran " << a->runs();
  EXPECT_EQ(b->runs(), 2);

  // No names: every probe.
  scheduler.RunNow({});
  ASSERT_TRUE(WaitFor([&] { return a->runs() == 3 && b->runs() == 3; }))
      << "alpha " << a->runs() << ", beta " << b->runs();
  scheduler.Stop();
  EXPECT_EQ(spool_->stats().depth, 6u);
  EXPECT_EQ(spooled_calls_.load(), 6);
}

TEST_F(SchedulerTest, StopIsPromptAndIdempotent) {
  auto probe = std::make_unique<CountingProbe>(kAlphaInfo, 1);
  CountingProbe* p = probe.get();
  Scheduler scheduler(spool_.get(), on_spooled_);
  scheduler.Add(std::move(probe), absl::Hours(24), absl::ZeroDuration());
  scheduler.Start();
  ASSERT_TRUE(WaitFor([&] { return p->runs() == 1; }));
  // The thread now waits a day for the next run: Stop must wake it (a Stop
  // that waited for the deadline would hang this test).
  scheduler.Stop();
  scheduler.Stop();
  EXPECT_EQ(p->runs(), 1);
  // RunNow after Stop has nobody to wake and must not block or run.
  scheduler.RunNow({});
  EXPECT_EQ(p->runs(), 1);
}

TEST_F(SchedulerTest, StopWithoutStartAndDestructorAfterStop) {
  {
    Scheduler scheduler(spool_.get(), on_spooled_);
    scheduler.Add(std::make_unique<CountingProbe>(kAlphaInfo, 1), absl::Hours(1),
                  absl::ZeroDuration());
    scheduler.Stop();
    scheduler.Stop();
  }
  {
    // Destruction stops a running scheduler.
    Scheduler scheduler(spool_.get(), on_spooled_);
    auto probe = std::make_unique<CountingProbe>(kAlphaInfo, 1);
    CountingProbe* p = probe.get();
    scheduler.Add(std::move(probe), absl::Hours(24), absl::ZeroDuration());
    scheduler.Start();
    ASSERT_TRUE(WaitFor([&] { return p->runs() == 1; }));
  }
  EXPECT_EQ(spooled_calls_.load(), 1);
}

}  // namespace
}  // namespace pkiwatch::agent
