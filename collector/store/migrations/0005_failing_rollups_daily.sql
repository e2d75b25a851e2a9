-- 0005_failing_rollups_daily: failing findings per day beside the hourly
-- rollups, so that a pattern's trend over a long window reads a row per day
-- and dimension combination instead of one per hour. Kept by the batch
-- writer in the same transaction as finding_rollups_hourly; each day is
-- exactly the sum of that day's failing (status 3) hourly rows, which lets
-- a window mix whole days with the hours at its edges.

CREATE TABLE failing_rollups_daily (
  day timestamptz NOT NULL,  -- date_trunc('day', observed_at): 24 hourly buckets
  hresult bigint NOT NULL,
  ca_id integer NOT NULL,
  template_id integer NOT NULL,
  url_id integer NOT NULL,
  site text NOT NULL,
  findings bigint NOT NULL,
  PRIMARY KEY (day, hresult, ca_id, template_id, url_id, site)
);

INSERT INTO failing_rollups_daily (day, hresult, ca_id, template_id, url_id, site, findings)
SELECT date_trunc('day', bucket), hresult, ca_id, template_id, url_id, site, sum(findings)
FROM finding_rollups_hourly WHERE status = 3
GROUP BY 1, 2, 3, 4, 5, 6;
