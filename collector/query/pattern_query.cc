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
#include "collector/store/pg_literals.h"
#include "common/error_catalogue.h"

namespace pkiwatch::query {
namespace {

constexpr int kFail = v1::STATUS_FAIL;
constexpr int kWarn = v1::STATUS_WARN;
constexpr int kTopErrors = 3;
constexpr int kMaxSitesListed = 10;

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(ts.seconds())) /
                                    absl::Nanoseconds(1)));
  return ts;
}

// extract(epoch ...) text, e.g. "1795400000.123456"; seconds-with-fraction
// avoids depending on the session's TimeZone and DateStyle.
absl::Time EpochToTime(std::string_view text) {
  double seconds = 0;
  if (!absl::SimpleAtod(absl::string_view(text.data(), text.size()), &seconds)) {
    return absl::UnixEpoch();
  }
  return absl::UnixEpoch() + absl::Microseconds(static_cast<int64_t>(seconds * 1e6));
}

std::string ErrorKey(uint32_t code) {
  auto entry = LookupError(code);
  return entry ? std::string(entry->name) : absl::StrFormat("0x%08X", code);
}

std::string S(std::string_view v) { return std::string(v); }

uint32_t U32(const store::PgResult& r, int row, int col) {
  return static_cast<uint32_t>(r.GetInt64(row, col));
}

// The group of a rollup row (alias r, with urls u, cas c, templates t
// joined); nullptr where rollups do not keep the dimension (hosts).
const char* RollupKey(v1::GroupBy by) {
  switch (by) {
    case v1::GROUP_BY_URL: return "u.url";
    case v1::GROUP_BY_CA:
      return "c.name || CASE WHEN c.key_id <> '' THEN ' [' || c.key_id || ']' ELSE '' END";
    case v1::GROUP_BY_TEMPLATE: return "CASE WHEN t.name <> '' THEN t.name ELSE t.oid END";
    case v1::GROUP_BY_ERROR: return "r.hresult::text";
    case v1::GROUP_BY_SITE: return "CASE WHEN r.site <> '' THEN r.site ELSE '(no site)' END";
    default: return nullptr;
  }
}

// The correction a query window needs (statement parameters $1 max age in
// seconds, 0 for none, and $2 group_by). The host counts count every current
// result; a window drops the results observed at or before its start. Only
// nodes holding such a stale result ("stale", found through
// nodes.oldest_result_at) can count differently, so for each of them and
// each key it is in, stale_pairs holds its membership with all results
// (all_*) beside the one from its fresh results alone (fresh_*; NULL where
// none are left).
constexpr char kStalePairs[] =
    "stale AS ("
    "  SELECT node_id FROM nodes WHERE $1::int > 0 "
    "    AND oldest_result_at <= now() - make_interval(secs => $1::int)"
    "), stale_pairs AS ("
    "  SELECT COALESCE(a.node_id, f.node_id) AS node_id, COALESCE(a.key, f.key) AS key, "
    "    a.site AS all_site, a.results AS all_results, a.failing_results AS all_failing, "
    "    a.warning_results AS all_warning, a.fail_hresults AS all_hresults, "
    "    f.site AS fresh_site, f.results AS fresh_results, f.failing_results AS fresh_failing, "
    "    f.warning_results AS fresh_warning, f.fail_hresults AS fresh_hresults, "
    "    f.fail_since AS fresh_since, f.fail_seen AS fresh_seen "
    "  FROM (SELECT * FROM pattern_members "
    "        WHERE group_by = $2 AND node_id IN (SELECT node_id FROM stale)) a "
    "  FULL JOIN (SELECT m.* FROM stale s CROSS JOIN LATERAL "
    "               pattern_members_of(s.node_id, now() - make_interval(secs => $1::int)) m "
    "             WHERE m.group_by = $2) f "
    "    ON f.node_id = a.node_id AND f.key = a.key"
    ")";

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
  // $1 and $2 of every statement below.
  const std::string max_age = absl::StrCat(request.max_age_seconds());
  const std::string group_by = absl::StrCat(static_cast<int>(request.by()));

  // The page of keys, counted and ordered like the live aggregation would,
  // with each key's first and last failure and its newest failing result.
  auto groups = conn.Query(
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
          "    AND failing_hosts >= CASE WHEN $3::bool THEN 0 ELSE 1 END "
          "    AND key NOT IN (SELECT key FROM key_deltas) "
          "  ORDER BY failing_hosts DESC, warning_hosts DESC, key LIMIT $4::bigint + $5::bigint"
          "), page AS ("
          "  SELECT * FROM corrected WHERE total > 0 AND ($3::bool OR failing > 0) "
          "  UNION ALL SELECT * FROM untouched "
          "  ORDER BY failing DESC, warning DESC, key LIMIT $4::bigint OFFSET $5::bigint"
          ") "
          "SELECT p.key, ", UrlKindOf(request.by()), ", p.failing, p.warning, p.total, "
          "  extract(epoch FROM first.since), extract(epoch FROM last.seen), ex.summary, "
          "  ex.probe "
          "FROM page p "
          "CROSS JOIN LATERAL (SELECT LEAST("
          "  (SELECT m.fail_since FROM pattern_members m WHERE m.group_by = $2 "
          "     AND m.key = p.key AND m.failing_results > 0 "
          "     AND m.node_id NOT IN (SELECT node_id FROM stale) "
          "   ORDER BY m.fail_since LIMIT 1), "
          "  (SELECT min(s.fresh_since) FROM stale_pairs s "
          "   WHERE s.key = p.key AND s.fresh_failing > 0)) AS since) first "
          "LEFT JOIN LATERAL ("
          "  SELECT c.node_id, c.seen FROM ("
          "    (SELECT m.node_id, m.fail_seen AS seen FROM pattern_members m "
          "     WHERE m.group_by = $2 AND m.key = p.key AND m.failing_results > 0 "
          "       AND m.node_id NOT IN (SELECT node_id FROM stale) "
          "     ORDER BY m.fail_seen DESC, m.node_id LIMIT 1) "
          "    UNION ALL "
          "    SELECT s.node_id, s.fresh_seen FROM stale_pairs s "
          "    WHERE s.key = p.key AND s.fresh_failing > 0) c "
          "  ORDER BY c.seen DESC, c.node_id LIMIT 1) last ON true "
          // The newest observation holds the newest failing result: outside
          // the window only if nothing inside it fails.
          "LEFT JOIN LATERAL ("
          "  SELECT cs.summary, cs.probe FROM current_state cs "
          "  JOIN nodes n ON n.node_id = cs.node_id ", grouping.join,
          "  WHERE cs.node_id = last.node_id AND ", grouping.where, " AND ", grouping.key,
          "    = p.key AND cs.status = ", kFail,
          "  ORDER BY cs.observed_at DESC, cs.probe, cs.target LIMIT 1) ex ON true "
          "ORDER BY p.failing DESC, p.warning DESC, p.key"),
      {max_age, group_by, request.include_healthy() ? "true" : "false",
       absl::StrCat(page_size + 1), absl::StrCat(offset)});
  if (!groups.ok()) return groups.status();
  const int rows = std::min<int>(groups->rows(), static_cast<int>(page_size));
  std::vector<std::string> keys;
  for (int r = 0; r < rows; ++r) keys.push_back(S(groups->Get(r, 0)));
  const std::string key_array = store::PgTextArray(keys);

  // Sites and errors of the page's keys: their stored host counts plus the
  // stale nodes' corrections, in one pass. Site rows carry hresult 0, error
  // rows site ''.
  auto breakdown = conn.Query(
      absl::StrCat(
          "WITH ", kStalePairs,
          ", delta (key, site, hresult, failing, total) AS ("
          "  SELECT key, all_site, 0::bigint, -(all_failing > 0)::int, -1 FROM stale_pairs "
          "  WHERE all_results IS NOT NULL "
          "  UNION ALL SELECT key, fresh_site, 0, (fresh_failing > 0)::int, 1 FROM stale_pairs "
          "  WHERE fresh_results IS NOT NULL "
          "  UNION ALL SELECT s.key, '', h, -1, 0 FROM stale_pairs s, unnest(s.all_hresults) h "
          "  UNION ALL SELECT s.key, '', h, 1, 0 FROM stale_pairs s, unnest(s.fresh_hresults) h"
          "), counted AS ("
          "  SELECT key, site, hresult, failing_hosts AS failing, total_hosts AS total "
          "  FROM pattern_breakdown WHERE group_by = $2 AND key = ANY ($3::text[]) "
          "  UNION ALL SELECT * FROM delta WHERE key = ANY ($3::text[])"
          ") "
          "SELECT key, site, hresult, sum(failing), sum(total) FROM counted "
          "GROUP BY key, site, hresult "
          "HAVING CASE WHEN hresult = 0 THEN sum(total) > 0 ELSE sum(failing) > 0 END "
          "ORDER BY key, hresult <> 0, 4 DESC, site, hresult"),
      {max_age, group_by, key_array});
  if (!breakdown.ok()) return breakdown.status();
  absl::flat_hash_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> top_errors;
  absl::flat_hash_map<std::string, std::vector<SiteFailures>> site_failures;
  for (int r = 0; r < breakdown->rows(); ++r) {
    const std::string key = S(breakdown->Get(r, 0));
    const uint32_t code = U32(*breakdown, r, 2);
    if (code == 0) {
      site_failures[key].push_back(
          {S(breakdown->Get(r, 1)), U32(*breakdown, r, 3), U32(*breakdown, r, 4)});
    } else if (auto& list = top_errors[key]; list.size() < kTopErrors) {
      list.emplace_back(code, U32(*breakdown, r, 3));
    }
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
        absl::StrCat(
            "WITH ", kStalePairs,
            ", failing AS ("
            "  SELECT m.key, m.node_id FROM pattern_members m "
            "  WHERE m.group_by = $2 AND m.key = ANY ($3::text[]) AND m.failing_results > 0 "
            "    AND m.node_id NOT IN (SELECT node_id FROM stale) "
            "  UNION ALL SELECT key, node_id FROM stale_pairs "
            "  WHERE key = ANY ($3::text[]) AND fresh_failing > 0"
            // The share of all of a host's current results that fail is
            // in its host-grouping membership (the same numeric as
            // avg((status = FAIL)::int) over its results); the clock check
            // is one index lookup.
            "), per_node AS (SELECT f.node_id, "
            "  m.failing_results::numeric / m.results AS share, "
            "  EXISTS (SELECT 1 FROM current_state c WHERE c.node_id = f.node_id "
            "    AND c.probe = 'clock' AND c.status = ", kFail, ") AS clock "
            "  FROM (SELECT DISTINCT node_id FROM failing) f "
            "  JOIN pattern_members m ON m.node_id = f.node_id AND m.group_by = ",
            static_cast<int>(v1::GROUP_BY_HOST), ") "
            "SELECT f.key, avg(p.share), bool_or(p.clock) FROM failing f "
            "JOIN per_node p USING (node_id) GROUP BY f.key"),
        {max_age, group_by, store::PgTextArray(small_keys)});
    if (!client.ok()) return client.status();
    for (int r = 0; r < client->rows(); ++r) {
      double share = 0;
      (void)absl::SimpleAtod(
          absl::string_view(client->Get(r, 1).data(), client->Get(r, 1).size()), &share);
      client_evidence[S(client->Get(r, 0))] = {share, client->Get(r, 2) == "t"};
    }
  }

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
  if (groups->rows() > rows) response.set_next_page_token(EncodePageToken(offset + rows));
  return response;
}

}  // namespace

}  // namespace pkiwatch::query
