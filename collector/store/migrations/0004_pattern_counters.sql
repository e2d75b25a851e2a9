-- 0004_pattern_counters: failure patterns without a scan of current_state.
-- For every grouping of ListPatterns (group_by is pkiwatch.v1.GroupBy:
-- 1 url, 2 ca, 3 template, 4 error, 5 site, 6 host) the batch writer keeps,
-- in the transaction that upserts current_state, which hosts each group key
-- covers and how many of them fail, warn and probe it. Queries then read a
-- page of keys instead of aggregating every current result.

-- The group keys of one node's current results observed after p_after
-- ('-infinity': all of them), one row per result and grouping it belongs to;
-- keys exactly as the live pattern query names them
-- (collector/query/pattern_query.cc, GroupingFor). Per node and inlined by
-- the planner, so a call costs index lookups of that node's rows.
CREATE FUNCTION pattern_results(p_node uuid, p_after timestamptz)
RETURNS TABLE (group_by smallint, key text, node_id uuid, site text, probe text, target text,
               status smallint, status_since timestamptz, observed_at timestamptz,
               hresult bigint, summary text)
LANGUAGE sql STABLE AS $$
  WITH s AS (
    SELECT cs.node_id, cs.probe, cs.target, cs.status, cs.status_since, cs.observed_at,
           cs.hresult, cs.summary, cs.url_id, cs.ca_id, cs.template_id,
           CASE WHEN n.site <> '' THEN n.site ELSE '(no site)' END AS site,
           CASE WHEN n.hostname <> '' THEN n.hostname ELSE n.node_id::text END AS host
    FROM current_state cs JOIN nodes n ON n.node_id = cs.node_id
    WHERE cs.node_id = p_node AND cs.observed_at > p_after)
  SELECT 1::smallint, u.url, s.node_id, s.site, s.probe, s.target, s.status, s.status_since,
         s.observed_at, s.hresult, s.summary
  FROM s JOIN urls u ON u.url_id = s.url_id
  UNION ALL
  SELECT 2::smallint,
         c.name || CASE WHEN c.key_id <> '' THEN ' [' || c.key_id || ']' ELSE '' END,
         s.node_id, s.site, s.probe, s.target, s.status, s.status_since, s.observed_at,
         s.hresult, s.summary
  FROM s JOIN cas c ON c.ca_id = s.ca_id
  UNION ALL
  SELECT 3::smallint, CASE WHEN t.name <> '' THEN t.name ELSE t.oid END, s.node_id, s.site,
         s.probe, s.target, s.status, s.status_since, s.observed_at, s.hresult, s.summary
  FROM s JOIN templates t ON t.template_id = s.template_id
  UNION ALL
  SELECT 4::smallint, s.hresult::text, s.node_id, s.site, s.probe, s.target, s.status,
         s.status_since, s.observed_at, s.hresult, s.summary
  FROM s WHERE s.hresult <> 0
  UNION ALL
  SELECT 5::smallint, s.site, s.node_id, s.site, s.probe, s.target, s.status, s.status_since,
         s.observed_at, s.hresult, s.summary
  FROM s
  UNION ALL
  SELECT 6::smallint, s.host, s.node_id, s.site, s.probe, s.target, s.status, s.status_since,
         s.observed_at, s.hresult, s.summary
  FROM s
$$;

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
-- results observed after p_after.
CREATE FUNCTION pattern_members_of(p_node uuid, p_after timestamptz)
RETURNS TABLE (node_id uuid, group_by smallint, key text, site text, results integer,
               failing_results integer, warning_results integer, fail_since timestamptz,
               fail_seen timestamptz, fail_hresults bigint[])
LANGUAGE sql STABLE AS $$
  SELECT r.node_id, r.group_by, r.key, min(r.site), count(*)::integer,
         (count(*) FILTER (WHERE r.status = 3))::integer,
         (count(*) FILTER (WHERE r.status = 2))::integer,
         min(r.status_since) FILTER (WHERE r.status = 3),
         max(r.observed_at) FILTER (WHERE r.status = 3),
         COALESCE(array_agg(DISTINCT r.hresult ORDER BY r.hresult)
                    FILTER (WHERE r.status = 3 AND r.hresult <> 0), '{}')
  FROM pattern_results(p_node, p_after) r
  GROUP BY r.node_id, r.group_by, r.key
$$;

-- Hosts per group key, summed from pattern_members. Three shapes of row:
--   site = '' and hresult = 0: all hosts of the key (what ListPatterns pages);
--   site <> '':                the key's hosts in that site;
--   hresult <> 0:              the key's failing hosts failing with that error
--                              (failing_hosts only).
-- Rows whose hosts all left stay at zero; queries skip them.
CREATE TABLE pattern_counts (
  group_by smallint NOT NULL,
  key text NOT NULL,
  site text NOT NULL,
  hresult bigint NOT NULL,
  failing_hosts integer NOT NULL,
  warning_hosts integer NOT NULL,
  total_hosts integer NOT NULL,
  PRIMARY KEY (group_by, key, site, hresult)
);
-- The order ListPatterns pages in.
CREATE INDEX pattern_counts_order
  ON pattern_counts (group_by, failing_hosts DESC, warning_hosts DESC, key)
  WHERE site = '' AND hresult = 0 AND total_hosts > 0;

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
  INSERT INTO pattern_members
  SELECT m.* FROM nodes n CROSS JOIN LATERAL pattern_members_of(n.node_id, '-infinity') m;
  INSERT INTO pattern_counts (group_by, key, site, hresult, failing_hosts, warning_hosts,
                              total_hosts)
  SELECT group_by, key, '', 0, count(*) FILTER (WHERE failing_results > 0),
         count(*) FILTER (WHERE warning_results > 0), count(*)
  FROM pattern_members GROUP BY group_by, key
  UNION ALL
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
