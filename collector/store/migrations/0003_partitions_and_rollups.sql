-- 0003_partitions_and_rollups: raw findings partitioned by day of receipt
-- (retention drops whole partitions) and hourly rollups the writer keeps
-- up to date, so history queries never re-scan raw findings.

-- Partitioned by collector time, not the agent's observed_at: a host with a
-- skewed clock (the very fault pkiwatch looks for) must not write into
-- partitions years away. Exactly-once no longer needs a unique index here:
-- the per-node high-water mark (nodes.durable_through_seq) does it.
ALTER TABLE findings RENAME TO findings_unpartitioned;
CREATE TABLE findings (LIKE findings_unpartitioned INCLUDING DEFAULTS)
  PARTITION BY RANGE (received_at);
-- Partitions are named findings_pYYYYMMDD after their (UTC) day; the
-- collector creates them ahead of time and drops them after the retention
-- period. Rows from before this migration go into one partition named after
-- yesterday that covers the whole past.
DO $$
DECLARE
  today date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
  EXECUTE format('CREATE TABLE findings_p%s PARTITION OF findings '
                 'FOR VALUES FROM (MINVALUE) TO (%L)',
                 to_char(today - 1, 'YYYYMMDD'), (today::timestamp AT TIME ZONE 'UTC'));
  EXECUTE format('CREATE TABLE findings_p%s PARTITION OF findings '
                 'FOR VALUES FROM (%L) TO (%L)',
                 to_char(today, 'YYYYMMDD'), (today::timestamp AT TIME ZONE 'UTC'),
                 ((today + 1)::timestamp AT TIME ZONE 'UTC'));
END
$$;
INSERT INTO findings SELECT * FROM findings_unpartitioned;
DROP TABLE findings_unpartitioned;
CREATE INDEX findings_node_seq ON findings (node_id, seq);
CREATE INDEX findings_observed ON findings (observed_at);
CREATE INDEX findings_url_observed ON findings (url_id, observed_at);
CREATE INDEX findings_ca_observed ON findings (ca_id, observed_at);

-- Findings per hour and dimension combination (0 = no such dimension).
CREATE TABLE finding_rollups_hourly (
  bucket timestamptz NOT NULL,
  probe text NOT NULL,
  status smallint NOT NULL,
  hresult bigint NOT NULL,
  ca_id integer NOT NULL,
  template_id integer NOT NULL,
  url_id integer NOT NULL,
  site text NOT NULL,
  findings bigint NOT NULL,
  PRIMARY KEY (bucket, probe, status, hresult, ca_id, template_id, url_id, site)
);
CREATE INDEX finding_rollups_url ON finding_rollups_hourly (url_id, bucket);
