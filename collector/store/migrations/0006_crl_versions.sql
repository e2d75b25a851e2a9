-- 0006_crl_versions: every CRL the fleet fetched per URL (by CRL number and
-- thisUpdate) with when it was first and last seen, kept by the writer in
-- the batch transaction. GetUrl's CRL history reads it instead of the raw
-- findings; a CRL whose successor appeared only after its nextUpdate shows
-- a lapse in publication.
CREATE TABLE crl_versions (
  url_id integer NOT NULL REFERENCES urls (url_id),
  crl_number text NOT NULL,          -- decimal; '' when the CRL has none
  this_update timestamptz NOT NULL,
  next_update timestamptz,
  is_delta boolean NOT NULL DEFAULT false,
  first_seen timestamptz NOT NULL,   -- observed_at of the first finding carrying it
  last_seen timestamptz NOT NULL,
  observations bigint NOT NULL,
  PRIMARY KEY (url_id, crl_number, this_update)
);
-- Retention deletes by last_seen.
CREATE INDEX crl_versions_last_seen_idx ON crl_versions (last_seen);
