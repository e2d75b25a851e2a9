-- 0007_pattern_result_keys: the group keys of a current result defined once,
-- for any set of nodes (pattern_result_keys); pattern_members_of aggregates
-- them for every grouping (the batch writer), pattern_members_by for one
-- grouping (a query window recomputing its stale hosts in one pass).
-- Replaces 0004's one-node pattern_members_of. Written to run on a database
-- whose 0004 already had these functions too (CREATE OR REPLACE, IF EXISTS).

DROP FUNCTION IF EXISTS pattern_members_of(uuid, timestamptz, text[], text[]);

-- The current results of some nodes observed after p_after ('-infinity':
-- all of them), or only those for the given (probe, target) pairs
-- (p_probes, p_targets), each with its key in every grouping (NULL where it
-- has none). Keys exactly as the live pattern query names them (GroupingFor
-- in collector/query/pattern_query.cc): the URL; "CA name [key id]"; the
-- template's name, or its OID without one; the hresult of results that have
-- one; the site ('(no site)'); the hostname (the node id without one).
-- Inlined by the planner when p_nodes is a constant or a row's own value,
-- so a call costs index lookups of those nodes' rows.
CREATE OR REPLACE FUNCTION pattern_result_keys(p_nodes uuid[], p_after timestamptz,
                                    p_probes text[] DEFAULT NULL,
                                    p_targets text[] DEFAULT NULL)
RETURNS TABLE (node_id uuid, status smallint, status_since timestamptz,
               observed_at timestamptz, hresult bigint, url text, ca text, template text,
               error text, site text, host text)
LANGUAGE sql STABLE AS $$
  SELECT cs.node_id, cs.status, cs.status_since, cs.observed_at, cs.hresult, u.url,
         c.name || CASE WHEN c.key_id <> '' THEN ' [' || c.key_id || ']' ELSE '' END,
         CASE WHEN t.name <> '' THEN t.name ELSE t.oid END,
         CASE WHEN cs.hresult <> 0 THEN cs.hresult::text END,
         CASE WHEN n.site <> '' THEN n.site ELSE '(no site)' END,
         CASE WHEN n.hostname <> '' THEN n.hostname ELSE n.node_id::text END
  FROM current_state cs
  JOIN nodes n ON n.node_id = cs.node_id
  LEFT JOIN urls u ON u.url_id = cs.url_id
  LEFT JOIN cas c ON c.ca_id = cs.ca_id
  LEFT JOIN templates t ON t.template_id = cs.template_id
  WHERE cs.node_id = ANY (p_nodes) AND n.node_id = ANY (p_nodes) AND cs.observed_at > p_after
    AND (p_probes IS NULL OR (cs.probe, cs.target) IN (
           SELECT x.probe, x.target FROM unnest(p_probes, p_targets) AS x (probe, target)))
$$;

-- The pattern_members of some nodes as they should be, from
-- pattern_result_keys (same arguments): every grouping in one pass over
-- the results (grouping sets, hashed).
CREATE OR REPLACE FUNCTION pattern_members_of(p_nodes uuid[], p_after timestamptz,
                                   p_probes text[] DEFAULT NULL,
                                   p_targets text[] DEFAULT NULL)
RETURNS TABLE (node_id uuid, group_by smallint, key text, site text, results integer,
               failing_results integer, warning_results integer, fail_since timestamptz,
               fail_seen timestamptz, fail_hresults bigint[])
LANGUAGE sql STABLE AS $$
  WITH g AS (
    -- GROUPING() has a bit set for each column the row is not grouped by;
    -- site and host depend on the node alone.
    SELECT GROUPING(r.url, r.ca, r.template, r.error) AS ungrouped, r.node_id, r.url, r.ca,
           r.template, r.error, min(r.site) AS site, min(r.host) AS host,
           count(*)::integer AS results,
           (count(*) FILTER (WHERE r.status = 3))::integer AS failing_results,
           (count(*) FILTER (WHERE r.status = 2))::integer AS warning_results,
           min(r.status_since) FILTER (WHERE r.status = 3) AS fail_since,
           max(r.observed_at) FILTER (WHERE r.status = 3) AS fail_seen,
           array_agg(r.hresult) FILTER (WHERE r.status = 3 AND r.hresult <> 0) AS hresults
    FROM pattern_result_keys(p_nodes, p_after, p_probes, p_targets) r
    GROUP BY GROUPING SETS ((r.node_id, r.url), (r.node_id, r.ca), (r.node_id, r.template),
                            (r.node_id, r.error), (r.node_id))
  ), k AS (
    -- (url) 7, (ca) 11, (template) 13, (error) 14; the node's total (15) is
    -- its site key and its host key. Results without a dimension group
    -- under NULL there and belong to no key.
    SELECT CASE g.ungrouped WHEN 7 THEN 1 WHEN 11 THEN 2 WHEN 13 THEN 3 WHEN 14 THEN 4
           END::smallint AS group_by,
           COALESCE(g.url, g.ca, g.template, g.error) AS key, g.*
    FROM g WHERE g.ungrouped <> 15
    UNION ALL
    SELECT 5::smallint, g.site, g.* FROM g WHERE g.ungrouped = 15
    UNION ALL
    SELECT 6::smallint, g.host, g.* FROM g WHERE g.ungrouped = 15
  )
  SELECT k.node_id, k.group_by, k.key, k.site, k.results, k.failing_results,
         k.warning_results, k.fail_since, k.fail_seen,
         CASE WHEN k.hresults IS NULL THEN '{}'
              ELSE ARRAY(SELECT DISTINCT h FROM unnest(k.hresults) h ORDER BY h) END
  FROM k WHERE k.key IS NOT NULL
$$;

-- The same for one grouping only (what a query window recomputes): the
-- memberships pattern_members_of gives with that group_by.
CREATE OR REPLACE FUNCTION pattern_members_by(p_nodes uuid[], p_after timestamptz,
                                              p_group_by smallint)
RETURNS TABLE (node_id uuid, group_by smallint, key text, site text, results integer,
               failing_results integer, warning_results integer, fail_since timestamptz,
               fail_seen timestamptz, fail_hresults bigint[])
LANGUAGE sql STABLE AS $$
  SELECT k.node_id, p_group_by, k.key, min(k.site), count(*)::integer,
         (count(*) FILTER (WHERE k.status = 3))::integer,
         (count(*) FILTER (WHERE k.status = 2))::integer,
         min(k.status_since) FILTER (WHERE k.status = 3),
         max(k.observed_at) FILTER (WHERE k.status = 3),
         COALESCE(array_agg(DISTINCT k.hresult ORDER BY k.hresult)
                    FILTER (WHERE k.status = 3 AND k.hresult <> 0), '{}')
  FROM (SELECT r.*, CASE p_group_by WHEN 1 THEN r.url WHEN 2 THEN r.ca WHEN 3 THEN r.template
                                    WHEN 4 THEN r.error WHEN 5 THEN r.site ELSE r.host END
                      AS key
        FROM pattern_result_keys(p_nodes, p_after) r) k
  WHERE k.key IS NOT NULL
  GROUP BY k.node_id, k.key
$$;

-- 0004's rebuild through the new pattern_members_of: recomputes the pattern
-- tables from current_state (repair). Waits for running batch transactions
-- and holds new ones off until it commits.
CREATE OR REPLACE FUNCTION pattern_counters_rebuild() RETURNS void LANGUAGE sql AS $$
  LOCK TABLE nodes IN EXCLUSIVE MODE;
  DELETE FROM pattern_members;
  DELETE FROM pattern_counts;
  DELETE FROM pattern_breakdown;
  INSERT INTO pattern_members
  SELECT m.* FROM nodes n
  CROSS JOIN LATERAL pattern_members_of(ARRAY[n.node_id], '-infinity') m;
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
