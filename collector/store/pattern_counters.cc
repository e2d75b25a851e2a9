#include "collector/store/pattern_counters.h"

#include <string>

namespace pkiwatch::store {
namespace {

// `diff` pairs each membership as stored (old_*) with the same membership
// recomputed (new_*; NULL where it no longer exists), keeping only those that
// changed. Host counts move by whether a host fails / warns / is covered at
// all: +1 for the new state, -1 for the old one, per key, per site (the site
// can change when the host re-enrolls) and per error of its failures.
constexpr char kRefreshSql[] = R"sql(
WITH fresh AS (
  SELECT group_by, key, site, results, failing_results, warning_results, fail_since,
         fail_seen, fail_hresults
  FROM pattern_members_of($1::uuid, '-infinity')
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
), kept AS (
  INSERT INTO pattern_members AS m (node_id, group_by, key, site, results, failing_results,
                                    warning_results, fail_since, fail_seen, fail_hresults)
  SELECT $1::uuid, group_by, key, new_site, new_results, new_failing, new_warning, new_since,
         new_seen, new_hresults
  FROM diff WHERE new_results IS NOT NULL
  ON CONFLICT (node_id, group_by, key) DO UPDATE SET
    site = EXCLUDED.site, results = EXCLUDED.results,
    failing_results = EXCLUDED.failing_results, warning_results = EXCLUDED.warning_results,
    fail_since = EXCLUDED.fail_since, fail_seen = EXCLUDED.fail_seen,
    fail_hresults = EXCLUDED.fail_hresults
), delta (group_by, key, site, hresult, failing, warning, total) AS (
  SELECT group_by, key, '', 0::bigint,
         (COALESCE(new_failing, 0) > 0)::int - (COALESCE(old_failing, 0) > 0)::int,
         (COALESCE(new_warning, 0) > 0)::int - (COALESCE(old_warning, 0) > 0)::int,
         (new_results IS NOT NULL)::int - (old_results IS NOT NULL)::int
  FROM diff
  UNION ALL
  SELECT group_by, key, old_site, 0, -(old_failing > 0)::int, -(old_warning > 0)::int, -1
  FROM diff WHERE old_results IS NOT NULL
  UNION ALL
  SELECT group_by, key, new_site, 0, (new_failing > 0)::int, (new_warning > 0)::int, 1
  FROM diff WHERE new_results IS NOT NULL
  UNION ALL
  SELECT d.group_by, d.key, '', h, -1, 0, 0 FROM diff d, unnest(d.old_hresults) AS h
  UNION ALL
  SELECT d.group_by, d.key, '', h, 1, 0, 0 FROM diff d, unnest(d.new_hresults) AS h
)
INSERT INTO pattern_counts AS c (group_by, key, site, hresult, failing_hosts, warning_hosts,
                                 total_hosts)
SELECT group_by, key, site, hresult, sum(failing), sum(warning), sum(total)
FROM delta GROUP BY group_by, key, site, hresult
HAVING sum(failing) <> 0 OR sum(warning) <> 0 OR sum(total) <> 0
ORDER BY group_by, key, site, hresult
ON CONFLICT (group_by, key, site, hresult) DO UPDATE SET
  failing_hosts = c.failing_hosts + EXCLUDED.failing_hosts,
  warning_hosts = c.warning_hosts + EXCLUDED.warning_hosts,
  total_hosts = c.total_hosts + EXCLUDED.total_hosts
)sql";

}  // namespace

absl::Status RefreshPatternCounters(PgConnection& conn, std::string_view node_id) {
  return conn.Query(kRefreshSql, {std::string(node_id)}).status();
}

}  // namespace pkiwatch::store
