#include "collector/store/pattern_counters.h"

#include <string>

#include "collector/store/pg_literals.h"

namespace pkiwatch::store {
namespace {

// `diff` pairs each membership as stored (old_*) with the same membership
// recomputed (new_*; NULL where it no longer exists), keeping only those that
// changed. Host counts move by whether a host fails / warns / is covered at
// all: +1 for the new state, -1 for the old one, per key (pattern_counts),
// per key and site (the site can change when the host moves) and per key
// and error of its failures (pattern_breakdown).
constexpr char kRefreshSql[] = R"sql(
WITH fresh AS (
  SELECT group_by, key, site, results, failing_results, warning_results, fail_since,
         fail_seen, fail_hresults
  FROM pattern_members_of(ARRAY[$1::uuid], '-infinity')
), old AS (
  SELECT group_by, key, site, results, failing_results, warning_results, fail_since,
         fail_seen, fail_hresults
  FROM pattern_members WHERE node_id = $1::uuid
), diff AS (
  SELECT COALESCE(f.group_by, o.group_by) AS group_by, COALESCE(f.key, o.key) AS key,
         o.site AS old_site, o.results AS old_results, o.failing_results AS old_failing,
         o.warning_results AS old_warning, o.fail_hresults AS old_hresults,
         f.site AS new_site, f.results AS new_results, f.failing_results AS new_failing,
         f.warning_results AS new_warning, f.fail_since AS new_since, f.fail_seen AS new_seen,
         f.fail_hresults AS new_hresults
  FROM fresh f FULL JOIN old o ON o.group_by = f.group_by AND o.key = f.key
  WHERE (f.site, f.results, f.failing_results, f.warning_results, f.fail_since, f.fail_seen,
         f.fail_hresults) IS DISTINCT FROM
        (o.site, o.results, o.failing_results, o.warning_results, o.fail_since, o.fail_seen,
         o.fail_hresults)
), gone AS (
  DELETE FROM pattern_members m USING diff d
  WHERE m.node_id = $1::uuid AND m.group_by = d.group_by AND m.key = d.key
    AND d.new_results IS NULL
), changed AS (
  UPDATE pattern_members m SET
    site = d.new_site, results = d.new_results, failing_results = d.new_failing,
    warning_results = d.new_warning, fail_since = d.new_since, fail_seen = d.new_seen,
    fail_hresults = d.new_hresults
  FROM diff d
  WHERE m.node_id = $1::uuid AND m.group_by = d.group_by AND m.key = d.key
    AND d.new_results IS NOT NULL AND d.old_results IS NOT NULL
), added AS (
  INSERT INTO pattern_members (node_id, group_by, key, site, results, failing_results,
                               warning_results, fail_since, fail_seen, fail_hresults)
  SELECT $1::uuid, group_by, key, new_site, new_results, new_failing, new_warning, new_since,
         new_seen, new_hresults
  FROM diff WHERE new_results IS NOT NULL AND old_results IS NULL
), site_and_error (group_by, key, site, hresult, failing, warning, total) AS (
  SELECT group_by, key, old_site, 0::bigint, -(old_failing > 0)::int, -(old_warning > 0)::int,
         -1
  FROM diff WHERE old_results IS NOT NULL
  UNION ALL
  SELECT group_by, key, new_site, 0, (new_failing > 0)::int, (new_warning > 0)::int, 1
  FROM diff WHERE new_results IS NOT NULL
  UNION ALL
  SELECT d.group_by, d.key, '', h, -1, 0, 0 FROM diff d, unnest(d.old_hresults) AS h
  UNION ALL
  SELECT d.group_by, d.key, '', h, 1, 0, 0 FROM diff d, unnest(d.new_hresults) AS h
), breakdown AS (
  -- Run to completion after the main INSERT below (PostgreSQL finishes
  -- unreferenced data-modifying WITH parts last): every refresh locks
  -- pattern_counts rows first, then pattern_breakdown rows, each in key
  -- order.
  INSERT INTO pattern_breakdown AS b (group_by, key, site, hresult, failing_hosts,
                                      warning_hosts, total_hosts)
  SELECT group_by, key, site, hresult, sum(failing), sum(warning), sum(total)
  FROM site_and_error GROUP BY group_by, key, site, hresult
  HAVING sum(failing) <> 0 OR sum(warning) <> 0 OR sum(total) <> 0
  ORDER BY group_by, key, site, hresult
  ON CONFLICT (group_by, key, site, hresult) DO UPDATE SET
    failing_hosts = b.failing_hosts + EXCLUDED.failing_hosts,
    warning_hosts = b.warning_hosts + EXCLUDED.warning_hosts,
    total_hosts = b.total_hosts + EXCLUDED.total_hosts
)
INSERT INTO pattern_counts AS c (group_by, key, failing_hosts, warning_hosts, total_hosts)
SELECT group_by, key, failing, warning, total FROM (
  SELECT group_by, key,
         (COALESCE(new_failing, 0) > 0)::int - (COALESCE(old_failing, 0) > 0)::int AS failing,
         (COALESCE(new_warning, 0) > 0)::int - (COALESCE(old_warning, 0) > 0)::int AS warning,
         (new_results IS NOT NULL)::int - (old_results IS NOT NULL)::int AS total
  FROM diff) k
WHERE failing <> 0 OR warning <> 0 OR total <> 0
ORDER BY group_by, key
ON CONFLICT (group_by, key) DO UPDATE SET
  failing_hosts = c.failing_hosts + EXCLUDED.failing_hosts,
  warning_hosts = c.warning_hosts + EXCLUDED.warning_hosts,
  total_hosts = c.total_hosts + EXCLUDED.total_hosts
)sql";

// The memberships of just these results: their fail_seen is the newest
// failing observation among them, which only ever raises the stored one.
constexpr char kRepeatedSql[] = R"sql(
UPDATE pattern_members m SET fail_seen = r.fail_seen
FROM pattern_members_of(ARRAY[$1::uuid], '-infinity', $2::text[], $3::text[]) r
WHERE m.node_id = $1::uuid AND m.group_by = r.group_by AND m.key = r.key
  AND r.fail_seen > m.fail_seen
)sql";

}  // namespace

absl::Status RefreshPatternCounters(PgConnection& conn, std::string_view node_id) {
  return conn.Query(kRefreshSql, {std::string(node_id)}).status();
}

absl::Status RecordRepeatedResults(PgConnection& conn, std::string_view node_id,
                                   const std::vector<std::string>& probes,
                                   const std::vector<std::string>& targets) {
  return conn.Query(kRepeatedSql, {std::string(node_id), PgTextArray(probes),
                                   PgTextArray(targets)})
      .status();
}

}  // namespace pkiwatch::store
