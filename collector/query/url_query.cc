#include "collector/query/url_query.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "collector/query/query_values.h"
#include "common/error_catalogue.h"
#include "common/url.h"

namespace pkiwatch::query {
namespace {

constexpr uint32_t kDefaultWindowSeconds = 7 * 86400;
constexpr int kTopErrors = 5;
constexpr int kMaxCrlVersions = 100;

bool Later(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() != b.seconds() ? a.seconds() > b.seconds() : a.nanos() > b.nanos();
}

// A version lapsed when its successor of the same kind (base or delta) was
// first seen only after its nextUpdate. `versions` is newest first.
void MarkLapses(google::protobuf::RepeatedPtrField<v1::CrlVersion>& versions) {
  std::map<bool, const v1::CrlVersion*> newer;  // by is_delta
  for (v1::CrlVersion& v : versions) {
    auto it = newer.find(v.is_delta());
    if (it != newer.end() && v.has_next_update() &&
        Later(it->second->first_seen(), v.next_update())) {
      v.set_lapsed(true);
    }
    newer[v.is_delta()] = &v;
  }
}

}  // namespace

absl::StatusOr<v1::GetUrlResponse> GetUrl(store::PgConnection& conn,
                                          const v1::GetUrlRequest& request) {
  if (request.url().empty()) return absl::InvalidArgumentError("url is required");
  auto normalized = NormalizeUrl(request.url());
  const std::string url = normalized.ok() ? *normalized : request.url();
  auto found = conn.Query("SELECT url_id, kind FROM urls WHERE url = $1", {url});
  if (!found.ok()) return found.status();
  if (found->rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no agent has reported the URL ", url));
  }
  const std::string url_id = S(found->Get(0, 0));
  const std::string window = absl::StrCat(
      request.max_age_seconds() == 0 ? kDefaultWindowSeconds : request.max_age_seconds());

  v1::GetUrlResponse response;
  response.set_url(url);
  response.set_url_kind(static_cast<v1::UrlKind>(found->GetInt64(0, 1)));

  // Now: the latest result per host and probe naming the URL.
  auto sites = conn.Query(
      "SELECT CASE WHEN n.site <> '' THEN n.site ELSE '(no site)' END, "
      "  count(DISTINCT cs.node_id) FILTER (WHERE cs.status >= 3), "
      "  count(DISTINCT cs.node_id) FILTER (WHERE cs.status = 2), count(DISTINCT cs.node_id) "
      "FROM current_state cs JOIN nodes n ON n.node_id = cs.node_id WHERE cs.url_id = $1 "
      "GROUP BY 1 ORDER BY 2 DESC, 1",
      {url_id});
  if (!sites.ok()) return sites.status();
  for (int i = 0; i < sites->rows(); ++i) {
    v1::SiteCount* site = response.add_sites();
    site->set_site(S(sites->Get(i, 0)));
    site->set_failing_hosts(static_cast<uint32_t>(sites->GetInt64(i, 1)));
    site->set_total_hosts(static_cast<uint32_t>(sites->GetInt64(i, 3)));
    response.set_failing_hosts(response.failing_hosts() + site->failing_hosts());
    response.set_warning_hosts(response.warning_hosts() +
                               static_cast<uint32_t>(sites->GetInt64(i, 2)));
    response.set_total_hosts(response.total_hosts() + site->total_hosts());
  }
  auto errors = conn.Query(
      "SELECT hresult, count(DISTINCT node_id) FROM current_state "
      "WHERE url_id = $1 AND status >= 3 AND hresult <> 0 GROUP BY 1 ORDER BY 2 DESC, 1 "
      "LIMIT " + absl::StrCat(kTopErrors),
      {url_id});
  if (!errors.ok()) return errors.status();
  for (int i = 0; i < errors->rows(); ++i) {
    v1::ErrorCount* e = response.add_top_errors();
    *e->mutable_error() = MakeErrorInfo(static_cast<uint32_t>(errors->GetInt64(i, 0)), "");
    e->set_hosts(static_cast<uint32_t>(errors->GetInt64(i, 1)));
  }

  // History: hourly rollups, with each hour's commonest failure.
  auto timeline = conn.Query(
      "WITH r AS (SELECT bucket, status, hresult, sum(findings) AS n FROM finding_rollups_hourly "
      "  WHERE url_id = $1 AND bucket >= date_trunc('hour', now() - make_interval(secs => $2)) "
      "  GROUP BY 1, 2, 3) "
      "SELECT extract(epoch FROM bucket), "
      "  COALESCE(sum(n) FILTER (WHERE status = 1), 0), "
      "  COALESCE(sum(n) FILTER (WHERE status = 2), 0), "
      "  COALESCE(sum(n) FILTER (WHERE status >= 3), 0), "
      "  (array_agg(hresult ORDER BY n DESC, hresult) FILTER (WHERE status >= 3))[1] "
      "FROM r GROUP BY bucket ORDER BY bucket",
      {url_id, window});
  if (!timeline.ok()) return timeline.status();
  for (int i = 0; i < timeline->rows(); ++i) {
    v1::UrlTimelineBucket* b = response.add_timeline();
    *b->mutable_start() = EpochTimestamp(timeline->Get(i, 0));
    b->set_ok_findings(static_cast<uint64_t>(timeline->GetInt64(i, 1)));
    b->set_warning_findings(static_cast<uint64_t>(timeline->GetInt64(i, 2)));
    b->set_failing_findings(static_cast<uint64_t>(timeline->GetInt64(i, 3)));
    if (!timeline->IsNull(i, 4)) {
      *b->mutable_top_error() = MakeErrorInfo(static_cast<uint32_t>(timeline->GetInt64(i, 4)), "");
    }
  }

  // CRLs: the writer's versions, and how many hosts hold each one now.
  auto versions = conn.Query(
      "WITH now_held AS (SELECT COALESCE(detail -> 'crl' ->> 'crlNumber', '') AS num, "
      "    (detail -> 'crl' ->> 'thisUpdate')::timestamptz AS this_update, "
      "    count(DISTINCT node_id) AS hosts "
      "  FROM current_state WHERE url_id = $1 AND probe = 'crl' "
      "    AND detail -> 'crl' ->> 'thisUpdate' IS NOT NULL GROUP BY 1, 2) "
      "SELECT v.crl_number, extract(epoch FROM v.this_update), extract(epoch FROM v.next_update), "
      "  v.is_delta, extract(epoch FROM v.first_seen), extract(epoch FROM v.last_seen), "
      "  v.observations, COALESCE(h.hosts, 0) "
      "FROM crl_versions v LEFT JOIN now_held h "
      "  ON h.num = v.crl_number AND h.this_update = v.this_update "
      "WHERE v.url_id = $1 AND v.last_seen >= now() - make_interval(secs => $2) "
      "ORDER BY v.this_update DESC, v.crl_number DESC LIMIT " + absl::StrCat(kMaxCrlVersions),
      {url_id, window});
  if (!versions.ok()) return versions.status();
  for (int i = 0; i < versions->rows(); ++i) {
    v1::CrlVersion* v = response.add_crl_versions();
    v->set_crl_number(S(versions->Get(i, 0)));
    *v->mutable_this_update() = EpochTimestamp(versions->Get(i, 1));
    if (!versions->IsNull(i, 2)) *v->mutable_next_update() = EpochTimestamp(versions->Get(i, 2));
    v->set_is_delta(versions->Get(i, 3) == "t");
    *v->mutable_first_seen() = EpochTimestamp(versions->Get(i, 4));
    *v->mutable_last_seen() = EpochTimestamp(versions->Get(i, 5));
    v->set_observations(static_cast<uint64_t>(versions->GetInt64(i, 6)));
    v->set_hosts_now(static_cast<uint32_t>(versions->GetInt64(i, 7)));
  }
  MarkLapses(*response.mutable_crl_versions());
  return response;
}

}  // namespace pkiwatch::query
