// The agent's runtime with a live event source, against the collector's
// real services and PostgreSQL: records a source pushes from its own
// threads go through the event pipeline (flood control included) and the
// spool to the collector; stopping the runtime summarizes open floods.

#include "agent/core/agent_runtime.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/core/config.h"
#include "collector/store/pg_connection.h"
#include "gtest/gtest.h"
#include "tests/integration/in_process_collector.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch::agent {
namespace {

constexpr char kSecret[] = "runtime-secret";

// A classic Application-log CAPI2 4107, `second` seconds after now-1h (the
// agent's windows run on event time).
std::string Event4107(uint64_t record, absl::Time t) {
  return absl::StrCat(
      "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
      "<Provider Name=\"Microsoft-Windows-CAPI2\"/><EventID Qualifiers=\"0\">4107</EventID>"
      "<Level>2</Level><TimeCreated SystemTime=\"",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()),
      "\"/><EventRecordID>", record,
      "</EventRecordID><Channel>Application</Channel><Computer>this-host</Computer></System>"
      "<EventData><Data>http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/"
      "authrootstl.cab</Data><Data>A required certificate is not within its validity period "
      "when verifying against the current system clock or the timestamp in the signed "
      "file.</Data></EventData></Event>");
}

// Pushes a flood from two threads, like an event log's thread pool.
class FloodSource final : public EventSource {
 public:
  FloodSource(EventSource::Sink sink, int per_thread) {
    const absl::Time start = absl::Now() - absl::Minutes(2);
    for (int t = 0; t < 2; ++t) {
      threads_.emplace_back([sink, per_thread, start, t] {
        for (int i = 0; i < per_thread; ++i) {
          sink(Event4107(1 + t * per_thread + i, start + absl::Milliseconds(i)));
        }
        sink("<Event><System>not a record</System></Event>");  // counted, not fatal
      });
    }
  }
  ~FloodSource() override {
    for (std::thread& t : threads_) t.join();
  }

 private:
  std::vector<std::thread> threads_;
};

TEST(AgentRuntime, LiveEventFloodReachesTheCollectorAsOneCountedPattern) {
  auto pg = testing::TestPostgres::Shared();
  ASSERT_TRUE(pg.ok()) << pg.status();
  auto dsn = (*pg)->CreateDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto collector = testing::InProcessCollector::Start(*dsn, kSecret);
  ASSERT_TRUE(collector.ok()) << collector.status();
  auto db = store::PgConnection::Connect(*dsn);
  ASSERT_TRUE(db.ok()) << db.status();
  testing::ScopedTempDir state;

  AgentRunOptions options;
  options.config.set_collector((*collector)->address());
  options.config.set_state_dir(state.path());
  ApplyDefaults(&options.config);
  options.enroll_secret = kSecret;
  options.host.set_hostname("this-host");
  options.event_flush_interval = absl::Milliseconds(100);
  constexpr int kPerThread = 5000;
  std::atomic<bool> started{false};
  options.event_sources = [&](const v1::AgentConfig&, EventSource::Sink sink)
      -> absl::StatusOr<std::vector<std::unique_ptr<EventSource>>> {
    std::vector<std::unique_ptr<EventSource>> sources;
    sources.push_back(std::make_unique<FloodSource>(std::move(sink), kPerThread));
    started = true;
    return sources;
  };

  absl::Notification stop;
  int code = -1;
  std::thread agent([&] { code = RunAgent(options, stop); });
  // The first occurrence goes out at once: wait for it (bounded).
  auto count = [&](const std::string& sql) -> int64_t {
    auto r = (*db)->Query(sql);
    return r.ok() && r->rows() > 0 && !r->IsNull(0, 0) ? r->GetInt64(0, 0) : -1;
  };
  const std::string kEventCount =
      "SELECT sum((detail->'event'->>'count')::bigint) FROM findings WHERE probe = 'eventlog'";
  for (int i = 0; i < 300 && count(kEventCount) < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(started);
  EXPECT_GE(count(kEventCount), 1);
  stop.Notify();  // closes the window: the summary carries the rest
  agent.join();
  EXPECT_EQ(code, 0);

  // The stopped agent spooled the summary; a --once run delivers it.
  options.event_sources = nullptr;
  options.once = true;
  options.once_timeout = absl::Seconds(30);
  absl::Notification unused;
  EXPECT_EQ(RunAgent(options, unused), 0);
  EXPECT_EQ(count(kEventCount), 2 * kPerThread);
  EXPECT_LE(count("SELECT count(*) FROM findings WHERE probe = 'eventlog'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM current_state WHERE probe = 'eventlog' AND status = 3"), 1);
}

}  // namespace
}  // namespace pkiwatch::agent
