// Daily partitions, retention and hourly rollups against a real PostgreSQL.

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "collector/store/connection_pool.h"
#include "collector/store/finding_writer.h"
#include "collector/store/maintenance.h"
#include "collector/store/migrations.h"
#include "collector/store/partitions.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch::store {
namespace {

class MaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::TestPostgres::Shared();
    ASSERT_TRUE(pg.ok()) << pg.status();
    auto dsn = (*pg)->CreateDatabase();
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
    auto conn = PgConnection::Connect(dsn_);
    ASSERT_TRUE(conn.ok());
    conn_ = *std::move(conn);
    ASSERT_TRUE(ApplyMigrations(*conn_).ok());
  }

  std::vector<std::string> Partitions() {
    auto r = conn_->Query(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'findings'::regclass ORDER BY 1");
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    for (int i = 0; r.ok() && i < r->rows(); ++i) out.emplace_back(r->Get(i, 0));
    return out;
  }

  int64_t Count(const std::string& sql) {
    auto r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->GetInt64(0, 0) : -1;
  }

  std::string dsn_;
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(MaintenanceTest, PartitionsAheadAreCreatedOnceAndExpiredOnesDropped) {
  const absl::Time now = absl::Now();
  ASSERT_TRUE(EnsureFindingPartitions(*conn_, now, 2).ok());
  ASSERT_TRUE(EnsureFindingPartitions(*conn_, now, 2).ok());  // idempotent
  const std::vector<std::string> parts = Partitions();
  // Yesterday's (the past, from the migration), today and two days ahead.
  ASSERT_EQ(parts.size(), 4u) << absl::StrJoin(parts, ",");
  EXPECT_EQ(parts[0], FindingPartitionName(now - absl::Hours(24)));
  EXPECT_EQ(parts[3], FindingPartitionName(now + absl::Hours(48)));

  // A row in the past partition, one today.
  ASSERT_TRUE(conn_->Exec("INSERT INTO findings (node_id, seq, received_at, observed_at, probe, "
                          "target, status) VALUES "
                          "(gen_random_uuid(), 1, now() - interval '40 days', now(), 'crl', 'a', 1), "
                          "(gen_random_uuid(), 2, now(), now(), 'crl', 'b', 1)")
                  .ok());
  // A week later with a 7-day retention, only the old past partition goes.
  auto dropped = DropExpiredFindingPartitions(*conn_, now + absl::Hours(24 * 7),
                                              absl::Hours(24 * 7));
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  ASSERT_EQ(dropped->size(), 1u);
  EXPECT_EQ((*dropped)[0], parts[0]);
  EXPECT_EQ(Count("SELECT count(*) FROM findings"), 1);
}

TEST_F(MaintenanceTest, WriterKeepsHourlyRollupsAndRecreatesAMissingPartition) {
  auto pool = ConnectionPool::Create(dsn_, 2);
  ASSERT_TRUE(pool.ok());
  auto maintenance = Maintenance::Start(pool->get(), {});
  ASSERT_TRUE(maintenance.ok()) << maintenance.status();
  ASSERT_TRUE(conn_->Exec("INSERT INTO nodes (node_id, key_hash, site) VALUES "
                          "('00000000-0000-4000-8000-000000000001', '\\x00', 'berlin')")
                  .ok());
  auto writer = FindingWriter::Create(pool->get());
  ASSERT_TRUE(writer.ok());
  NodeBatch batch;
  batch.node_id = "00000000-0000-4000-8000-000000000001";
  const int64_t hour = absl::ToUnixSeconds(absl::Now()) / 3600 * 3600;
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    AcceptedFinding a;
    a.seq = seq;
    a.finding.set_probe("crl");
    a.finding.set_target(absl::StrCat("http://pki/", seq % 2, ".crl"));
    a.finding.mutable_dimensions()->set_url(a.finding.target());
    a.finding.set_status(seq % 2 == 0 ? v1::STATUS_FAIL : v1::STATUS_OK);
    a.finding.mutable_observed_at()->set_seconds(hour + static_cast<int64_t>(seq));
    batch.accepted.push_back(a);
  }
  batch.max_seq = 10;
  ASSERT_TRUE((*writer)->Write(batch).ok());

  EXPECT_EQ(Count("SELECT sum(findings) FROM finding_rollups_hourly"), 10);
  EXPECT_EQ(Count("SELECT findings FROM finding_rollups_hourly WHERE status = 3 AND "
                  "site = 'berlin'"),
            5);
  // A resend of the same batch changes nothing (duplicates are not rolled up).
  ASSERT_TRUE((*writer)->Write(batch).ok());
  EXPECT_EQ(Count("SELECT sum(findings) FROM finding_rollups_hourly"), 10);

  // Today's partition vanishes (a collector that slept past midnight): the
  // writer creates it and the batch still lands.
  ASSERT_TRUE(conn_->Exec("DROP TABLE " + FindingPartitionName(absl::Now())).ok());
  for (AcceptedFinding& a : batch.accepted) a.seq += 10;
  batch.max_seq = 20;
  auto written = (*writer)->Write(batch);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->stored, 10u);
  EXPECT_EQ(Count("SELECT count(*) FROM findings"), 10);
  (*maintenance)->Stop();
}

TEST_F(MaintenanceTest, CrlVersionsAreKeptAsLongAsTheRollups) {
  auto pool = ConnectionPool::Create(dsn_, 2);
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(conn_->Exec("INSERT INTO urls (url, kind) VALUES ('http://pki/a.crl', 1); "
                          "INSERT INTO crl_versions (url_id, crl_number, this_update, first_seen, "
                          "  last_seen, observations) SELECT url_id, n::text, now(), "
                          "  now() - make_interval(days => d), now() - make_interval(days => d), 1 "
                          "FROM urls, (VALUES (1, 100), (2, 10), (3, 0)) AS v(n, d)")
                  .ok());
  Maintenance::Options options;
  options.rollup_retention = absl::Hours(24 * 30);
  auto maintenance = Maintenance::Start(pool->get(), options);  // runs once at start
  ASSERT_TRUE(maintenance.ok()) << maintenance.status();
  (*maintenance)->Stop();
  EXPECT_EQ(Count("SELECT count(*) FROM crl_versions"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM crl_versions WHERE crl_number = '1'"), 0);
}

TEST_F(MaintenanceTest, RollupRetentionDropsWholeDaysFromHourlyAndDailyAlike) {
  auto pool = ConnectionPool::Create(dsn_, 2);
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE(conn_->Exec("INSERT INTO nodes (node_id, key_hash, site) VALUES "
                          "('00000000-0000-4000-8000-000000000002', '\\x00', 'oslo')")
                  .ok());
  auto writer = FindingWriter::Create(pool->get());
  ASSERT_TRUE(writer.ok());
  // Failures observed every 5 hours over the last 10 days, sent late.
  NodeBatch batch;
  batch.node_id = "00000000-0000-4000-8000-000000000002";
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  for (uint64_t seq = 1; seq <= 48; ++seq) {
    AcceptedFinding a;
    a.seq = seq;
    a.finding.set_probe("crl");
    a.finding.set_target("http://pki/late.crl");
    a.finding.mutable_dimensions()->set_url(a.finding.target());
    a.finding.set_status(v1::STATUS_FAIL);
    a.finding.mutable_observed_at()->set_seconds(now - static_cast<int64_t>(seq) * 5 * 3600);
    batch.accepted.push_back(a);
  }
  batch.max_seq = 48;
  ASSERT_TRUE((*writer)->Write(batch).ok());
  EXPECT_EQ(Count("SELECT sum(findings) FROM failing_rollups_daily"), 48);

  Maintenance::Options options;
  options.rollup_retention = absl::Hours(24 * 4 + 12);
  auto maintenance = Maintenance::Start(pool->get(), options);
  ASSERT_TRUE(maintenance.ok()) << maintenance.status();
  (*maintenance)->Stop();
  const char* cutoff = "date_trunc('day', now() - interval '4 days 12 hours')";
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM finding_rollups_hourly WHERE bucket < ",
                               cutoff)),
            0);
  EXPECT_GT(Count(absl::StrCat("SELECT count(*) FROM finding_rollups_hourly WHERE bucket < ",
                               cutoff, " + interval '1 day'")),
            0);
  // Every day left is still the sum of its hours.
  EXPECT_EQ(Count("SELECT count(*) FROM failing_rollups_daily d FULL JOIN ("
                  "  SELECT date_trunc('day', bucket) AS day, sum(findings) AS findings "
                  "  FROM finding_rollups_hourly WHERE status = 3 GROUP BY 1) h USING (day) "
                  "WHERE d.findings IS DISTINCT FROM h.findings"),
            0);
  EXPECT_LT(Count("SELECT sum(findings) FROM failing_rollups_daily"), 48);
}

}  // namespace
}  // namespace pkiwatch::store
