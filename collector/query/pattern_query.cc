#include "collector/query/pattern_query.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/error_catalogue.h"

namespace pkiwatch::query {
namespace {

constexpr int kFail = v1::STATUS_FAIL;
constexpr int kWarn = v1::STATUS_WARN;
constexpr int kTopErrors = 3;

struct Grouping {
  const char* key;   // SQL expression naming the group
  const char* kind;  // SQL expression for the URL kind, or 0
  const char* join;  // joins that make `key` available
  const char* where; // rows that belong to some group
};

Grouping GroupingFor(v1::GroupBy by) {
  switch (by) {
    case v1::GROUP_BY_URL:
      return {"u.url", "u.kind", "JOIN urls u ON u.url_id = cs.url_id", "TRUE"};
    case v1::GROUP_BY_CA:
      return {"c.name || CASE WHEN c.key_id <> '' THEN ' [' || c.key_id || ']' ELSE '' END",
              "0", "JOIN cas c ON c.ca_id = cs.ca_id", "TRUE"};
    case v1::GROUP_BY_TEMPLATE:
      return {"CASE WHEN t.name <> '' THEN t.name ELSE t.oid END", "0",
              "JOIN templates t ON t.template_id = cs.template_id", "TRUE"};
    case v1::GROUP_BY_ERROR:
      return {"cs.hresult::text", "0", "", "cs.hresult <> 0"};
    default:
      return {nullptr, nullptr, nullptr, nullptr};
  }
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(ts.seconds())) /
                                    absl::Nanoseconds(1)));
  return ts;
}

// extract(epoch ...) text, e.g. "1795400000.123456"; seconds-with-fraction
// avoids depending on the session's TimeZone and DateStyle.
absl::Time EpochToTime(std::string_view text) {
  double seconds = 0;
  if (!absl::SimpleAtod(absl::string_view(text.data(), text.size()), &seconds)) return absl::UnixEpoch();
  return absl::UnixEpoch() + absl::Microseconds(static_cast<int64_t>(seconds * 1e6));
}

std::string ErrorKey(uint32_t code) {
  auto entry = LookupError(code);
  return entry ? std::string(entry->name) : absl::StrFormat("0x%08X", code);
}

}  // namespace

absl::StatusOr<v1::GroupBy> ParseGroupBy(absl::string_view name) {
  if (name == "url") return v1::GROUP_BY_URL;
  if (name == "ca") return v1::GROUP_BY_CA;
  if (name == "template") return v1::GROUP_BY_TEMPLATE;
  if (name == "error") return v1::GROUP_BY_ERROR;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown grouping '", name, "': use url, ca, template or error"));
}

absl::StatusOr<v1::ListPatternsResponse> ListPatterns(store::PgConnection& conn,
                                                      const v1::ListPatternsRequest& request) {
  const Grouping g = GroupingFor(request.by());
  if (g.key == nullptr) {
    return absl::InvalidArgumentError("ListPatterns needs by = url, ca, template or error");
  }
  // The scoped rows: latest result per node, probe and target, with its group.
  const std::string scoped = absl::StrCat(
      "WITH s AS (SELECT cs.node_id, cs.status, cs.status_since, cs.observed_at, cs.hresult, "
      "cs.summary, ", g.key, " AS key, ", g.kind, " AS kind FROM current_state cs ", g.join,
      " WHERE ", g.where, " AND ($1::int = 0 OR cs.observed_at > now() - make_interval(secs => $1::int))) ");
  const std::string max_age = absl::StrCat(request.max_age_seconds());

  auto groups = conn.Query(
      absl::StrCat(
          scoped,
          "SELECT key, max(kind), "
          " count(DISTINCT node_id) FILTER (WHERE status = ", kFail, "), "
          " count(DISTINCT node_id) FILTER (WHERE status = ", kWarn, "), "
          " count(DISTINCT node_id), "
          " extract(epoch FROM min(status_since) FILTER (WHERE status = ", kFail, ")), "
          " extract(epoch FROM max(observed_at) FILTER (WHERE status = ", kFail, ")), "
          " (array_agg(summary ORDER BY observed_at DESC) FILTER (WHERE status = ", kFail,
          "))[1] "
          "FROM s GROUP BY key "
          "HAVING $2::bool OR count(*) FILTER (WHERE status = ", kFail, ") > 0 "
          "ORDER BY 3 DESC, 4 DESC, key"),
      {max_age, request.include_healthy() ? "true" : "false"});
  if (!groups.ok()) return groups.status();

  auto errors = conn.Query(
      absl::StrCat(scoped,
                   "SELECT key, hresult, count(DISTINCT node_id) AS hosts FROM s "
                   "WHERE status = ", kFail, " AND hresult <> 0 GROUP BY key, hresult "
                   "ORDER BY key, hosts DESC, hresult"),
      {max_age});
  if (!errors.ok()) return errors.status();
  absl::flat_hash_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> top_errors;
  for (int r = 0; r < errors->rows(); ++r) {
    auto& list = top_errors[std::string(errors->Get(r, 0))];
    if (list.size() < kTopErrors) {
      list.emplace_back(static_cast<uint32_t>(errors->GetInt64(r, 1)),
                        static_cast<uint32_t>(errors->GetInt64(r, 2)));
    }
  }

  v1::ListPatternsResponse response;
  *response.mutable_generated_at() = ToProto(absl::Now());
  for (int r = 0; r < groups->rows(); ++r) {
    v1::Pattern* p = response.add_patterns();
    const std::string key(groups->Get(r, 0));
    p->set_by(request.by());
    p->set_key(request.by() == v1::GROUP_BY_ERROR
                   ? ErrorKey(static_cast<uint32_t>(groups->GetInt64(r, 0)))
                   : key);
    p->set_url_kind(static_cast<v1::UrlKind>(groups->GetInt64(r, 1)));
    p->set_failing_hosts(static_cast<uint32_t>(groups->GetInt64(r, 2)));
    p->set_warning_hosts(static_cast<uint32_t>(groups->GetInt64(r, 3)));
    p->set_total_hosts(static_cast<uint32_t>(groups->GetInt64(r, 4)));
    if (p->total_hosts() > 0) {
      p->set_failing_share(static_cast<double>(p->failing_hosts()) / p->total_hosts());
    }
    if (!groups->IsNull(r, 5)) {
      *p->mutable_first_seen() = ToProto(EpochToTime(groups->Get(r, 5)));
      *p->mutable_last_seen() = ToProto(EpochToTime(groups->Get(r, 6)));
    }
    p->set_example_summary(std::string(groups->Get(r, 7)));
    for (const auto& [code, hosts] : top_errors[key]) {
      v1::ErrorCount* e = p->add_top_errors();
      *e->mutable_error() = MakeErrorInfo(code, "");
      e->set_hosts(hosts);
    }
  }
  return response;
}

}  // namespace pkiwatch::query
