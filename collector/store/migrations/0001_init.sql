-- 0001_init: nodes, dimension tables, raw findings, current state.
-- Applied once by ApplyMigrations inside a transaction; never edit a released
-- migration, add a new NNNN_name.sql instead.

-- One row per enrolled agent. The node key itself is never stored, only its
-- hash, so a database dump does not let anyone impersonate a node.
CREATE TABLE nodes (
  node_id uuid PRIMARY KEY,
  key_hash bytea NOT NULL,  -- SHA-256 of the node key
  hostname text NOT NULL DEFAULT '',
  fqdn text NOT NULL DEFAULT '',
  domain text NOT NULL DEFAULT '',
  site text NOT NULL DEFAULT '',
  os text NOT NULL DEFAULT '',
  os_build text NOT NULL DEFAULT '',
  agent_version text NOT NULL DEFAULT '',
  proxy text NOT NULL DEFAULT '',
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz,
  -- Highest seq committed for this node: the dedup high-water mark. Batches
  -- at or below it are acknowledged again without being written, which makes
  -- at-least-once delivery exactly-once.
  durable_through_seq bigint NOT NULL DEFAULT 0,
  -- Agent health counters, reported by the agent or counted on ingest.
  rejected_total bigint NOT NULL DEFAULT 0,
  spool_depth bigint NOT NULL DEFAULT 0,
  spool_dropped_total bigint NOT NULL DEFAULT 0
);

-- Dimension tables: findings carry small integer ids instead of repeating
-- names and URLs, which keeps the raw table narrow and grouping cheap.
-- The same CA name can exist with several keys after a renewal; key_id tells
-- them apart ('' when unknown).
CREATE TABLE cas (
  ca_id serial PRIMARY KEY,
  name text NOT NULL,
  key_id text NOT NULL DEFAULT '',
  UNIQUE (name, key_id)
);

-- Template display names are not unique across forests; the OID is.
CREATE TABLE templates (
  template_id serial PRIMARY KEY,
  name text NOT NULL,
  oid text NOT NULL DEFAULT '',
  UNIQUE (name, oid)
);

-- URLs are stored normalized (common/url normalization) so that the same CDP
-- seen by many hosts maps to one row. kind is pkiwatch.v1.UrlKind.
CREATE TABLE urls (
  url_id serial PRIMARY KEY,
  url text NOT NULL UNIQUE,
  kind smallint NOT NULL DEFAULT 0
);

-- Catalogue of HRESULTs seen, so reports can show names without a join to
-- agent-side tables. bigint because HRESULTs are unsigned 32-bit values.
CREATE TABLE error_codes (
  hresult bigint PRIMARY KEY,
  symbolic_name text NOT NULL,
  message text NOT NULL DEFAULT ''
);

-- Every finding as received. (node_id, seq) is unique so that a batch
-- replayed after a lost ack cannot be stored twice; the table is not
-- partitioned yet because a unique constraint on a partitioned table must
-- include the partition key. status is pkiwatch.v1.Status
-- (1 OK, 2 WARN, 3 FAIL, 4 PROBE_ERROR). Dimension ids are NULL when the
-- finding has no such dimension; they are not foreign keys so that ingest
-- never waits on dimension-table locks.
CREATE TABLE findings (
  node_id uuid NOT NULL,
  seq bigint NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  observed_at timestamptz NOT NULL,
  duration_ms integer NOT NULL DEFAULT 0,
  probe text NOT NULL,
  target text NOT NULL,
  status smallint NOT NULL,
  hresult bigint NOT NULL DEFAULT 0,
  ca_id integer,
  template_id integer,
  url_id integer,
  summary text NOT NULL DEFAULT '',
  native_detail text NOT NULL DEFAULT '',
  detail jsonb,
  UNIQUE (node_id, seq)
);
-- Time-range scans (retention, timelines) and per-URL / per-CA history.
CREATE INDEX findings_observed_at_idx ON findings (observed_at);
CREATE INDEX findings_url_observed_idx ON findings (url_id, observed_at);
CREATE INDEX findings_ca_observed_idx ON findings (ca_id, observed_at);

-- The latest finding per (node, probe, target): what is failing right now.
-- Upserted by the batch writer in the same transaction as the raw rows.
CREATE TABLE current_state (
  node_id uuid,
  probe text,
  target text,
  seq bigint NOT NULL,
  observed_at timestamptz NOT NULL,
  status smallint NOT NULL,
  status_since timestamptz NOT NULL,  -- when the status last changed
  hresult bigint NOT NULL DEFAULT 0,
  ca_id integer,
  template_id integer,
  url_id integer,
  summary text NOT NULL DEFAULT '',
  native_detail text NOT NULL DEFAULT '',
  detail jsonb,
  PRIMARY KEY (node_id, probe, target)
);
-- Failure-pattern queries group only failing rows (FAIL, PROBE_ERROR) by
-- dimension; partial indexes stay small because most of the fleet is OK.
CREATE INDEX current_state_url_failing_idx
  ON current_state (url_id) WHERE status >= 3;
CREATE INDEX current_state_ca_failing_idx
  ON current_state (ca_id) WHERE status >= 3;
CREATE INDEX current_state_template_failing_idx
  ON current_state (template_id) WHERE status >= 3;
CREATE INDEX current_state_hresult_failing_idx
  ON current_state (hresult) WHERE status >= 3;

-- Findings the collector refused (malformed, unknown probe, ...), kept with
-- the reason so an operator can see why data is missing. Keyed like findings
-- so a replay does not duplicate them.
CREATE TABLE rejected_findings (
  node_id uuid,
  seq bigint,
  received_at timestamptz NOT NULL DEFAULT now(),
  reason text NOT NULL,
  PRIMARY KEY (node_id, seq)
);
