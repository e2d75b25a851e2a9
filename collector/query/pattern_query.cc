#include "collector/query/pattern_query.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "collector/query/next_steps.h"
#include "collector/query/query_values.h"
#include "collector/store/pg_literals.h"
#include "common/error_catalogue.h"

namespace pkiwatch::query {
namespace {

constexpr int kFail = v1::STATUS_FAIL;
constexpr int kWarn = v1::STATUS_WARN;
constexpr int kTopErrors = 3;
constexpr int kMaxSitesListed = 10;


// The correction a query window needs (statement parameters $1 max age in
// seconds, $2 group_by, $3 the stale nodes). The host counts count every
// current result; a window drops the results observed at or before its
// start. Only the nodes holding such a stale result (StaleNodes) can count
// differently, so for each of them and each key it is in, stale_pairs holds
// its membership with all results (all_*) beside the one from its fresh
// results alone (fresh_*; NULL where none are left).
constexpr char kStalePairs[] =
    "stale_pairs AS ("
    "  SELECT COALESCE(a.node_id, f.node_id) AS node_id, COALESCE(a.key, f.key) AS key, "
    "    a.site AS all_site, a.results AS all_results, a.failing_results AS all_failing, "
    "    a.warning_results AS all_warning, a.fail_hresults AS all_hresults, "
    "    f.site AS fresh_site, f.results AS fresh_results, f.failing_results AS fresh_failing, "
    "    f.warning_results AS fresh_warning, f.fail_hresults AS fresh_hresults, "
    "    f.fail_since AS fresh_since, f.fail_seen AS fresh_seen "
    "  FROM (SELECT * FROM pattern_members "
    "        WHERE group_by = $2 AND node_id = ANY ($3::uuid[])) a "
    "  FULL JOIN pattern_members_by($3::uuid[], now() - make_interval(secs => $1::int), "
    "                               $2::smallint) f "
    "    ON f.node_id = a.node_id AND f.key = a.key"
    ")";

// The nodes holding a result observed at or before the start of the window
// (none without one), as a uuid[] literal: found through
// nodes.oldest_result_at, so it costs as many rows as there are such nodes.
absl::StatusOr<std::string> StaleNodes(store::PgConnection& conn, const std::string& max_age) {
  if (max_age == "0") return std::string("{}");
  auto r = conn.Query(
      "SELECT node_id FROM nodes "
      "WHERE oldest_result_at <= now() - make_interval(secs => $1::int)",
      {max_age});
  if (!r.ok()) return r.status();
  std::vector<std::string> ids;
  ids.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i) ids.emplace_back(r->Get(i, 0));
  return store::PgTextArray(ids);
}

// How much the window moves each key's failing, warning and total hosts.
constexpr char kKeyDeltas[] =
    "key_deltas AS ("
    "  SELECT key, "
    "    sum((COALESCE(fresh_failing, 0) > 0)::int - (COALESCE(all_failing, 0) > 0)::int) "
    "      AS failing, "
    "    sum((COALESCE(fresh_warning, 0) > 0)::int - (COALESCE(all_warning, 0) > 0)::int) "
    "      AS warning, "
    "    sum((fresh_results IS NOT NULL)::int - (all_results IS NOT NULL)::int) AS total "
    "  FROM stale_pairs GROUP BY key"
    ")";

// The trend's windows ($1: their length in seconds) as hourly buckets:
// the current one from `cur` on, the previous one from `prev` to `cur`.
// Whole days (daily rollups) cover [cur_day, ...) and, when the previous
// window holds a whole day (has_days), [prev_day, cur_floor); hourly
// rollups cover the rest: [cur, cur_day), [prev, prev_day) and
// [cur_floor, cur), or all of [prev, cur) without whole days.
constexpr char kTrendSpans[] =
    "spans AS ("
    "  SELECT cur, prev, cur_floor, cur_day, prev_day, prev_day <= cur_floor AS has_days "
    "  FROM (SELECT cur, prev, date_trunc('day', cur) AS cur_floor, "
    "          CASE WHEN date_trunc('day', cur) = cur THEN cur "
    "               ELSE date_trunc('day', cur) + interval '1 day' END AS cur_day, "
    "          CASE WHEN date_trunc('day', prev) = prev THEN prev "
    "               ELSE date_trunc('day', prev) + interval '1 day' END AS prev_day "
    "        FROM (SELECT date_trunc('hour', now() - make_interval(secs => $1::int)) AS cur, "
    "                date_trunc('hour', now() - make_interval(secs => 2 * $1::int)) AS prev) w"
    "       ) d"
    ")";

// The URL kind of a page key (alias p), for the URL grouping only.
std::string UrlKindOf(v1::GroupBy by) {
  return by == v1::GROUP_BY_URL ? "COALESCE((SELECT u.kind FROM urls u WHERE u.url = p.key), 0)"
                                : "0";
}


// ListPatterns inside the caller's transaction.
absl::StatusOr<v1::ListPatternsResponse> ReadPatterns(store::PgConnection& conn,
                                                      const v1::ListPatternsRequest& request,
                                                      const BlameThresholds& thresholds,
                                                      uint32_t offset);

}  // namespace

absl::StatusOr<v1::GroupBy> ParseGroupBy(absl::string_view name) {
  if (name == "url") return v1::GROUP_BY_URL;
  if (name == "ca") return v1::GROUP_BY_CA;
  if (name == "template") return v1::GROUP_BY_TEMPLATE;
  if (name == "error") return v1::GROUP_BY_ERROR;
  if (name == "site") return v1::GROUP_BY_SITE;
  if (name == "host") return v1::GROUP_BY_HOST;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown grouping '", name, "': use url, ca, template, error, site or host"));
}

absl::StatusOr<Grouping> GroupingFor(v1::GroupBy by) {
  switch (by) {
    case v1::GROUP_BY_URL:
      return Grouping{"u.url", "u.kind", "JOIN urls u ON u.url_id = cs.url_id", "TRUE"};
    case v1::GROUP_BY_CA:
      return Grouping{
          "c.name || CASE WHEN c.key_id <> '' THEN ' [' || c.key_id || ']' ELSE '' END", "0",
          "JOIN cas c ON c.ca_id = cs.ca_id", "TRUE"};
    case v1::GROUP_BY_TEMPLATE:
      return Grouping{"CASE WHEN t.name <> '' THEN t.name ELSE t.oid END", "0",
                      "JOIN templates t ON t.template_id = cs.template_id", "TRUE"};
    case v1::GROUP_BY_ERROR:
      return Grouping{"cs.hresult::text", "0", "", "cs.hresult <> 0"};
    case v1::GROUP_BY_SITE:
      return Grouping{"CASE WHEN n.site <> '' THEN n.site ELSE '(no site)' END", "0", "",
                      "TRUE"};
    case v1::GROUP_BY_HOST:
      return Grouping{"CASE WHEN n.hostname <> '' THEN n.hostname ELSE n.node_id::text END",
                      "0", "", "TRUE"};
    default:
      return absl::InvalidArgumentError(
          "by must be url, ca, template, error, site or host");
  }
}

absl::StatusOr<uint32_t> DecodePageToken(const std::string& token) {
  if (token.empty()) return 0;
  std::string decoded;
  uint32_t offset = 0;
  if (!absl::WebSafeBase64Unescape(token, &decoded) || !absl::StartsWith(decoded, "o:") ||
      !absl::SimpleAtoi(absl::string_view(decoded).substr(2), &offset)) {
    return absl::InvalidArgumentError("page_token is not one this collector issued");
  }
  return offset;
}

std::string EncodePageToken(uint32_t offset) {
  return absl::WebSafeBase64Escape(absl::StrCat("o:", offset));
}

uint32_t PageSize(uint32_t requested) {
  if (requested == 0) return 100;
  return std::min<uint32_t>(requested, 1000);
}

absl::StatusOr<v1::ListPatternsResponse> ListPatterns(store::PgConnection& conn,
                                                      const v1::ListPatternsRequest& request,
                                                      const BlameThresholds& thresholds) {
  if (absl::Status s = GroupingFor(request.by()).status(); !s.ok()) return s;
  auto offset = DecodePageToken(request.page_token());
  if (!offset.ok()) return offset.status();
  // The trend looks back twice the window, in PostgreSQL integers.
  constexpr uint32_t kMaxAge = std::numeric_limits<int32_t>::max() / 2;
  if (request.max_age_seconds() > kMaxAge) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_age_seconds must be at most ", kMaxAge, " (about 34 years)"));
  }
  if (conn.InTransaction()) return ReadPatterns(conn, request, thresholds, *offset);
  // One snapshot and one now() for all statements, so the page, its
  // breakdown and its evidence agree. Without JIT: these are index lookups
  // whose estimates can still cross the JIT threshold, and compiling them
  // would cost more than running them.
  absl::Status s =
      conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL jit = off");
  if (!s.ok()) {
    (void)conn.Rollback();
    return s;
  }
  auto response = ReadPatterns(conn, request, thresholds, *offset);
  if (!response.ok()) {
    (void)conn.Rollback();  // the query's error is the one worth reporting
    return response.status();
  }
  if (s = conn.Commit(); !s.ok()) return s;
  return response;
}

namespace {

absl::StatusOr<v1::ListPatternsResponse> ReadPatterns(store::PgConnection& conn,
                                                      const v1::ListPatternsRequest& request,
                                                      const BlameThresholds& thresholds,
                                                      uint32_t offset) {
  auto found = GroupingFor(request.by());
  if (!found.ok()) return found.status();
  const Grouping& grouping = *found;
  const uint32_t page_size = PageSize(request.page_size());
  // $1, $2 and $3 of every statement below.
  const std::string max_age = absl::StrCat(request.max_age_seconds());
  const std::string group_by = absl::StrCat(static_cast<int>(request.by()));
  auto stale = StaleNodes(conn, max_age);
  if (!stale.ok()) return stale.status();

  // Everything but the trend in one statement, so the window's correction
  // (stale_pairs) is computed once: the page of keys, counted and ordered
  // like the live aggregation would, with each key's first and last failure
  // and newest failing result (section 0); the sites and errors of those
  // keys (section 1); and, for keys with few failing hosts, how much else
  // those hosts fail and whether one has a failing clock check (section 2;
  // a pattern failing on many hosts cannot be client-side).
  auto facts = conn.Query(
      absl::StrCat(
          "WITH ", kStalePairs, ", ", kKeyDeltas,
          ", corrected AS ("
          "  SELECT d.key, COALESCE(c.failing_hosts, 0) + d.failing AS failing, "
          "    COALESCE(c.warning_hosts, 0) + d.warning AS warning, "
          "    COALESCE(c.total_hosts, 0) + d.total AS total "
          "  FROM key_deltas d LEFT JOIN pattern_counts c ON c.group_by = $2 AND c.key = d.key"
          "), untouched AS ("
          // Keys no stale node is in: the stored counts, in index order.
          "  SELECT key, failing_hosts AS failing, warning_hosts AS warning, "
          "    total_hosts AS total FROM pattern_counts "
          "  WHERE group_by = $2 AND total_hosts > 0 "
          "    AND failing_hosts >= CASE WHEN $4::bool THEN 0 ELSE 1 END "
          "    AND key NOT IN (SELECT key FROM key_deltas) "
          "  ORDER BY failing_hosts DESC, warning_hosts DESC, key LIMIT $5::bigint + $6::bigint"
          "), page AS ("
          "  SELECT * FROM corrected WHERE total > 0 AND ($4::bool OR failing > 0) "
          "  UNION ALL SELECT * FROM untouched "
          "  ORDER BY failing DESC, warning DESC, key LIMIT $5::bigint OFFSET $6::bigint"
          "), listed AS ("
          "  SELECT p.*, ", UrlKindOf(request.by()), " AS kind, first.since, last.seen, "
          "    ex.summary, ex.probe "
          "  FROM page p "
          // The stale nodes' own first and last failures per key.
          "  LEFT JOIN (SELECT key, min(fresh_since) AS since FROM stale_pairs "
          "             WHERE fresh_failing > 0 GROUP BY key) sf ON sf.key = p.key "
          "  LEFT JOIN (SELECT DISTINCT ON (key) key, node_id, fresh_seen AS seen "
          "             FROM stale_pairs WHERE fresh_failing > 0 "
          "             ORDER BY key, fresh_seen DESC, node_id) sl ON sl.key = p.key "
          "  CROSS JOIN LATERAL (SELECT LEAST("
          "    (SELECT m.fail_since FROM pattern_members m WHERE m.group_by = $2 "
          "       AND m.key = p.key AND m.failing_results > 0 "
          "       AND NOT (m.node_id = ANY ($3::uuid[])) "
          "     ORDER BY m.fail_since LIMIT 1), sf.since) AS since) first "
          "  LEFT JOIN LATERAL ("
          "    SELECT c.node_id, c.seen FROM ("
          "      (SELECT m.node_id, m.fail_seen AS seen FROM pattern_members m "
          "       WHERE m.group_by = $2 AND m.key = p.key AND m.failing_results > 0 "
          "         AND NOT (m.node_id = ANY ($3::uuid[])) "
          "       ORDER BY m.fail_seen DESC, m.node_id LIMIT 1) "
          "      UNION ALL SELECT sl.node_id, sl.seen WHERE sl.node_id IS NOT NULL) c "
          "    ORDER BY c.seen DESC, c.node_id LIMIT 1) last ON true "
          // The example: the newest failing result in the key of that node,
          // the one observed at last.seen (so inside the window).
          "  LEFT JOIN LATERAL ("
          "    SELECT cs.summary, cs.probe FROM current_state cs "
          "    JOIN nodes n ON n.node_id = cs.node_id ", grouping.join,
          "    WHERE cs.node_id = last.node_id AND ", grouping.where, " AND ", grouping.key,
          "      = p.key AND cs.status = ", kFail,
          "    ORDER BY cs.observed_at DESC, cs.probe, cs.target LIMIT 1) ex ON true"
          "), delta (key, site, hresult, failing, total) AS ("
          // Sites (hresult 0) and errors (site '') as the window changes them.
          "  SELECT key, all_site, 0::bigint, -(all_failing > 0)::int, -1 FROM stale_pairs "
          "  WHERE all_results IS NOT NULL "
          "  UNION ALL SELECT key, fresh_site, 0, (fresh_failing > 0)::int, 1 FROM stale_pairs "
          "  WHERE fresh_results IS NOT NULL "
          "  UNION ALL SELECT s.key, '', h, -1, 0 FROM stale_pairs s, unnest(s.all_hresults) h "
          "  UNION ALL SELECT s.key, '', h, 1, 0 FROM stale_pairs s, unnest(s.fresh_hresults) h"
          "), breakdown AS ("
          "  SELECT key, site, hresult, sum(failing) AS failing, sum(total) AS total FROM ("
          "    SELECT key, site, hresult, failing_hosts AS failing, total_hosts AS total "
          "    FROM pattern_breakdown "
          "    WHERE group_by = $2 AND key IN (SELECT key FROM page) "
          "    UNION ALL SELECT * FROM delta WHERE key IN (SELECT key FROM page)) b "
          "  GROUP BY key, site, hresult "
          "  HAVING CASE WHEN hresult = 0 THEN sum(total) > 0 ELSE sum(failing) > 0 END"
          "), small AS ("
          "  SELECT key FROM page WHERE failing > 0 "
          "    AND (failing <= $7::bigint OR failing <= $8::float8 * total)"
          "), failing AS ("
          "  SELECT m.key, m.node_id FROM pattern_members m "
          "  WHERE m.group_by = $2 AND m.failing_results > 0 "
          "    AND NOT (m.node_id = ANY ($3::uuid[])) AND m.key IN (SELECT key FROM small) "
          "  UNION ALL SELECT key, node_id FROM stale_pairs "
          "  WHERE fresh_failing > 0 AND key IN (SELECT key FROM small)"
          // The share of all of a host's current results that fail is in its
          // host-grouping membership (the same numeric as
          // avg((status = FAIL)::int) over its results); the clock check is
          // one index lookup.
          "), per_node AS ("
          "  SELECT f.node_id, m.failing_results::numeric / m.results AS share, "
          "    EXISTS (SELECT 1 FROM current_state c WHERE c.node_id = f.node_id "
          "      AND c.probe = 'clock' AND c.status = ", kFail, ") AS clock "
          "  FROM (SELECT DISTINCT node_id FROM failing) f "
          "  JOIN pattern_members m ON m.node_id = f.node_id AND m.group_by = ",
          static_cast<int>(v1::GROUP_BY_HOST),
          ") "
          "SELECT 0, row_number() OVER (ORDER BY failing DESC, warning DESC, key), key, "
          "  kind::text, failing::text, warning::text, total::text, "
          "  extract(epoch FROM since)::text, extract(epoch FROM seen)::text, summary, probe "
          "FROM listed "
          "UNION ALL "
          "SELECT 1, row_number() OVER (ORDER BY key, hresult <> 0, failing DESC, site, hresult), "
          "  key, site, hresult::text, failing::text, total::text, NULL, NULL, NULL, NULL "
          "FROM breakdown "
          "UNION ALL "
          "SELECT 2, 0, f.key, avg(p.share)::text, bool_or(p.clock)::text, NULL, NULL, NULL, "
          "  NULL, NULL, NULL "
          "FROM failing f JOIN per_node p USING (node_id) GROUP BY f.key "
          "ORDER BY 1, 2"),
      {max_age, group_by, *stale, request.include_healthy() ? "true" : "false",
       absl::StrCat(page_size + 1), absl::StrCat(offset), absl::StrCat(thresholds.client_max_hosts),
       absl::StrFormat("%.17g", thresholds.client_max_share)});
  if (!facts.ok()) return facts.status();
  // Columns after the section and its order.
  constexpr int kKey = 2, kA = 3, kB = 4, kC = 5, kD = 6, kE = 7, kF = 8, kG = 9, kH = 10;
  std::vector<int> listed;  // rows of section 0, in page order
  absl::flat_hash_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> top_errors;
  absl::flat_hash_map<std::string, std::vector<SiteFailures>> site_failures;
  absl::flat_hash_map<std::string, std::pair<double, bool>> client_evidence;
  for (int r = 0; r < facts->rows(); ++r) {
    const std::string key = S(facts->Get(r, kKey));
    switch (facts->GetInt64(r, 0)) {
      case 0:
        listed.push_back(r);
        break;
      case 1:
        if (const uint32_t code = U32(*facts, r, kB); code == 0) {
          site_failures[key].push_back(
              {S(facts->Get(r, kA)), U32(*facts, r, kC), U32(*facts, r, kD)});
        } else if (auto& list = top_errors[key]; list.size() < kTopErrors) {
          list.emplace_back(code, U32(*facts, r, kC));
        }
        break;
      case 2: {
        double share = 0;
        (void)absl::SimpleAtod(
            absl::string_view(facts->Get(r, kA).data(), facts->Get(r, kA).size()), &share);
        client_evidence[key] = {share, facts->Get(r, kB) == "true"};
        break;
      }
    }
  }
  const int rows = std::min<int>(static_cast<int>(listed.size()), static_cast<int>(page_size));
  std::vector<std::string> keys;
  for (int i = 0; i < rows; ++i) keys.push_back(S(facts->Get(listed[i], kKey)));
  const std::string key_array = store::PgTextArray(keys);

  // Trend: failing observations in this and the previous window, from the
  // rollups the writer keeps (never a scan of the raw findings): the hourly
  // rows at the windows' edges and, for the whole days in between, the daily
  // rows that sum them.
  absl::flat_hash_map<std::string, std::pair<uint64_t, uint64_t>> trend;
  const char* rollup_key = RollupKey(request.by());
  if (request.max_age_seconds() > 0 && rollup_key != nullptr) {
    auto history = conn.Query(
        absl::StrCat(
            "WITH ", kTrendSpans, ", failing (bucket, hresult, ca_id, template_id, url_id, site, "
            "  findings) AS ("
            "  SELECT r.bucket, r.hresult, r.ca_id, r.template_id, r.url_id, r.site, r.findings "
            "  FROM spans e JOIN finding_rollups_hourly r ON r.bucket >= e.cur "
            "    AND r.bucket < e.cur_day WHERE r.status = ", kFail,
            "  UNION ALL "
            "  SELECT r.bucket, r.hresult, r.ca_id, r.template_id, r.url_id, r.site, r.findings "
            "  FROM spans e JOIN finding_rollups_hourly r ON r.bucket >= e.prev "
            "    AND r.bucket < CASE WHEN e.has_days THEN e.prev_day ELSE e.cur END "
            "  WHERE r.status = ", kFail,
            "  UNION ALL "
            "  SELECT r.bucket, r.hresult, r.ca_id, r.template_id, r.url_id, r.site, r.findings "
            "  FROM spans e JOIN finding_rollups_hourly r ON r.bucket >= e.cur_floor "
            "    AND r.bucket < e.cur WHERE e.has_days AND r.status = ", kFail,
            "  UNION ALL "
            "  SELECT r.day, r.hresult, r.ca_id, r.template_id, r.url_id, r.site, r.findings "
            "  FROM spans e JOIN failing_rollups_daily r ON r.day >= e.cur_day "
            "  UNION ALL "
            "  SELECT r.day, r.hresult, r.ca_id, r.template_id, r.url_id, r.site, r.findings "
            "  FROM spans e JOIN failing_rollups_daily r ON r.day >= e.prev_day "
            "    AND r.day < e.cur_floor WHERE e.has_days"
            ") "
            "SELECT ", rollup_key, " AS key, "
            "  COALESCE(sum(r.findings) FILTER (WHERE r.bucket >= e.cur), 0), "
            "  COALESCE(sum(r.findings) FILTER (WHERE r.bucket < e.cur), 0) "
            "FROM spans e CROSS JOIN failing r "
            "LEFT JOIN urls u ON u.url_id = r.url_id LEFT JOIN cas c ON c.ca_id = r.ca_id "
            "LEFT JOIN templates t ON t.template_id = r.template_id "
            "WHERE ", rollup_key, " = ANY($2::text[]) GROUP BY 1"),
        {max_age, key_array});
    if (!history.ok()) return history.status();
    for (int r = 0; r < history->rows(); ++r) {
      trend[S(history->Get(r, 0))] = {static_cast<uint64_t>(history->GetInt64(r, 1)),
                                      static_cast<uint64_t>(history->GetInt64(r, 2))};
    }
  }

  v1::ListPatternsResponse response;
  *response.mutable_generated_at() = ToProto(absl::Now());
  for (int i = 0; i < rows; ++i) {
    const int r = listed[i];
    v1::Pattern* p = response.add_patterns();
    const std::string key = S(facts->Get(r, kKey));
    p->set_by(request.by());
    p->set_key(request.by() == v1::GROUP_BY_ERROR ? ErrorKey(U32(*facts, r, kKey)) : key);
    p->set_url_kind(static_cast<v1::UrlKind>(facts->GetInt64(r, kA)));
    p->set_failing_hosts(U32(*facts, r, kB));
    p->set_warning_hosts(U32(*facts, r, kC));
    p->set_total_hosts(U32(*facts, r, kD));
    if (p->total_hosts() > 0) {
      p->set_failing_share(static_cast<double>(p->failing_hosts()) / p->total_hosts());
    }
    if (!facts->IsNull(r, kE)) {
      *p->mutable_first_seen() = ToProto(EpochToTime(facts->Get(r, kE)));
      *p->mutable_last_seen() = ToProto(EpochToTime(facts->Get(r, kF)));
    }
    p->set_example_summary(S(facts->Get(r, kG)));
    const std::string probe = S(facts->Get(r, kH));
    for (const auto& [code, hosts] : top_errors[key]) {
      v1::ErrorCount* e = p->add_top_errors();
      *e->mutable_error() = MakeErrorInfo(code, "");
      e->set_hosts(hosts);
    }
    BlameEvidence evidence;
    evidence.failing_hosts = p->failing_hosts();
    evidence.total_hosts = p->total_hosts();
    evidence.sites = site_failures[key];
    if (auto it = client_evidence.find(key); it != client_evidence.end()) {
      evidence.failing_hosts_failing_other_share = it->second.first;
      evidence.clock_skew_seen = it->second.second;
    }
    for (const SiteFailures& s : evidence.sites) {
      if (s.failing_hosts == 0 || p->sites_size() >= kMaxSitesListed) continue;
      v1::SiteCount* site = p->add_sites();
      site->set_site(s.site);
      site->set_failing_hosts(s.failing_hosts);
      site->set_total_hosts(s.total_hosts);
    }
    // Site and host groupings are themselves the location; blame says
    // where inside a URL/CA/template/error pattern the fault sits.
    if (request.by() != v1::GROUP_BY_SITE && request.by() != v1::GROUP_BY_HOST) {
      *p->mutable_blame() = ClassifyBlame(evidence, thresholds);
    }
    if (p->failing_hosts() > 0) {
      const uint32_t top_code = p->top_errors_size() > 0 ? p->top_errors(0).error().hresult() : 0;
      for (std::string& step : NextSteps(probe, top_code, p->blame().blame())) {
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
  if (static_cast<int>(listed.size()) > rows) {
    response.set_next_page_token(EncodePageToken(offset + rows));
  }
  return response;
}

}  // namespace

}  // namespace pkiwatch::query
