// ListPatterns latency on a large synthetic fleet: nodes in sites, CRL and
// certificate results over URLs, CAs, templates and errors, raw findings
// spread over 30 days with their hourly rollups. Prints p50/p95 per grouping
// for a 24 h and a 30 day window. Asserts nothing about time.
//
// usage: patterns_bench [--nodes N] [--targets-per-node N] [--findings N] [--runs N]
//                       [--stale-nodes N] [--keep 1] [--dsn DSN]
// --stale-nodes: that many hosts also hold one result 40 days old, which
// both windows must leave out (the query corrects the counters for them).
// --keep 1 leaves the generated cluster running and prints its DSN, which
// --dsn then measures again without generating anything.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/query/pattern_query.h"
#include "collector/store/migrations.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch {
namespace {

struct Args {
  int nodes = 100000;
  int targets = 10;
  int64_t findings = 10000000;
  int runs = 20;
  int stale_nodes = 0;
  std::string dsn;    // measure an already populated database instead
  bool keep = false;  // leave the generated cluster running afterwards
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const int64_t v = std::strtoll(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--nodes")) a.nodes = static_cast<int>(v);
    if (!std::strcmp(argv[i], "--targets-per-node")) a.targets = static_cast<int>(v);
    if (!std::strcmp(argv[i], "--findings")) a.findings = v;
    if (!std::strcmp(argv[i], "--runs")) a.runs = static_cast<int>(v);
    if (!std::strcmp(argv[i], "--stale-nodes")) a.stale_nodes = static_cast<int>(v);
    if (!std::strcmp(argv[i], "--dsn")) a.dsn = argv[i + 1];
    if (!std::strcmp(argv[i], "--keep")) a.keep = v != 0;
  }
  return a;
}

// The fleet, generated inside PostgreSQL: 50 sites, 200 CDP URLs, 10 CAs,
// 20 templates; one URL down everywhere, one unreachable from one site,
// scattered client failures.
absl::Status Populate(store::PgConnection& c, const Args& a) {
  const std::string n = absl::StrCat(a.nodes), t = absl::StrCat(a.targets),
                    f = absl::StrCat(a.findings);
  for (const std::string& sql : {
           std::string("INSERT INTO cas (name, key_id) SELECT 'CN=Issuing CA ' || i || "
                       "',DC=corp,DC=example', md5(i::text) FROM generate_series(1, 10) i"),
           std::string("INSERT INTO templates (name, oid) SELECT 'Template' || i, "
                       "'1.3.6.1.4.1.311.21.8.' || i FROM generate_series(1, 20) i"),
           std::string("INSERT INTO urls (url, kind) SELECT 'http://pki' || i || "
                       "'.corp.example/ca.crl', 1 FROM generate_series(1, 200) i"),
           absl::StrCat("INSERT INTO nodes (node_id, key_hash, hostname, site, last_seen_at) "
                        "SELECT md5('node' || i)::uuid, '\\x00', 'ws' || i, 'site-' || (i % 50), "
                        "now() FROM generate_series(1, ", n, ") i"),
           // Current state: each node probes `targets` URLs.
           absl::StrCat(
               "INSERT INTO current_state (node_id, probe, target, seq, observed_at, status, "
               "status_since, hresult, ca_id, template_id, url_id, summary) "
               "SELECT md5('node' || i)::uuid, 'crl', 'u' || u, j, "
               "now() - ((i * 7 + j) % 3600) * interval '1 second', "
               "CASE WHEN u = 1 THEN 3 WHEN u = 2 AND i % 50 = 7 THEN 3 "
               "     WHEN i % 997 = 0 THEN 3 WHEN (i + j) % 41 = 0 THEN 2 ELSE 1 END, "
               "now() - interval '2 hours', "
               "CASE WHEN u = 1 OR (u = 2 AND i % 50 = 7) OR i % 997 = 0 THEN 2148081683 "
               "ELSE 0 END, "
               "1 + u % 10, 1 + (i + j) % 20, u, 'summary' "
               "FROM generate_series(1, ", n, ") i, generate_series(1, ", t, ") j, "
               "LATERAL (SELECT CASE WHEN j <= 2 THEN j ELSE 1 + (i * 31 + j * 17) % 200 END AS u) x "
               "ON CONFLICT DO NOTHING"),
           // Hosts that stopped probing one target 40 days ago.
           absl::StrCat(
               "INSERT INTO current_state (node_id, probe, target, seq, observed_at, status, "
               "status_since, hresult, ca_id, template_id, url_id, summary) "
               "SELECT md5('node' || i)::uuid, 'aia', 'gone', 0, now() - interval '40 days', "
               "CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END, now() - interval '41 days', "
               "CASE WHEN i % 2 = 0 THEN 2148081683 ELSE 0 END, 1, NULL, 1 + i % 200, 'gone' "
               "FROM generate_series(1, ", a.stale_nodes, ") i"),
           // What the writer keeps beside current_state.
           std::string("SELECT pattern_counters_rebuild()"),
           // Raw findings over 30 days.
           absl::StrCat(
               "INSERT INTO findings (node_id, seq, observed_at, probe, target, status, hresult, "
               "ca_id, template_id, url_id) "
               "SELECT md5('node' || (1 + k % ", n, "))::uuid, k, "
               "now() - (k % 2592000) * interval '1 second', 'crl', 'u' || (1 + k % 200), "
               "CASE WHEN k % 13 = 0 THEN 3 ELSE 1 END, "
               "CASE WHEN k % 13 = 0 THEN 2148081683 ELSE 0 END, "
               "1 + k % 10, 1 + k % 20, 1 + k % 200 FROM generate_series(1, ", f, ") k"),
           // The hourly rollups the writer would have kept for them.
           std::string(
               "INSERT INTO finding_rollups_hourly (bucket, probe, status, hresult, ca_id, "
               "template_id, url_id, site, findings) "
               "SELECT date_trunc('hour', f.observed_at), f.probe, f.status, f.hresult, "
               "COALESCE(f.ca_id, 0), COALESCE(f.template_id, 0), COALESCE(f.url_id, 0), n.site, "
               "count(*) FROM findings f JOIN nodes n ON n.node_id = f.node_id "
               "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"),
           std::string(
               "INSERT INTO failing_rollups_daily (day, hresult, ca_id, template_id, url_id, "
               "site, findings) "
               "SELECT date_trunc('day', bucket), hresult, ca_id, template_id, url_id, site, "
               "sum(findings) FROM finding_rollups_hourly WHERE status = 3 "
               "GROUP BY 1, 2, 3, 4, 5, 6"),
           std::string("ANALYZE"),
       }) {
    if (absl::Status s = c.Exec(sql); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Of sorted samples; 0 when there are none.
double Percentile(const std::vector<double>& sorted, size_t p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, sorted.size() * p / 100)];
}

int Run(const Args& a) {
  std::unique_ptr<testing::TestPostgres> pg;
  std::unique_ptr<store::PgConnection> conn;
  std::string generated_dsn;
  if (!a.dsn.empty()) {
    auto c = store::PgConnection::Connect(a.dsn);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      return 1;
    }
    conn = *std::move(c);
    std::printf("patterns_bench: database %s as populated before\n", a.dsn.c_str());
  } else {
    auto started = testing::TestPostgres::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
      return 1;
    }
    pg = *std::move(started);
    auto dsn = pg->CreateDatabase();
    if (!dsn.ok()) return 1;
    generated_dsn = *dsn;
    auto c = store::PgConnection::Connect(*dsn);
    if (!c.ok() || !store::ApplyMigrations(**c).ok()) return 1;
    conn = *std::move(c);
    const absl::Time start = absl::Now();
    if (absl::Status s = Populate(*conn, a); !s.ok()) {
      std::fprintf(stderr, "populate: %s\n", s.ToString().c_str());
      return 1;
    }
    std::printf("patterns_bench: %d nodes x %d targets current state, %d stale hosts, "
                "%lld raw findings (generated in %.0f s)\n",
                a.nodes, a.targets, a.stale_nodes, static_cast<long long>(a.findings),
                absl::ToDoubleSeconds(absl::Now() - start));
  }
  std::fflush(stdout);
  for (uint32_t window : {86400u, 2592000u}) {
    for (const char* by : {"url", "ca", "template", "error", "site", "host"}) {
      v1::ListPatternsRequest request;
      request.set_by(*query::ParseGroupBy(by));
      request.set_max_age_seconds(window);
      std::vector<double> ms;
      size_t patterns = 0;
      for (int i = 0; i < a.runs; ++i) {
        const absl::Time t0 = absl::Now();
        auto r = query::ListPatterns(*conn, request);
        ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (!r.ok()) {
          std::fprintf(stderr, "%s: %s\n", by, r.status().ToString().c_str());
          return 1;
        }
        patterns = r->patterns_size();
      }
      // The first call of a grouping reads its pages from disk into the
      // caches; it is in p50/p95 and also shown on its own.
      const double first = ms.front();
      std::vector<double> warm(ms.begin() + 1, ms.end());
      std::sort(ms.begin(), ms.end());
      std::sort(warm.begin(), warm.end());
      std::printf("  window %-4s by %-8s p50 %8.1f ms  p95 %8.1f ms  first %8.1f ms  "
                  "p95 after it %8.1f ms  (%zu patterns)\n",
                  window == 86400 ? "24h" : "30d", by, Percentile(ms, 50), Percentile(ms, 95),
                  first, Percentile(warm, 95), patterns);
      std::fflush(stdout);
    }
  }
  if (pg != nullptr && a.keep) {
    std::printf("cluster kept: --dsn \"%s\"; stop it with pg_ctl -D %s/pg stop\n",
                generated_dsn.c_str(), pg->data_dir().c_str());
    (void)pg.release();  // not stopped, not removed
  }
  return 0;
}

}  // namespace
}  // namespace pkiwatch

int main(int argc, char** argv) { return pkiwatch::Run(pkiwatch::ParseArgs(argc, argv)); }
