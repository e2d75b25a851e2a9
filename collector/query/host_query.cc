#include "collector/query/host_query.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "collector/query/pattern_query.h"
#include "collector/query/query_values.h"
#include "collector/store/pg_literals.h"
#include "common/error_catalogue.h"

namespace pkiwatch::query {
namespace {

// Columns 0-10 of every host listing, in HostSummary order.
constexpr char kHostColumns[] =
    "n.node_id::text, n.hostname, n.site, n.os, n.agent_version, "
    "extract(epoch FROM n.last_seen_at), "
    "(SELECT count(*) FROM current_state x WHERE x.node_id = n.node_id AND x.status = 3), "
    "(SELECT count(*) FROM current_state x WHERE x.node_id = n.node_id AND x.status = 2), "
    "(SELECT count(*) FROM current_state x WHERE x.node_id = n.node_id), "
    "n.spool_dropped_total, n.rejected_total";


void ReadHost(const store::PgResult& r, int row, v1::HostSummary* h) {
  h->set_node_id(S(r.Get(row, 0)));
  h->set_hostname(S(r.Get(row, 1)));
  h->set_site(S(r.Get(row, 2)));
  h->set_os(S(r.Get(row, 3)));
  h->set_agent_version(S(r.Get(row, 4)));
  if (!r.IsNull(row, 5)) *h->mutable_last_seen() = EpochTimestamp(r.Get(row, 5));
  h->set_failing(static_cast<uint32_t>(r.GetInt64(row, 6)));
  h->set_warning(static_cast<uint32_t>(r.GetInt64(row, 7)));
  h->set_total(static_cast<uint32_t>(r.GetInt64(row, 8)));
  h->set_spool_dropped_total(static_cast<uint64_t>(r.GetInt64(row, 9)));
  h->set_rejected_total(static_cast<uint64_t>(r.GetInt64(row, 10)));
}


}  // namespace

absl::StatusOr<v1::ListHostsResponse> ListHosts(store::PgConnection& conn,
                                                const v1::ListHostsRequest& request) {
  auto offset = DecodePageToken(request.page_token());
  if (!offset.ok()) return offset.status();
  const uint32_t page_size = PageSize(request.page_size());
  std::string filter = "TRUE";
  std::vector<std::optional<std::string>> params = {absl::StrCat(page_size + 1),
                                                    absl::StrCat(*offset)};
  if (!request.key().empty()) {
    auto g = GroupingFor(request.by());
    if (!g.ok()) return g.status();
    std::string key = request.key();
    if (request.by() == v1::GROUP_BY_ERROR) {
      if (auto e = LookupErrorByName(key)) key = absl::StrCat(e->code);
    }
    params.push_back(key);
    filter = absl::StrCat("n.node_id IN (SELECT cs.node_id FROM current_state cs JOIN nodes n ",
                          "ON n.node_id = cs.node_id ", g->join, " WHERE ", g->where, " AND ",
                          g->key, " = $3",
                          request.failing_only() ? " AND cs.status = 3" : "", ")");
  } else if (request.failing_only()) {
    filter = "EXISTS (SELECT 1 FROM current_state x WHERE x.node_id = n.node_id AND x.status = 3)";
  }
  auto r = conn.Query(absl::StrCat("SELECT ", kHostColumns, " FROM nodes n WHERE ", filter,
                                   " ORDER BY 7 DESC, n.hostname, n.node_id LIMIT $1 OFFSET $2"),
                      params);
  if (!r.ok()) return r.status();
  v1::ListHostsResponse response;
  const int rows = std::min<int>(r->rows(), static_cast<int>(page_size));
  for (int i = 0; i < rows; ++i) ReadHost(*r, i, response.add_hosts());
  if (r->rows() > rows) response.set_next_page_token(EncodePageToken(*offset + rows));
  return response;
}

absl::StatusOr<v1::GetHostResponse> GetHost(store::PgConnection& conn,
                                            const v1::GetHostRequest& request) {
  if (request.node_id().empty() && request.hostname().empty()) {
    return absl::InvalidArgumentError("GetHost needs node_id or hostname");
  }
  auto host = conn.Query(
      absl::StrCat("SELECT ", kHostColumns, " FROM nodes n WHERE n.node_id::text = $1 OR "
                   "($1 = '' AND lower(n.hostname) = lower($2)) ORDER BY n.last_seen_at DESC "
                   "NULLS LAST LIMIT 1"),
      {request.node_id(), request.hostname()});
  if (!host.ok()) return host.status();
  if (host->rows() == 0) return absl::NotFoundError("no such host");
  v1::GetHostResponse response;
  ReadHost(*host, 0, response.mutable_host());
  auto results = conn.Query(
      "SELECT cs.probe, cs.target, cs.status, extract(epoch FROM cs.observed_at), "
      "extract(epoch FROM cs.status_since), cs.hresult, cs.native_detail, cs.summary, "
      "COALESCE(u.url, ''), COALESCE(u.kind, 0), COALESCE(c.name, ''), COALESCE(c.key_id, ''), "
      "COALESCE(t.name, ''), COALESCE(t.oid, '') "
      "FROM current_state cs LEFT JOIN urls u ON u.url_id = cs.url_id "
      "LEFT JOIN cas c ON c.ca_id = cs.ca_id "
      "LEFT JOIN templates t ON t.template_id = cs.template_id "
      "WHERE cs.node_id = $1 ORDER BY cs.status DESC, cs.probe, cs.target",
      {response.host().node_id()});
  if (!results.ok()) return results.status();
  for (int i = 0; i < results->rows(); ++i) {
    v1::HostResult* r = response.add_results();
    r->set_probe(S(results->Get(i, 0)));
    r->set_target(S(results->Get(i, 1)));
    r->set_status(static_cast<v1::Status>(results->GetInt64(i, 2)));
    *r->mutable_observed_at() = EpochTimestamp(results->Get(i, 3));
    *r->mutable_status_since() = EpochTimestamp(results->Get(i, 4));
    if (const uint32_t code = static_cast<uint32_t>(results->GetInt64(i, 5)); code != 0) {
      *r->mutable_error() = MakeErrorInfo(code, S(results->Get(i, 6)));
    }
    r->set_summary(S(results->Get(i, 7)));
    v1::Dimensions* d = r->mutable_dimensions();
    d->set_url(S(results->Get(i, 8)));
    d->set_url_kind(static_cast<v1::UrlKind>(results->GetInt64(i, 9)));
    d->set_ca(S(results->Get(i, 10)));
    d->set_ca_key_id(S(results->Get(i, 11)));
    d->set_template_name(S(results->Get(i, 12)));
    d->set_template_oid(S(results->Get(i, 13)));
  }
  return response;
}

absl::StatusOr<v1::ListExpiringResponse> ListExpiring(store::PgConnection& conn,
                                                      const v1::ListExpiringRequest& request) {
  const uint32_t within = request.within_seconds() == 0 ? 14 * 86400 : request.within_seconds();
  const std::string horizon = absl::StrCat(within);
  auto crls = conn.Query(
      "WITH c AS (SELECT u.url, COALESCE(ca.name, '') AS ca, cs.node_id, "
      "  CASE WHEN n.site <> '' THEN n.site ELSE '(no site)' END AS site, "
      "  NULLIF(cs.detail -> 'crl' ->> 'crlNumber', '')::numeric AS num, "
      "  (cs.detail -> 'crl' ->> 'nextUpdate')::timestamptz AS next_update "
      "  FROM current_state cs JOIN urls u ON u.url_id = cs.url_id "
      "  JOIN nodes n ON n.node_id = cs.node_id LEFT JOIN cas ca ON ca.ca_id = cs.ca_id "
      "  WHERE cs.probe = 'crl' AND cs.detail -> 'crl' ->> 'nextUpdate' IS NOT NULL), "
      "newest AS (SELECT DISTINCT ON (url) url, ca, num, next_update FROM c "
      "  ORDER BY url, num DESC NULLS LAST, next_update DESC), "
      "per_site AS (SELECT url, site, max(num) AS num, max(next_update) AS next_update "
      "  FROM c GROUP BY url, site), "
      "behind AS (SELECT p.url, array_agg(p.site ORDER BY p.site) AS sites FROM per_site p "
      "  JOIN newest w USING (url) WHERE p.num < w.num OR "
      "  (p.num IS NULL AND p.next_update < w.next_update) GROUP BY p.url), "
      "hosts AS (SELECT url, count(DISTINCT node_id) AS hosts FROM c GROUP BY url) "
      "SELECT w.url, w.ca, extract(epoch FROM w.next_update), COALESCE(w.num::text, ''), "
      "  extract(epoch FROM w.next_update - now())::bigint, h.hosts, b.sites "
      "FROM newest w JOIN hosts h USING (url) LEFT JOIN behind b USING (url) "
      "WHERE w.next_update < now() + make_interval(secs => $1::int) "
      "ORDER BY w.next_update, w.url",
      {horizon});
  if (!crls.ok()) return crls.status();
  v1::ListExpiringResponse response;
  for (int i = 0; i < crls->rows(); ++i) {
    v1::ExpiringCrl* c = response.add_crls();
    c->set_url(S(crls->Get(i, 0)));
    c->set_ca(S(crls->Get(i, 1)));
    *c->mutable_next_update() = EpochTimestamp(crls->Get(i, 2));
    c->set_newest_crl_number(S(crls->Get(i, 3)));
    c->set_seconds_left(crls->GetInt64(i, 4));
    c->set_hosts(static_cast<uint32_t>(crls->GetInt64(i, 5)));
    if (!crls->IsNull(i, 6)) {
      for (std::string& site : store::ParsePgTextArray(crls->Get(i, 6))) c->add_sites_behind(site);
    }
  }
  auto certs = conn.Query(
      "SELECT cs.detail -> 'targetCert' ->> 'subject', "
      "  cs.detail -> 'targetCert' ->> 'thumbprint', COALESCE(min(c.name), ''), "
      "  COALESCE(min(CASE WHEN t.name <> '' THEN t.name ELSE t.oid END), ''), min(cs.probe), "
      "  extract(epoch FROM min((cs.detail -> 'targetCert' ->> 'notAfter')::timestamptz)), "
      "  extract(epoch FROM min((cs.detail -> 'targetCert' ->> 'notAfter')::timestamptz) "
      "    - now())::bigint, count(DISTINCT cs.node_id) "
      "FROM current_state cs LEFT JOIN cas c ON c.ca_id = cs.ca_id "
      "LEFT JOIN templates t ON t.template_id = cs.template_id "
      "WHERE cs.detail -> 'targetCert' ->> 'notAfter' IS NOT NULL "
      "GROUP BY 1, 2 "
      "HAVING min((cs.detail -> 'targetCert' ->> 'notAfter')::timestamptz) < "
      "  now() + make_interval(secs => $1::int) ORDER BY 6, 2",
      {horizon});
  if (!certs.ok()) return certs.status();
  for (int i = 0; i < certs->rows(); ++i) {
    v1::ExpiringCert* c = response.add_certs();
    c->set_subject(S(certs->Get(i, 0)));
    c->set_thumbprint(S(certs->Get(i, 1)));
    c->set_ca(S(certs->Get(i, 2)));
    c->set_template_name(S(certs->Get(i, 3)));
    c->set_probe(S(certs->Get(i, 4)));
    *c->mutable_not_after() = EpochTimestamp(certs->Get(i, 5));
    c->set_seconds_left(certs->GetInt64(i, 6));
    c->set_hosts(static_cast<uint32_t>(certs->GetInt64(i, 7)));
  }
  return response;
}

}  // namespace pkiwatch::query
