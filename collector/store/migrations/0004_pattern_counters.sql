-- 0004_pattern_counters: failure patterns without a scan of current_state.
-- For every grouping of ListPatterns (group_by is pkiwatch.v1.GroupBy:
-- 1 url, 2 ca, 3 template, 4 error, 5 site, 6 host) the batch writer keeps,
-- in the transaction that upserts current_state, which hosts each group key
-- covers and how many of them fail, warn and probe it. Queries then read a
-- page of keys instead of aggregating every current result.

-- What a node contributes to each group key it has results in.
CREATE TABLE pattern_members (
  node_id uuid NOT NULL,
  group_by smallint NOT NULL,
  key text NOT NULL,
  site text NOT NULL,                    -- the node's site as shown: '(no site)' for none
  results integer NOT NULL,              -- its current results in the group
  failing_results integer NOT NULL,      -- of which FAIL (3)
  warning_results integer NOT NULL,      -- of which WARN (2)
  fail_since timestamptz,                -- min(status_since) of the FAIL ones
  fail_seen timestamptz,                 -- max(observed_at) of the FAIL ones
  fail_hresults bigint[] NOT NULL,       -- distinct non-zero hresults of the FAIL ones
  PRIMARY KEY (node_id, group_by, key)
);
-- A key's earliest current failure and its newest failing observation: the
-- first entry of these, whatever the number of failing hosts.
CREATE INDEX pattern_members_fail_since
  ON pattern_members (group_by, key, fail_since) WHERE failing_results > 0;
CREATE INDEX pattern_members_fail_seen
  ON pattern_members (group_by, key, fail_seen DESC, node_id) WHERE failing_results > 0;

-- One node's pattern_members as they should be, computed from its current
-- results observed after p_after ('-infinity': all of them), or only from
-- those for the given (probe, target) pairs (p_probes, p_targets). Group keys
-- exactly as the live pattern query names them (GroupingFor in
-- collector/query/pattern_query.cc): the URL; "CA name [key id]"; the
-- template's name, or its OID without one; the hresult of results that
-- have one; the site ('(no site)'); the hostname (the node id without
-- one). One pass over the node's rows (grouping sets, hashed); inlined by
-- the planner, so a call costs index lookups of that node's rows.
CREATE FUNCTION pattern_members_of(p_node uuid, p_after timestamptz,
                                   p_probes text[] DEFAULT NULL,
                                   p_targets text[] DEFAULT NULL)
RETURNS TABLE (node_id uuid, group_by smallint, key text, site text, results integer,
               failing_results integer, warning_results integer, fail_since timestamptz,
               fail_seen timestamptz, fail_hresults bigint[])
LANGUAGE sql STABLE AS $$
  WITH r AS (
    SELECT cs.status, cs.status_since, cs.observed_at, cs.hresult, u.url,
           c.name || CASE WHEN c.key_id <> '' THEN ' [' || c.key_id || ']' ELSE '' END AS ca,
           CASE WHEN t.name <> '' THEN t.name ELSE t.oid END AS template,
           CASE WHEN cs.hresult <> 0 THEN cs.hresult::text END AS error
    FROM current_state cs
    LEFT JOIN urls u ON u.url_id = cs.url_id
    LEFT JOIN cas c ON c.ca_id = cs.ca_id
    LEFT JOIN templates t ON t.template_id = cs.template_id
    WHERE cs.node_id = p_node AND cs.observed_at > p_after
      AND (p_probes IS NULL OR (cs.probe, cs.target) IN (
             SELECT x.probe, x.target FROM unnest(p_probes, p_targets) AS x (probe, target)))
  ), g AS (
    -- GROUPING() has a bit set for each column the row is not grouped by.
    SELECT GROUPING(url, ca, template, error) AS ungrouped, url, ca, template, error,
           count(*)::integer AS results,
           (count(*) FILTER (WHERE status = 3))::integer AS failing_results,
           (count(*) FILTER (WHERE status = 2))::integer AS warning_results,
           min(status_since) FILTER (WHERE status = 3) AS fail_since,
           max(observed_at) FILTER (WHERE status = 3) AS fail_seen,
           array_agg(hresult) FILTER (WHERE status = 3 AND hresult <> 0) AS hresults
    FROM r GROUP BY GROUPING SETS ((url), (ca), (template), (error), ())
  ), k AS (
    -- (url) 7, (ca) 11, (template) 13, (error) 14; the grand total () 15 is
    -- the node's site key and its host key. Results without a dimension
    -- group under NULL there and belong to no key.
    SELECT CASE g.ungrouped WHEN 7 THEN 1 WHEN 11 THEN 2 WHEN 13 THEN 3 WHEN 14 THEN 4
           END::smallint AS group_by,
           COALESCE(g.url, g.ca, g.template, g.error) AS key, g.*
    FROM g WHERE g.ungrouped <> 15
    UNION ALL
    SELECT 5::smallint, CASE WHEN n.site <> '' THEN n.site ELSE '(no site)' END, g.*
    FROM g JOIN nodes n ON n.node_id = p_node WHERE g.ungrouped = 15 AND g.results > 0
    UNION ALL
    SELECT 6::smallint, CASE WHEN n.hostname <> '' THEN n.hostname ELSE n.node_id::text END,
           g.*
    FROM g JOIN nodes n ON n.node_id = p_node WHERE g.ungrouped = 15 AND g.results > 0
  )
  SELECT n.node_id, k.group_by, k.key,
         CASE WHEN n.site <> '' THEN n.site ELSE '(no site)' END,
         k.results, k.failing_results, k.warning_results, k.fail_since, k.fail_seen,
         CASE WHEN k.hresults IS NULL THEN '{}'
              ELSE ARRAY(SELECT DISTINCT h FROM unnest(k.hresults) h ORDER BY h) END
  FROM k JOIN nodes n ON n.node_id = p_node
  WHERE k.key IS NOT NULL
$$;

-- Hosts per group key, summed from pattern_members: how many fail, warn
-- and are covered at all. What ListPatterns sorts and pages. Keys whose
-- hosts all left stay at zero; queries skip them.
CREATE TABLE pattern_counts (
  group_by smallint NOT NULL,
  key text NOT NULL,
  failing_hosts integer NOT NULL,
  warning_hosts integer NOT NULL,
  total_hosts integer NOT NULL,
  PRIMARY KEY (group_by, key)
);
-- The order ListPatterns pages in.
CREATE INDEX pattern_counts_order
  ON pattern_counts (group_by, failing_hosts DESC, warning_hosts DESC, key)
  WHERE total_hosts > 0;

-- The same per site of the hosts (hresult 0), and the failing hosts per
-- error they fail with (site ''; failing_hosts only). Apart from
-- pattern_counts so that updating them touches no indexed column (HOT
-- updates, room left in each page for them).
CREATE TABLE pattern_breakdown (
  group_by smallint NOT NULL,
  key text NOT NULL,
  site text NOT NULL,
  hresult bigint NOT NULL,
  failing_hosts integer NOT NULL,
  warning_hosts integer NOT NULL,
  total_hosts integer NOT NULL,
  PRIMARY KEY (group_by, key, site, hresult)
) WITH (fillfactor = 80);

-- Observed_at of each node's oldest current result: a query window finds
-- the few nodes with results older than it here, and corrects the counts
-- for them alone.
ALTER TABLE nodes ADD COLUMN oldest_result_at timestamptz;
CREATE INDEX nodes_oldest_result_at ON nodes (oldest_result_at);

-- Rebuilds everything above from current_state: for databases that had
-- results before this migration, and for repair. Waits for running batch
-- transactions and holds new ones off until it commits.
CREATE FUNCTION pattern_counters_rebuild() RETURNS void LANGUAGE sql AS $$
  LOCK TABLE nodes IN EXCLUSIVE MODE;
  DELETE FROM pattern_members;
  DELETE FROM pattern_counts;
  DELETE FROM pattern_breakdown;
  INSERT INTO pattern_members
  SELECT m.* FROM nodes n CROSS JOIN LATERAL pattern_members_of(n.node_id, '-infinity') m;
  INSERT INTO pattern_counts (group_by, key, failing_hosts, warning_hosts, total_hosts)
  SELECT group_by, key, count(*) FILTER (WHERE failing_results > 0),
         count(*) FILTER (WHERE warning_results > 0), count(*)
  FROM pattern_members GROUP BY group_by, key;
  INSERT INTO pattern_breakdown (group_by, key, site, hresult, failing_hosts, warning_hosts,
                                 total_hosts)
  SELECT group_by, key, site, 0, count(*) FILTER (WHERE failing_results > 0),
         count(*) FILTER (WHERE warning_results > 0), count(*)
  FROM pattern_members GROUP BY group_by, key, site
  UNION ALL
  SELECT m.group_by, m.key, '', h, count(*), 0, 0
  FROM pattern_members m, unnest(m.fail_hresults) h GROUP BY m.group_by, m.key, h;
  UPDATE nodes n SET oldest_result_at = o.oldest
  FROM (SELECT n2.node_id, min(cs.observed_at) AS oldest
        FROM nodes n2 LEFT JOIN current_state cs ON cs.node_id = n2.node_id
        GROUP BY n2.node_id) o
  WHERE n.node_id = o.node_id AND n.oldest_result_at IS DISTINCT FROM o.oldest;
$$;

SELECT pattern_counters_rebuild();
