-- 0002_commands_and_views: run-now commands and the stable reporting views
-- for Grafana, BI tools and other SQL consumers.

-- When the collector received each current result: run-now progress is
-- judged by collector time, since the agents' clocks may be the fault.
ALTER TABLE current_state ADD COLUMN received_at timestamptz NOT NULL DEFAULT now();

-- A run-now command and its per-host progress. The collector pushes the
-- command over open agent streams (sent_at); the agent acknowledges that it
-- scheduled the probes (acked_at). Results are the hosts' newer findings.
CREATE TABLE commands (
  command_id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  probes text[] NOT NULL DEFAULT '{}',  -- empty: all probes
  group_by smallint NOT NULL DEFAULT 0, -- the pattern it was issued for, if any
  group_key text NOT NULL DEFAULT ''
);

CREATE TABLE command_targets (
  command_id uuid NOT NULL REFERENCES commands ON DELETE CASCADE,
  node_id uuid NOT NULL,
  sent_at timestamptz,
  acked_at timestamptz,
  PRIMARY KEY (command_id, node_id)
);
-- What a reconnecting agent still has to receive.
CREATE INDEX command_targets_unsent ON command_targets (node_id) WHERE sent_at IS NULL;

-- Failure patterns per dimension over the current state: one row per URL,
-- CA and template with the hosts failing, warning and covering it.
CREATE VIEW v_failure_patterns AS
WITH s AS (
  SELECT cs.*, u.url, u.kind AS url_kind, c.name AS ca, c.key_id AS ca_key_id,
         CASE WHEN t.name <> '' THEN t.name ELSE t.oid END AS template
  FROM current_state cs
  LEFT JOIN urls u ON u.url_id = cs.url_id
  LEFT JOIN cas c ON c.ca_id = cs.ca_id
  LEFT JOIN templates t ON t.template_id = cs.template_id
), keyed AS (
  SELECT 'url' AS dimension, url AS key, * FROM s WHERE url IS NOT NULL
  UNION ALL SELECT 'ca', ca, * FROM s WHERE ca IS NOT NULL
  UNION ALL SELECT 'template', template, * FROM s WHERE template IS NOT NULL
)
SELECT dimension, key,
       count(DISTINCT node_id) FILTER (WHERE status = 3) AS failing_hosts,
       count(DISTINCT node_id) FILTER (WHERE status = 2) AS warning_hosts,
       count(DISTINCT node_id) AS total_hosts,
       min(status_since) FILTER (WHERE status = 3) AS failing_since,
       max(observed_at) FILTER (WHERE status = 3) AS last_failing,
       mode() WITHIN GROUP (ORDER BY hresult) FILTER (WHERE status = 3) AS top_hresult
FROM keyed GROUP BY dimension, key;

-- Every host's latest CRL result per URL, with the CRL's validity as seen
-- from that host (JSON detail of the finding, protobuf JSON mapping).
CREATE VIEW v_crl_status AS
SELECT cs.node_id, n.hostname, n.site, u.url, c.name AS ca, cs.status, cs.hresult,
       e.symbolic_name AS error, cs.observed_at, cs.status_since,
       (cs.detail -> 'crl' ->> 'thisUpdate')::timestamptz AS this_update,
       (cs.detail -> 'crl' ->> 'nextUpdate')::timestamptz AS next_update,
       cs.detail -> 'crl' ->> 'crlNumber' AS crl_number,
       cs.summary
FROM current_state cs
JOIN nodes n ON n.node_id = cs.node_id
JOIN urls u ON u.url_id = cs.url_id
LEFT JOIN cas c ON c.ca_id = cs.ca_id
LEFT JOIN error_codes e ON e.hresult = cs.hresult
WHERE cs.probe = 'crl';

-- One row per host: identity, health of its agent, and how many of its
-- current results fail or warn.
CREATE VIEW v_host_status AS
SELECT n.node_id, n.hostname, n.fqdn, n.domain, n.site, n.os, n.os_build, n.agent_version,
       n.proxy, n.last_seen_at, n.spool_depth, n.spool_dropped_total, n.rejected_total,
       count(cs.node_id) FILTER (WHERE cs.status = 3) AS failing,
       count(cs.node_id) FILTER (WHERE cs.status = 2) AS warning,
       count(cs.node_id) AS results
FROM nodes n LEFT JOIN current_state cs ON cs.node_id = n.node_id
GROUP BY n.node_id;

-- What expires, as the fleet sees it: CRLs by nextUpdate and certificates
-- (CA, RA, machine) by notAfter.
CREATE VIEW v_expiring AS
SELECT 'crl' AS kind, u.url AS name, c.name AS ca, NULL::text AS thumbprint,
       max((cs.detail -> 'crl' ->> 'nextUpdate')::timestamptz) AS expires_at,
       count(DISTINCT cs.node_id) AS hosts
FROM current_state cs JOIN urls u ON u.url_id = cs.url_id LEFT JOIN cas c ON c.ca_id = cs.ca_id
WHERE cs.detail -> 'crl' ->> 'nextUpdate' IS NOT NULL
GROUP BY u.url, c.name
UNION ALL
SELECT 'certificate', cs.detail -> 'targetCert' ->> 'subject', c.name,
       cs.detail -> 'targetCert' ->> 'thumbprint',
       max((cs.detail -> 'targetCert' ->> 'notAfter')::timestamptz),
       count(DISTINCT cs.node_id)
FROM current_state cs LEFT JOIN cas c ON c.ca_id = cs.ca_id
WHERE cs.detail -> 'targetCert' ->> 'notAfter' IS NOT NULL
GROUP BY 2, 3, 4;
