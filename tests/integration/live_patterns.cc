// The pattern query as it was before the pattern counters: one live
// aggregation of current_state per call. Kept as the reference the
// counter-based ListPatterns must match exactly; the only change is an
// explicit order among failing results observed at the same instant, which
// the original left to the sort.

#include "tests/integration/live_patterns.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "collector/query/next_steps.h"
#include "collector/query/pattern_query.h"
#include "collector/query/query_values.h"
#include "collector/store/pg_literals.h"
#include "common/error_catalogue.h"

namespace pkiwatch::testing {
namespace {

using query::EpochToTime;
using query::ErrorKey;
using query::RollupKey;
using query::S;
using query::ToProto;
using query::U32;

constexpr int kFail = v1::STATUS_FAIL;
constexpr int kWarn = v1::STATUS_WARN;
constexpr int kTopErrors = 3;
constexpr int kMaxSitesListed = 10;

}  // namespace

absl::StatusOr<v1::ListPatternsResponse> LivePatterns(
    store::PgConnection& conn, const v1::ListPatternsRequest& request,
    const query::BlameThresholds& thresholds) {
  auto grouping = query::GroupingFor(request.by());
  if (!grouping.ok()) return grouping.status();
  const query::Grouping& g = *grouping;
  auto offset = query::DecodePageToken(request.page_token());
  if (!offset.ok()) return offset.status();
  const uint32_t page_size = query::PageSize(request.page_size());

  // The scoped rows: latest result per node, probe and target, with its
  // group and its host's site.
  const std::string scoped = absl::StrCat(
      "WITH s AS (SELECT cs.node_id, cs.probe, cs.target, cs.status, cs.status_since, "
      "cs.observed_at, cs.hresult, cs.summary, n.site, ", g.key, " AS key, ", g.kind, " AS kind "
      "FROM current_state cs JOIN nodes n ON n.node_id = cs.node_id ", g.join,
      " WHERE ", g.where,
      " AND ($1::int = 0 OR cs.observed_at > now() - make_interval(secs => $1::int))) ");
  const std::string max_age = absl::StrCat(request.max_age_seconds());

  auto groups = conn.Query(
      absl::StrCat(
          scoped,
          "SELECT key, max(kind), "
          " count(DISTINCT node_id) FILTER (WHERE status = ", kFail, "), "
          " count(DISTINCT node_id) FILTER (WHERE status = ", kWarn, "), "
          " count(DISTINCT node_id), "
          " extract(epoch FROM min(status_since) FILTER (WHERE status = ", kFail, ")), "
          " extract(epoch FROM max(observed_at) FILTER (WHERE status = ", kFail, ")), "
          " (array_agg(summary ORDER BY observed_at DESC, node_id, probe, target) "
          "  FILTER (WHERE status = ", kFail, "))[1], "
          " (array_agg(probe ORDER BY observed_at DESC, node_id, probe, target) "
          "  FILTER (WHERE status = ", kFail, "))[1] "
          "FROM s GROUP BY key "
          "HAVING $2::bool OR count(*) FILTER (WHERE status = ", kFail, ") > 0 "
          "ORDER BY 3 DESC, 4 DESC, key LIMIT $3 OFFSET $4"),
      {max_age, request.include_healthy() ? "true" : "false", absl::StrCat(page_size + 1),
       absl::StrCat(*offset)});
  if (!groups.ok()) return groups.status();
  const int rows = std::min<int>(groups->rows(), static_cast<int>(page_size));
  std::vector<std::string> keys;
  for (int r = 0; r < rows; ++r) keys.push_back(S(groups->Get(r, 0)));
  const std::string key_array = store::PgTextArray(keys);
  const std::string scoped_keys =
      absl::StrCat(scoped, ", k AS (SELECT * FROM s WHERE key = ANY($2::text[])) ");

  // Errors, sites and client evidence, for the keys of this page only.
  auto errors = conn.Query(
      absl::StrCat(scoped_keys,
                   "SELECT key, hresult, count(DISTINCT node_id) AS hosts FROM k "
                   "WHERE status = ", kFail, " AND hresult <> 0 GROUP BY key, hresult "
                   "ORDER BY key, hosts DESC, hresult"),
      {max_age, key_array});
  if (!errors.ok()) return errors.status();
  absl::flat_hash_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> top_errors;
  for (int r = 0; r < errors->rows(); ++r) {
    auto& list = top_errors[S(errors->Get(r, 0))];
    if (list.size() < kTopErrors) list.emplace_back(U32(*errors, r, 1), U32(*errors, r, 2));
  }

  auto sites = conn.Query(
      absl::StrCat(scoped_keys,
                   "SELECT key, CASE WHEN site <> '' THEN site ELSE '(no site)' END, "
                   "count(DISTINCT node_id) FILTER (WHERE status = ", kFail, "), "
                   "count(DISTINCT node_id) FROM k GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"),
      {max_age, key_array});
  if (!sites.ok()) return sites.status();
  absl::flat_hash_map<std::string, std::vector<query::SiteFailures>> site_failures;
  for (int r = 0; r < sites->rows(); ++r) {
    site_failures[S(sites->Get(r, 0))].push_back(
        {S(sites->Get(r, 1)), U32(*sites, r, 2), U32(*sites, r, 3)});
  }

  // Client evidence: how much else the failing hosts of each key fail, and
  // whether one of them has a failing clock check. Only for keys with few
  // failing hosts: a pattern failing on many hosts cannot be client-side,
  // and its evidence would cost a pass over all of their results.
  std::vector<std::string> small_keys;
  for (int r = 0; r < rows; ++r) {
    const uint32_t failing = U32(*groups, r, 2);
    const uint32_t total = U32(*groups, r, 4);
    if (failing > 0 && (failing <= thresholds.client_max_hosts ||
                        failing <= thresholds.client_max_share * total)) {
      small_keys.push_back(S(groups->Get(r, 0)));
    }
  }
  absl::flat_hash_map<std::string, std::pair<double, bool>> client_evidence;
  if (!small_keys.empty()) {
    auto client = conn.Query(
        absl::StrCat(scoped_keys,
                     ", failing AS (SELECT DISTINCT key, node_id FROM k WHERE status = ", kFail,
                     "), per_node AS (SELECT node_id, "
                     "  avg((status = ", kFail, ")::int) AS share, "
                     "  bool_or(probe = 'clock' AND status = ", kFail, ") AS clock "
                     "  FROM current_state WHERE node_id IN (SELECT node_id FROM failing) "
                     "  GROUP BY node_id) "
                     "SELECT f.key, avg(p.share), bool_or(p.clock) FROM failing f "
                     "JOIN per_node p USING (node_id) GROUP BY f.key"),
        {max_age, store::PgTextArray(small_keys)});
    if (!client.ok()) return client.status();
    for (int r = 0; r < client->rows(); ++r) {
      double share = 0;
      (void)absl::SimpleAtod(
          absl::string_view(client->Get(r, 1).data(), client->Get(r, 1).size()), &share);
      client_evidence[S(client->Get(r, 0))] = {share, client->Get(r, 2) == "t"};
    }
  }

  // Trend: failing observations in this and the previous window, from the
  // hourly rollups the writer keeps (never a scan of the raw findings).
  absl::flat_hash_map<std::string, std::pair<uint64_t, uint64_t>> trend;
  const char* rollup_key = RollupKey(request.by());
  if (request.max_age_seconds() > 0 && rollup_key != nullptr) {
    auto history = conn.Query(
        absl::StrCat(
            "SELECT ", rollup_key, " AS key, "
            "COALESCE(sum(r.findings) FILTER (WHERE r.bucket >= date_trunc('hour', now() - "
            "  make_interval(secs => $1::int))), 0), "
            "COALESCE(sum(r.findings) FILTER (WHERE r.bucket < date_trunc('hour', now() - "
            "  make_interval(secs => $1::int))), 0) "
            "FROM finding_rollups_hourly r "
            "LEFT JOIN urls u ON u.url_id = r.url_id LEFT JOIN cas c ON c.ca_id = r.ca_id "
            "LEFT JOIN templates t ON t.template_id = r.template_id "
            "WHERE r.status = ", kFail,
            " AND r.bucket >= date_trunc('hour', now() - make_interval(secs => 2 * $1::int)) "
            " AND ", rollup_key, " = ANY($2::text[]) GROUP BY 1"),
        {max_age, key_array});
    if (!history.ok()) return history.status();
    for (int r = 0; r < history->rows(); ++r) {
      trend[S(history->Get(r, 0))] = {static_cast<uint64_t>(history->GetInt64(r, 1)),
                                      static_cast<uint64_t>(history->GetInt64(r, 2))};
    }
  }

  v1::ListPatternsResponse response;
  *response.mutable_generated_at() = ToProto(absl::Now());
  for (int r = 0; r < rows; ++r) {
    v1::Pattern* p = response.add_patterns();
    const std::string key = S(groups->Get(r, 0));
    p->set_by(request.by());
    p->set_key(request.by() == v1::GROUP_BY_ERROR ? ErrorKey(U32(*groups, r, 0)) : key);
    p->set_url_kind(static_cast<v1::UrlKind>(groups->GetInt64(r, 1)));
    p->set_failing_hosts(U32(*groups, r, 2));
    p->set_warning_hosts(U32(*groups, r, 3));
    p->set_total_hosts(U32(*groups, r, 4));
    if (p->total_hosts() > 0) {
      p->set_failing_share(static_cast<double>(p->failing_hosts()) / p->total_hosts());
    }
    if (!groups->IsNull(r, 5)) {
      *p->mutable_first_seen() = ToProto(EpochToTime(groups->Get(r, 5)));
      *p->mutable_last_seen() = ToProto(EpochToTime(groups->Get(r, 6)));
    }
    p->set_example_summary(S(groups->Get(r, 7)));
    const std::string probe = S(groups->Get(r, 8));
    for (const auto& [code, hosts] : top_errors[key]) {
      v1::ErrorCount* e = p->add_top_errors();
      *e->mutable_error() = MakeErrorInfo(code, "");
      e->set_hosts(hosts);
    }
    query::BlameEvidence evidence;
    evidence.failing_hosts = p->failing_hosts();
    evidence.total_hosts = p->total_hosts();
    evidence.sites = site_failures[key];
    if (auto it = client_evidence.find(key); it != client_evidence.end()) {
      evidence.failing_hosts_failing_other_share = it->second.first;
      evidence.clock_skew_seen = it->second.second;
    }
    for (const query::SiteFailures& s : evidence.sites) {
      if (s.failing_hosts == 0 || p->sites_size() >= kMaxSitesListed) continue;
      v1::SiteCount* site = p->add_sites();
      site->set_site(s.site);
      site->set_failing_hosts(s.failing_hosts);
      site->set_total_hosts(s.total_hosts);
    }
    // Site and host groupings are themselves the location; blame says
    // where inside a URL/CA/template/error pattern the fault sits.
    if (request.by() != v1::GROUP_BY_SITE && request.by() != v1::GROUP_BY_HOST) {
      *p->mutable_blame() = query::ClassifyBlame(evidence, thresholds);
    }
    if (p->failing_hosts() > 0) {
      const uint32_t top_code = p->top_errors_size() > 0 ? p->top_errors(0).error().hresult() : 0;
      for (std::string& step : query::NextSteps(probe, top_code, p->blame().blame())) {
        p->add_next_steps(std::move(step));
      }
    }
    if (auto it = trend.find(key); it != trend.end()) {
      p->set_failing_findings(it->second.first);
      p->set_previous_failing_findings(it->second.second);
      p->set_trend(static_cast<int64_t>(it->second.first) -
                   static_cast<int64_t>(it->second.second));
    }
  }
  if (groups->rows() > rows) response.set_next_page_token(query::EncodePageToken(*offset + rows));
  return response;
}

}  // namespace pkiwatch::testing
