// The writer-maintained pattern counters against the live aggregation they
// replace: random current_state transitions through the real batch writer
// (status flips, dimension changes, new and vanishing keys, hosts moving to
// another site or hostname, results going stale) and, after every round,
// ListPatterns must answer exactly like the from-scratch query for every
// grouping, with and without a window, with and without healthy keys, page
// by page.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/ingest/node_registry.h"
#include "collector/query/pattern_query.h"
#include "collector/store/connection_pool.h"
#include "collector/store/finding_writer.h"
#include "collector/store/migrations.h"
#include "common/error_catalogue.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/integration/live_patterns.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch {
namespace {

constexpr char kSecret[] = "pattern-counters-test-secret";

// Result ages, kept an hour or more away from the windows the checks use
// (3 h, one day, five days), so the live query and the counters, run a
// moment apart, agree on which results are inside.
enum class Age { kFresh, kHoursOld, kDaysOld, kWeeksOld, kFuture };

struct Universe {
  // Two CAs whose shown names collide ("Corp CA [k1]"), two templates with
  // one display name, one with no name (shown by OID): keys are names, not
  // ids.
  std::vector<std::pair<std::string, std::string>> cas = {
      {"CN=Root CA", ""}, {"Corp CA", "k1"}, {"Corp CA [k1]", ""}, {"CN=Issuing CA", "ab12"}};
  std::vector<std::pair<std::string, std::string>> templates = {
      {"Machine", "1.3.6.1.4.1.311.21.8.1"},
      {"Machine", "1.3.6.1.4.1.311.21.8.2"},
      {"", "1.3.6.1.4.1.311.21.8.3"},
      {"WebServer", "1.3.6.1.4.1.311.21.8.4"}};
  std::vector<std::string> urls = {
      "http://pki.corp.example/a.crl", "http://pki.corp.example/b.crl",
      "http://pki.corp.example/c.crl", "http://ocsp.corp.example/",
      "ldap:///CN=Corp,CN=CDP", "http://aia.corp.example/ca.crt"};
  std::vector<uint32_t> errors = {hr::kCryptERevocationOffline, hr::kEFail, 0x80092013u,
                                  0x800B0101u};
  std::vector<std::string> sites = {"", "berlin", "paris", "(no site)", "oslo"};
  std::vector<std::string> hostnames = {"", "ws1", "ws2", "ws3", "shared", "shared"};
};

class PatternCountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::TestPostgres::Shared();
    ASSERT_TRUE(pg.ok()) << pg.status();
    auto dsn = (*pg)->CreateDatabase();
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    auto conn = store::PgConnection::Connect(*dsn);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = *std::move(conn);
    ASSERT_TRUE(store::ApplyMigrations(*conn_).ok());
    auto pool = store::ConnectionPool::Create(*dsn, 6);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    auto writer = store::FindingWriter::Create(pool_.get());
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = *std::move(writer);
    registry_ = std::make_unique<ingest::NodeRegistry>(pool_.get(), kSecret);
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  }

  // What a node last reported per (probe, target), so that most new
  // results repeat the previous status, error and dimensions, as real hosts
  // do, and only some change them.
  struct Slot {
    v1::Status status = v1::STATUS_UNSPECIFIED;
    uint32_t hresult = 0;
    v1::Dimensions dimensions;
    int64_t observed = 0;  // seconds
  };
  struct Node {
    std::string id;
    uint64_t seq = 0;
    std::map<std::string, Slot> slots;
  };

  v1::HostFacts RandomHost(std::mt19937& rng) {
    v1::HostFacts host;
    host.set_hostname(Pick(rng, universe_.hostnames));
    host.set_site(Pick(rng, universe_.sites));
    return host;
  }

  void EnrollNodes(int n, std::mt19937& rng) {
    for (int i = 0; i < n; ++i) {
      v1::EnrollRequest request;
      request.set_enroll_secret(kSecret);
      *request.mutable_host() = RandomHost(rng);
      auto enrolled = registry_->Enroll(request);
      ASSERT_TRUE(enrolled.ok()) << enrolled.status();
      nodes_.push_back({enrolled->node_id()});
    }
  }

  template <typename T>
  static const T& Pick(std::mt19937& rng, const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  }
  static int Roll(std::mt19937& rng, int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng);
  }

  absl::Time ObservedAt(std::mt19937& rng, Age age) {
    const int64_t s = std::uniform_int_distribution<int64_t>(0, 3600)(rng);
    switch (age) {
      case Age::kFresh: return now_ - absl::Seconds(s);
      case Age::kHoursOld: return now_ - absl::Hours(6) - absl::Seconds(s);
      case Age::kDaysOld: return now_ - absl::Hours(24 * 3) - absl::Seconds(s);
      case Age::kWeeksOld:
        return now_ - absl::Hours(24 * std::uniform_int_distribution<int>(1, 14)(rng) + 1) -
               absl::Seconds(s);
      case Age::kFuture: return now_ + absl::Hours(2) + absl::Seconds(s);
    }
    return now_;
  }

  v1::Dimensions RandomDimensions(std::mt19937& rng, const std::string& probe) {
    v1::Dimensions d;
    if (probe == "clock") return d;
    if (Roll(rng, 4) != 0) {
      d.set_url(Pick(rng, universe_.urls));
      d.set_url_kind(static_cast<v1::UrlKind>(1 + Roll(rng, 3)));
    }
    if (Roll(rng, 3) != 0) {
      const auto& [ca, key_id] = Pick(rng, universe_.cas);
      d.set_ca(ca);
      d.set_ca_key_id(key_id);
    }
    if (probe == "enroll" || Roll(rng, 4) == 0) {
      const auto& [name, oid] = Pick(rng, universe_.templates);
      d.set_template_name(name);
      d.set_template_oid(oid);
    }
    return d;
  }

  // A result for one of a few (probe, target) slots of `node`, so later
  // rounds overwrite earlier ones. Status, error and dimensions mostly stay
  // as they were; the age is drawn anew each time.
  v1::Finding RandomFinding(std::mt19937& rng, Node& node) {
    static const std::vector<std::string> probes = {"crl", "ocsp", "aia", "clock", "enroll"};
    v1::Finding f;
    f.set_probe(Pick(rng, probes));
    f.set_target(absl::StrCat("t", Roll(rng, 3)));
    Slot& slot = node.slots[absl::StrCat(f.probe(), "/", f.target())];
    if (slot.status == v1::STATUS_UNSPECIFIED || Roll(rng, 3) == 0) {
      const int roll = Roll(rng, 10);
      slot.status = roll < 4   ? v1::STATUS_OK
                    : roll < 6 ? v1::STATUS_WARN
                    : roll < 9 ? v1::STATUS_FAIL
                               : v1::STATUS_PROBE_ERROR;
      slot.hresult = slot.status != v1::STATUS_OK && Roll(rng, 4) != 0
                         ? Pick(rng, universe_.errors)
                         : 0;
    }
    if (slot.dimensions.ByteSizeLong() == 0 || Roll(rng, 5) == 0) {
      slot.dimensions = RandomDimensions(rng, f.probe());
    }
    f.set_status(slot.status);
    if (slot.hresult != 0) *f.mutable_error() = MakeErrorInfo(slot.hresult, "detail");
    *f.mutable_dimensions() = slot.dimensions;
    f.set_summary(absl::StrCat(f.probe(), " ", f.target(), " summary ", Roll(rng, 1000)));
    const int age = Roll(rng, 20);
    const Age a = age < 12   ? Age::kFresh
                  : age < 14 ? Age::kHoursOld
                  : age < 16 ? Age::kDaysOld
                  : age < 19 ? Age::kWeeksOld
                             : Age::kFuture;
    slot.observed = absl::ToUnixSeconds(ObservedAt(rng, a));
    f.mutable_observed_at()->set_seconds(slot.observed);
    return f;
  }

  // Every result of `node` again, unchanged but for a later observation
  // (minutes later: the same side of every window) and a new summary.
  std::vector<v1::Finding> RepeatedFindings(std::mt19937& rng, Node& node) {
    std::vector<v1::Finding> out;
    for (auto& [name, slot] : node.slots) {
      const size_t slash = name.find('/');
      v1::Finding f;
      f.set_probe(name.substr(0, slash));
      f.set_target(name.substr(slash + 1));
      f.set_status(slot.status);
      if (slot.hresult != 0) *f.mutable_error() = MakeErrorInfo(slot.hresult, "detail");
      *f.mutable_dimensions() = slot.dimensions;
      f.set_summary(absl::StrCat(name, " again ", Roll(rng, 1000)));
      slot.observed += 1 + Roll(rng, 600);
      f.mutable_observed_at()->set_seconds(slot.observed);
      out.push_back(std::move(f));
    }
    return out;
  }

  // Failures observed at any second of the last twelve days (a spool
  // flushed late), for the trend: they reach the rollups, while current_state
  // keeps the fresh result the batch ends with for the same target.
  std::vector<v1::Finding> RandomHistory(std::mt19937& rng) {
    std::vector<v1::Finding> out;
    const int n = 1 + Roll(rng, 4);
    for (int i = 0; i < n; ++i) {
      v1::Finding f;
      f.set_probe("crl");
      f.set_target("history");
      f.set_status(v1::STATUS_FAIL);
      *f.mutable_error() = MakeErrorInfo(Pick(rng, universe_.errors), "late");
      *f.mutable_dimensions() = RandomDimensions(rng, f.probe());
      const int64_t back = std::uniform_int_distribution<int64_t>(0, 12 * 86400)(rng);
      f.mutable_observed_at()->set_seconds(absl::ToUnixSeconds(now_) - back);
      out.push_back(std::move(f));
    }
    v1::Finding last = out.back();
    last.set_status(Roll(rng, 2) == 0 ? v1::STATUS_OK : v1::STATUS_FAIL);
    last.mutable_observed_at()->set_seconds(absl::ToUnixSeconds(ObservedAt(rng, Age::kFresh)));
    out.push_back(std::move(last));
    return out;
  }

  // A batch of random results for `node` through the real writer.
  void WriteBatch(Node& node, std::mt19937& rng, int findings) {
    std::vector<v1::Finding> batch;
    for (int i = 0; i < findings; ++i) batch.push_back(RandomFinding(rng, node));
    if (Roll(rng, 2) == 0) {
      for (v1::Finding& f : RandomHistory(rng)) batch.push_back(std::move(f));
    }
    Write(node, rng, std::move(batch));
  }

  void Write(Node& node, std::mt19937& rng, std::vector<v1::Finding> findings) {
    store::NodeBatch batch;
    batch.node_id = node.id;
    for (v1::Finding& f : findings) {
      store::AcceptedFinding a;
      a.seq = ++node.seq;
      a.finding = std::move(f);
      batch.accepted.push_back(std::move(a));
    }
    batch.max_seq = node.seq;
    auto written = writer_->Write(batch);
    ASSERT_TRUE(written.ok()) << written.status();
    // A replay of the same batch (lost ack) must change nothing.
    if (Roll(rng, 5) == 0) {
      auto again = writer_->Write(batch);
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_EQ(again->stored, 0u);
    }
  }

  void Rehello(const Node& node, std::mt19937& rng) {
    v1::Hello hello;
    *hello.mutable_host() = RandomHost(rng);
    auto r = registry_->RecordHello(node.id, hello);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // The stored memberships, host counts and oldest results are exactly
  // what a rebuild from current_state gives, and the daily failing rollups
  // the sums of the hourly ones.
  void ExpectKeptTablesMatchTheirSources() {
    for (const char* sql : {
             "WITH m AS (SELECT m.* FROM nodes n, "
             "           LATERAL pattern_members_of(ARRAY[n.node_id], '-infinity') m) "
             "SELECT count(*) FROM ((TABLE pattern_members EXCEPT TABLE m) UNION ALL "
             "  (TABLE m EXCEPT TABLE pattern_members)) x",
             "WITH m AS (SELECT m.* FROM nodes n, "
             "           LATERAL pattern_members_of(ARRAY[n.node_id], '-infinity') m), "
             "want AS (SELECT group_by, key, count(*) FILTER (WHERE failing_results > 0), "
             "  count(*) FILTER (WHERE warning_results > 0), count(*) FROM m GROUP BY 1, 2), "
             "have AS (SELECT group_by, key, failing_hosts::bigint, warning_hosts::bigint, "
             "  total_hosts::bigint FROM pattern_counts WHERE total_hosts <> 0 "
             "  OR failing_hosts <> 0 OR warning_hosts <> 0) "
             "SELECT count(*) FROM ((TABLE have EXCEPT TABLE want) UNION ALL "
             "  (TABLE want EXCEPT TABLE have)) x",
             "WITH m AS (SELECT m.* FROM nodes n, "
             "           LATERAL pattern_members_of(ARRAY[n.node_id], '-infinity') m), "
             "want AS ("
             " SELECT group_by, key, site, 0::bigint AS hresult, "
             "   count(*) FILTER (WHERE failing_results > 0) AS f, "
             "   count(*) FILTER (WHERE warning_results > 0) AS w, count(*) AS t "
             " FROM m GROUP BY 1, 2, 3 "
             " UNION ALL SELECT group_by, key, '', h, count(*), 0, 0 "
             " FROM m, unnest(fail_hresults) h GROUP BY 1, 2, 4), "
             "have AS (SELECT group_by, key, site, hresult, failing_hosts::bigint, "
             "  warning_hosts::bigint, total_hosts::bigint FROM pattern_breakdown "
             "  WHERE failing_hosts <> 0 OR warning_hosts <> 0 OR total_hosts <> 0) "
             "SELECT count(*) FROM ((TABLE have EXCEPT TABLE want) UNION ALL "
             "  (TABLE want EXCEPT TABLE have)) x",
             "SELECT count(*) FROM pattern_counts WHERE failing_hosts < 0 OR warning_hosts < 0 "
             "  OR total_hosts < 0",
             "SELECT count(*) FROM pattern_breakdown WHERE failing_hosts < 0 "
             "  OR warning_hosts < 0 OR total_hosts < 0",
             // The one-grouping recompute a window uses agrees.
             "WITH m AS (SELECT m.* FROM nodes n, generate_series(1, 6) g, "
             "           LATERAL pattern_members_by(ARRAY[n.node_id], '-infinity', "
             "                                      g::smallint) m) "
             "SELECT count(*) FROM ((TABLE pattern_members EXCEPT TABLE m) UNION ALL "
             "  (TABLE m EXCEPT TABLE pattern_members)) x",
             "SELECT count(*) FROM nodes n WHERE oldest_result_at IS DISTINCT FROM "
             "  (SELECT min(observed_at) FROM current_state cs WHERE cs.node_id = n.node_id)",
             "WITH want AS (SELECT date_trunc('day', bucket), hresult, ca_id, template_id, "
             "  url_id, site, sum(findings)::bigint FROM finding_rollups_hourly "
             "  WHERE status = 3 GROUP BY 1, 2, 3, 4, 5, 6), "
             "have AS (SELECT day, hresult, ca_id, template_id, url_id, site, findings "
             "  FROM failing_rollups_daily) "
             "SELECT count(*) FROM ((TABLE have EXCEPT TABLE want) UNION ALL "
             "  (TABLE want EXCEPT TABLE have)) x",
         }) {
      auto r = conn_->Query(sql);
      ASSERT_TRUE(r.ok()) << r.status() << "\n" << sql;
      EXPECT_EQ(r->GetInt64(0, 0), 0) << sql;
    }
  }

  // Every grouping, window and healthy setting; the whole list in one page
  // and then page by page (bounded).
  void ExpectListPatternsMatchesTheLiveQuery(const std::string& round) {
    using google::protobuf::util::MessageDifferencer;
    for (v1::GroupBy by : {v1::GROUP_BY_URL, v1::GROUP_BY_CA, v1::GROUP_BY_TEMPLATE,
                           v1::GROUP_BY_ERROR, v1::GROUP_BY_SITE, v1::GROUP_BY_HOST}) {
      for (uint32_t window : {0u, 3u * 3600, 86400u, 5u * 86400}) {
        for (bool healthy : {false, true}) {
          for (uint32_t page_size : {1000u, 3u}) {
            v1::ListPatternsRequest request;
            request.set_by(by);
            request.set_max_age_seconds(window);
            request.set_include_healthy(healthy);
            request.set_page_size(page_size);
            for (int page = 0; page < 40; ++page) {
              const std::string where =
                  absl::StrCat(round, " by ", v1::GroupBy_Name(by), " window ", window,
                               " healthy ", healthy, " page ", page, "/", page_size);
              // The trend counts whole hours: should the hour turn between
              // the two calls, ask both again (once is enough).
              absl::StatusOr<v1::ListPatternsResponse> counted, live;
              for (int attempt = 0; attempt < 2; ++attempt) {
                const int64_t hour = absl::ToUnixSeconds(absl::Now()) / 3600;
                counted = query::ListPatterns(*conn_, request);
                live = testing::LivePatterns(*conn_, request);
                if (absl::ToUnixSeconds(absl::Now()) / 3600 == hour) break;
              }
              ASSERT_TRUE(counted.ok()) << counted.status() << " " << where;
              ASSERT_TRUE(live.ok()) << live.status() << " " << where;
              counted->clear_generated_at();
              live->clear_generated_at();
              std::string diff;
              MessageDifferencer differencer;
              differencer.ReportDifferencesToString(&diff);
              EXPECT_TRUE(differencer.Compare(*live, *counted)) << where << "\n" << diff;
              if (counted->next_page_token().empty() || page_size > 100) break;
              request.set_page_token(counted->next_page_token());
            }
          }
        }
      }
    }
  }

  Universe universe_;
  std::unique_ptr<store::PgConnection> conn_;
  std::unique_ptr<store::ConnectionPool> pool_;
  std::unique_ptr<store::FindingWriter> writer_;
  std::unique_ptr<ingest::NodeRegistry> registry_;
  std::vector<Node> nodes_;
  absl::Time now_;
};

TEST_F(PatternCountersTest, RandomTransitionsKeepListPatternsEqualToTheLiveQuery) {
  const uint32_t seed = 20261123;
  std::mt19937 rng(seed);
  EnrollNodes(40, rng);
  ASSERT_FALSE(HasFatalFailure());
  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    for (Node& node : nodes_) {
      if (Roll(rng, 3) == 0) continue;  // some hosts stay silent this round
      // Every third round the hosts only repeat what they reported.
      if (round % 3 == 2) {
        Write(node, rng, RepeatedFindings(rng, node));
      } else {
        WriteBatch(node, rng, 1 + Roll(rng, 12));
      }
      ASSERT_FALSE(HasFatalFailure());
    }
    for (const Node& node : nodes_) {
      if (Roll(rng, 8) == 0) Rehello(node, rng);
    }
    ASSERT_FALSE(HasFatalFailure());
    const std::string where = absl::StrCat("seed ", seed, " round ", round);
    SCOPED_TRACE(where);
    ExpectKeptTablesMatchTheirSources();
    ExpectListPatternsMatchesTheLiveQuery(where);
    ASSERT_FALSE(HasFailure()) << "stopping at the first round that differs";
  }
}

// Batches of different hosts sharing keys, written concurrently: counter rows
// are locked in one order, so no batch deadlocks, and the counts add up.
TEST_F(PatternCountersTest, ConcurrentWritersAddUpAndDoNotDeadlock) {
  std::mt19937 rng(7);
  EnrollNodes(24, rng);
  ASSERT_FALSE(HasFatalFailure());
  constexpr int kThreads = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &failures] {
      std::mt19937 local(100 + t);
      for (int round = 0; round < 15; ++round) {
        for (size_t i = t; i < nodes_.size(); i += kThreads) {
          Node& node = nodes_[i];
          store::NodeBatch batch;
          batch.node_id = node.id;
          for (int k = 0; k < 8; ++k) {
            store::AcceptedFinding a;
            a.seq = ++node.seq;
            a.finding = RandomFinding(local, node);
            batch.accepted.push_back(std::move(a));
          }
          batch.max_seq = node.seq;
          if (!writer_->Write(batch).ok()) ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ExpectKeptTablesMatchTheirSources();
  ExpectListPatternsMatchesTheLiveQuery("after concurrent writers");
}

TEST_F(PatternCountersTest, RebuildRestoresDamagedCounters) {
  std::mt19937 rng(11);
  EnrollNodes(10, rng);
  ASSERT_FALSE(HasFatalFailure());
  for (Node& node : nodes_) WriteBatch(node, rng, 10);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(conn_->Exec("UPDATE pattern_counts SET failing_hosts = failing_hosts + 5; "
                          "UPDATE pattern_breakdown SET total_hosts = total_hosts + 1; "
                          "DELETE FROM pattern_members WHERE group_by = 1; "
                          "UPDATE nodes SET oldest_result_at = NULL")
                  .ok());
  ASSERT_TRUE(conn_->Exec("SELECT pattern_counters_rebuild()").ok());
  ExpectKeptTablesMatchTheirSources();
  ExpectListPatternsMatchesTheLiveQuery("after rebuild");
}

TEST_F(PatternCountersTest, WindowBeyondThirtyFourYearsIsRefused) {
  v1::ListPatternsRequest request;
  request.set_by(v1::GROUP_BY_URL);
  request.set_max_age_seconds(1u << 30);
  auto r = query::ListPatterns(*conn_, request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pkiwatch
