#include "collector/store/finding_writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "collector/store/crl_versions.h"
#include "collector/store/partitions.h"
#include "collector/store/pattern_counters.h"
#include "collector/store/pg_literals.h"
#include "common/error_catalogue.h"
#include "google/protobuf/util/json_util.h"

namespace pkiwatch::store {
namespace {

constexpr char kSep = '\x1f';  // joins multi-column dimension keys

std::string UrlKey(const v1::Dimensions& d) { return d.url(); }

// The typed parts of a finding that have no column of their own (the
// detail oneof, event origin, target certificate, and whatever later
// versions add), kept as JSON so SQL consumers (views, Grafana) can read
// them. Null when empty.
std::optional<std::string> DetailJson(const v1::Finding& f) {
  v1::Finding detail = f;
  detail.clear_probe();
  detail.clear_target();
  detail.clear_observed_at();
  detail.clear_duration();
  detail.clear_status();
  detail.clear_error();
  detail.clear_dimensions();
  detail.clear_summary();
  if (detail.ByteSizeLong() == 0) return std::nullopt;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(detail, &json).ok()) return std::nullopt;
  return json;
}

void AppendColumn(std::string_view value, std::string* out) {
  CopyEscape(value, out);
  out->push_back('\t');
}

void AppendId(const absl::flat_hash_map<std::string, int64_t>& ids, const std::string& key,
              std::string* out) {
  auto it = key.empty() ? ids.end() : ids.find(key);
  if (it == ids.end()) {
    out->append("\\N\t");
  } else {
    absl::StrAppend(out, it->second, "\t");
  }
}

void AppendCopyRow(const std::string& node_id, const AcceptedFinding& a,
                   const absl::flat_hash_map<std::string, int64_t>& ca_ids,
                   const absl::flat_hash_map<std::string, int64_t>& tmpl_ids,
                   const absl::flat_hash_map<std::string, int64_t>& url_ids, std::string* out) {
  const v1::Finding& f = a.finding;
  const int64_t duration_ms = f.duration().seconds() * 1000 + f.duration().nanos() / 1000000;
  absl::StrAppend(out, node_id, "\t", a.seq, "\t", PgTimestamp(f.observed_at()), "\t",
                  duration_ms, "\t");
  AppendColumn(f.probe(), out);
  AppendColumn(f.target(), out);
  absl::StrAppend(out, static_cast<int>(f.status()), "\t", f.error().hresult(), "\t");
  AppendId(ca_ids, CaKey(f.dimensions()), out);
  AppendId(tmpl_ids, TemplateKey(f.dimensions()), out);
  AppendId(url_ids, UrlKey(f.dimensions()), out);
  AppendColumn(f.summary(), out);
  AppendColumn(f.error().native_detail(), out);
  if (auto json = DetailJson(f)) {
    CopyEscape(*json, out);
  } else {
    out->append("\\N");
  }
  out->push_back('\n');
}

// Inserts the missing values of one dimension table and reads back their ids.
absl::Status UpsertDimension(PgConnection& conn, std::string_view insert_sql,
                             std::string_view select_sql, std::vector<std::string> first,
                             std::vector<std::string> second,
                             absl::flat_hash_map<std::string, int64_t>* ids,
                             bool key_has_second) {
  if (first.empty()) return absl::OkStatus();
  const std::string a = PgTextArray(first);
  const std::string b = PgTextArray(second);
  auto inserted = conn.Query(insert_sql, {a, b});
  if (!inserted.ok()) return inserted.status();
  auto rows = conn.Query(select_sql, {a, b});
  if (!rows.ok()) return rows.status();
  for (int r = 0; r < rows->rows(); ++r) {
    std::string key(rows->Get(r, 1));
    if (key_has_second) absl::StrAppend(&key, std::string(1, kSep), std::string(rows->Get(r, 2)));
    (*ids)[key] = rows->GetInt64(r, 0);
  }
  return absl::OkStatus();
}

}  // namespace

std::string CaKey(const v1::Dimensions& d) {
  if (d.ca().empty()) return "";
  return absl::StrCat(d.ca(), std::string(1, kSep), d.ca_key_id());
}

std::string TemplateKey(const v1::Dimensions& d) {
  if (d.template_name().empty() && d.template_oid().empty()) return "";
  return absl::StrCat(d.template_name(), std::string(1, kSep), d.template_oid());
}

absl::StatusOr<std::unique_ptr<FindingWriter>> FindingWriter::Create(ConnectionPool* pool,
                                                                     Options options) {
  if (pool == nullptr) return absl::InvalidArgumentError("FindingWriter needs a pool");
  return std::unique_ptr<FindingWriter>(new FindingWriter(pool, options));
}

absl::Status FindingWriter::ResolveErrorCodes(PgConnection& conn, const NodeBatch& batch) {
  std::vector<uint32_t> missing;
  {
    absl::MutexLock lock(&mu_);
    for (const AcceptedFinding& a : batch.accepted) {
      const uint32_t code = a.finding.error().hresult();
      if (code != 0 && !known_errors_.contains(code)) missing.push_back(code);
    }
  }
  if (missing.empty()) return absl::OkStatus();
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  std::vector<std::string> codes, names, messages;
  for (uint32_t code : missing) {
    codes.push_back(absl::StrCat(code));
    auto entry = LookupError(code);
    names.push_back(entry ? std::string(entry->name) : absl::StrFormat("0x%08X", code));
    messages.push_back(entry ? std::string(entry->message) : "");
  }
  auto r = conn.Query(
      "INSERT INTO error_codes (hresult, symbolic_name, message) "
      "SELECT c::bigint, n, m FROM unnest($1::text[], $2::text[], $3::text[]) AS t(c, n, m) "
      "ON CONFLICT (hresult) DO NOTHING",
      {PgTextArray(codes), PgTextArray(names), PgTextArray(messages)});
  if (!r.ok()) return r.status();
  absl::MutexLock lock(&mu_);
  for (uint32_t code : missing) known_errors_[code] = true;
  return absl::OkStatus();
}

absl::Status FindingWriter::ResolveDimensions(PgConnection& conn, const NodeBatch& batch,
                                              DimensionIds* ids) {
  // Sorted, de-duplicated missing values: concurrent writers then take the
  // unique-index locks in the same order and cannot deadlock.
  std::vector<std::pair<std::string, std::string>> ca, tmpl, url;
  {
    absl::MutexLock lock(&mu_);
    for (const AcceptedFinding& a : batch.accepted) {
      const v1::Dimensions& d = a.finding.dimensions();
      if (std::string k = CaKey(d); !k.empty() && !cache_.ca.contains(k)) {
        ca.emplace_back(d.ca(), d.ca_key_id());
      }
      if (std::string k = TemplateKey(d); !k.empty() && !cache_.tmpl.contains(k)) {
        tmpl.emplace_back(d.template_name(), d.template_oid());
      }
      if (!d.url().empty() && !cache_.url.contains(d.url())) {
        url.emplace_back(d.url(), absl::StrCat(static_cast<int>(d.url_kind())));
      }
    }
  }
  auto split = [](std::vector<std::pair<std::string, std::string>>& v,
                  std::vector<std::string>* a, std::vector<std::string>* b, bool by_first) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end(),
                        [by_first](const auto& x, const auto& y) {
                          return by_first ? x.first == y.first : x == y;
                        }),
            v.end());
    for (auto& [x, y] : v) {
      a->push_back(x);
      b->push_back(y);
    }
  };
  DimensionIds fresh;
  std::vector<std::string> a, b;
  split(ca, &a, &b, false);
  absl::Status s = UpsertDimension(
      conn,
      "INSERT INTO cas (name, key_id) SELECT n, k FROM unnest($1::text[], $2::text[]) "
      "AS t(n, k) ON CONFLICT (name, key_id) DO NOTHING",
      "SELECT c.ca_id, c.name, c.key_id FROM cas c JOIN unnest($1::text[], $2::text[]) "
      "AS t(n, k) ON c.name = t.n AND c.key_id = t.k",
      std::move(a), std::move(b), &fresh.ca, true);
  if (!s.ok()) return s;
  a.clear();
  b.clear();
  split(tmpl, &a, &b, false);
  s = UpsertDimension(
      conn,
      "INSERT INTO templates (name, oid) SELECT n, o FROM unnest($1::text[], $2::text[]) "
      "AS t(n, o) ON CONFLICT (name, oid) DO NOTHING",
      "SELECT tp.template_id, tp.name, tp.oid FROM templates tp JOIN unnest($1::text[], "
      "$2::text[]) AS t(n, o) ON tp.name = t.n AND tp.oid = t.o",
      std::move(a), std::move(b), &fresh.tmpl, true);
  if (!s.ok()) return s;
  a.clear();
  b.clear();
  split(url, &a, &b, true);
  s = UpsertDimension(
      conn,
      "INSERT INTO urls (url, kind) SELECT u, k::smallint FROM unnest($1::text[], $2::text[]) "
      "AS t(u, k) ON CONFLICT (url) DO NOTHING",
      "SELECT x.url_id, x.url FROM urls x JOIN unnest($1::text[], $2::text[]) AS t(u, k) "
      "ON x.url = t.u",
      std::move(a), std::move(b), &fresh.url, false);
  if (!s.ok()) return s;

  absl::MutexLock lock(&mu_);
  for (auto& [k, v] : fresh.ca) cache_.ca[k] = v;
  for (auto& [k, v] : fresh.tmpl) cache_.tmpl[k] = v;
  for (auto& [k, v] : fresh.url) cache_.url[k] = v;
  // Copy only what this batch needs, so the COPY loop runs without the lock.
  for (const AcceptedFinding& f : batch.accepted) {
    const v1::Dimensions& d = f.finding.dimensions();
    if (std::string k = CaKey(d); !k.empty()) ids->ca[k] = cache_.ca[k];
    if (std::string k = TemplateKey(d); !k.empty()) ids->tmpl[k] = cache_.tmpl[k];
    if (!d.url().empty()) ids->url[d.url()] = cache_.url[d.url()];
  }
  return absl::OkStatus();
}

absl::StatusOr<WriteResult> FindingWriter::Write(const NodeBatch& batch) {
  auto result = WriteOnce(batch);
  // SQLSTATE 23514 on findings: no partition for today yet (the collector
  // runs past midnight before its hourly maintenance). Create it and retry.
  if (!result.ok() && SqlStateOf(result.status()) == "23514") {
    auto lease = pool_->Acquire();
    if (!lease.ok()) return result;
    if (absl::Status s = EnsureFindingPartitions(**lease, absl::Now()); !s.ok()) return result;
    result = WriteOnce(batch);
  }
  return result;
}

absl::StatusOr<WriteResult> FindingWriter::WriteOnce(const NodeBatch& batch) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  PgConnection& conn = **lease;

  if (absl::Status s = ResolveErrorCodes(conn, batch); !s.ok()) return s;
  DimensionIds ids;
  if (absl::Status s = ResolveDimensions(conn, batch, &ids); !s.ok()) return s;

  if (absl::Status s = conn.Begin(); !s.ok()) return s;
  auto fail = [&conn](absl::Status s) {
    (void)conn.Rollback();  // the original error is the one worth reporting
    return s;
  };

  auto mark = conn.Query(
      "SELECT durable_through_seq, site FROM nodes WHERE node_id = $1 FOR UPDATE",
      {batch.node_id});
  if (!mark.ok()) return fail(mark.status());
  if (mark->rows() != 1) {
    return fail(absl::NotFoundError(absl::StrCat("node ", batch.node_id, " is not enrolled")));
  }
  const uint64_t high_water = static_cast<uint64_t>(mark->GetInt64(0, 0));
  const std::string site(mark->Get(0, 1));

  WriteResult result;
  std::string copy;
  uint64_t max_stored = 0;
  bool stored_failing = false;
  for (const AcceptedFinding& a : batch.accepted) {
    if (a.seq <= high_water) {
      ++result.duplicates;
      continue;
    }
    AppendCopyRow(batch.node_id, a, ids.ca, ids.tmpl, ids.url, &copy);
    ++result.stored;
    stored_failing = stored_failing || a.finding.status() == v1::STATUS_FAIL;
    max_stored = std::max(max_stored, a.seq);
  }
  if (result.stored > 0) {
    absl::Status s = conn.CopyIn(
        "COPY findings (node_id, seq, observed_at, duration_ms, probe, target, status, "
        "hresult, ca_id, template_id, url_id, summary, native_detail, detail) FROM STDIN",
        copy);
    if (!s.ok()) return fail(s);
    // The newest finding per (probe, target) of this batch replaces the
    // current state unless a newer one is already there; status_since only
    // moves when the status changes. Counts the results that move the
    // node's pattern memberships: new ones, changed status, error or
    // dimensions, and failing ones observed earlier than before (these need
    // the memberships recomputed); and the failing ones (these at least
    // move the newest failing observation).
    auto upsert = conn.Query(
        "WITH latest AS ("
        "  SELECT DISTINCT ON (probe, target) node_id, probe, target, seq, observed_at, status, "
        "    hresult, ca_id, template_id, url_id, summary, native_detail, detail "
        "  FROM findings WHERE node_id = $1 AND seq > $2 AND seq <= $3 "
        // Rows of this transaction carry received_at = now() (its start
        // time): this prunes the scan to today's partition.
        "    AND received_at = now() "
        "  ORDER BY probe, target, seq DESC"
        "), upserted AS ("
        "  INSERT INTO current_state AS cs (node_id, probe, target, seq, observed_at, status, "
        "    status_since, hresult, ca_id, template_id, url_id, summary, native_detail, detail) "
        "  SELECT node_id, probe, target, seq, observed_at, status, observed_at, hresult, ca_id, "
        "    template_id, url_id, summary, native_detail, detail FROM latest "
        "  ON CONFLICT (node_id, probe, target) DO UPDATE SET seq = EXCLUDED.seq, "
        "    observed_at = EXCLUDED.observed_at, status = EXCLUDED.status, "
        "    status_since = CASE WHEN cs.status = EXCLUDED.status THEN cs.status_since "
        "                        ELSE EXCLUDED.observed_at END, "
        "    hresult = EXCLUDED.hresult, ca_id = EXCLUDED.ca_id, "
        "    template_id = EXCLUDED.template_id, url_id = EXCLUDED.url_id, "
        "    summary = EXCLUDED.summary, native_detail = EXCLUDED.native_detail, "
        "    detail = EXCLUDED.detail, received_at = now() "
        // Always true: stored rows are at or below the high-water mark.
        "  WHERE EXCLUDED.seq > cs.seq"
        ") "
        // current_state as the statement's snapshot shows it: before the upsert.
        "SELECT count(*) FILTER (WHERE p.probe IS NULL "
        "    OR (l.status, l.hresult, l.ca_id, l.template_id, l.url_id) IS DISTINCT FROM "
        "       (p.status, p.hresult, p.ca_id, p.template_id, p.url_id) "
        "    OR (l.status = 3 AND l.observed_at < p.observed_at)), "
        "  count(*) FILTER (WHERE l.status = 3) "
        "FROM latest l "
        "LEFT JOIN current_state p ON p.node_id = $1 AND p.probe = l.probe "
        "  AND p.target = l.target",
        {batch.node_id, absl::StrCat(high_water), absl::StrCat(max_stored)});
    if (!upsert.ok()) return fail(upsert.status());
    if (upsert->GetInt64(0, 0) > 0) {
      if (absl::Status s = RefreshPatternCounters(conn, batch.node_id); !s.ok()) return fail(s);
    } else if (upsert->GetInt64(0, 1) > 0) {
      std::vector<std::string> probes, targets;
      for (const AcceptedFinding& a : batch.accepted) {
        // The failing ones are all that can move a newest failing observation.
        if (a.seq <= high_water || a.finding.status() != v1::STATUS_FAIL) continue;
        probes.push_back(a.finding.probe());
        targets.push_back(a.finding.target());
      }
      if (absl::Status s = RecordRepeatedResults(conn, batch.node_id, probes, targets); !s.ok()) {
        return fail(s);
      }
    }
    if (options_.maintain_rollups) {
      // Sorted, so concurrent writers lock shared rollup rows in one order.
      auto rollup = conn.Query(
          "INSERT INTO finding_rollups_hourly AS r (bucket, probe, status, hresult, ca_id, "
          "  template_id, url_id, site, findings) "
          "SELECT date_trunc('hour', observed_at), probe, status, hresult, COALESCE(ca_id, 0), "
          "  COALESCE(template_id, 0), COALESCE(url_id, 0), $4, count(*) "
          "FROM findings WHERE node_id = $1 AND seq > $2 AND seq <= $3 AND received_at = now() "
          "GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7 "
          "ON CONFLICT (bucket, probe, status, hresult, ca_id, template_id, url_id, site) "
          "DO UPDATE SET findings = r.findings + EXCLUDED.findings",
          {batch.node_id, absl::StrCat(high_water), absl::StrCat(max_stored), site});
      if (!rollup.ok()) return fail(rollup.status());
      if (stored_failing) {
        // The same failing rows per day, for trends over long windows.
        auto daily = conn.Query(
            "INSERT INTO failing_rollups_daily AS r (day, hresult, ca_id, template_id, url_id, "
            "  site, findings) "
            "SELECT date_trunc('day', observed_at), hresult, COALESCE(ca_id, 0), "
            "  COALESCE(template_id, 0), COALESCE(url_id, 0), $4, count(*) "
            "FROM findings WHERE node_id = $1 AND seq > $2 AND seq <= $3 AND received_at = now() "
            "  AND status = 3 "
            "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5 "
            "ON CONFLICT (day, hresult, ca_id, template_id, url_id, site) "
            "DO UPDATE SET findings = r.findings + EXCLUDED.findings",
            {batch.node_id, absl::StrCat(high_water), absl::StrCat(max_stored), site});
        if (!daily.ok()) return fail(daily.status());
      }
    }
    if (absl::Status s = RecordCrlVersions(conn, batch.node_id, high_water, max_stored); !s.ok()) {
      return fail(s);
    }
  }

  std::vector<std::string> rejected_seqs, reasons;
  for (const RejectedFinding& r : batch.rejected) {
    if (r.seq <= high_water) continue;
    rejected_seqs.push_back(absl::StrCat(r.seq));
    reasons.push_back(r.reason);
  }
  if (!rejected_seqs.empty()) {
    auto r = conn.Query(
        "INSERT INTO rejected_findings (node_id, seq, reason) "
        "SELECT $1, s::bigint, r FROM unnest($2::text[], $3::text[]) AS t(s, r) "
        "ON CONFLICT (node_id, seq) DO NOTHING",
        {batch.node_id, PgTextArray(rejected_seqs), PgTextArray(reasons)});
    if (!r.ok()) return fail(r.status());
  }

  const uint64_t new_mark = std::max(high_water, batch.max_seq);
  std::optional<std::string> depth, dropped;
  if (batch.stats != nullptr) {
    depth = absl::StrCat(batch.stats->spool_depth());
    dropped = absl::StrCat(batch.stats->spool_dropped_total());
  }
  // oldest_result_at lets a windowed pattern query find the nodes whose
  // results went stale; it only moves when results were stored.
  auto update = conn.Query(
      "UPDATE nodes SET durable_through_seq = $2, last_seen_at = now(), "
      "  rejected_total = rejected_total + $3, "
      "  spool_depth = COALESCE($4::bigint, spool_depth), "
      "  spool_dropped_total = COALESCE($5::bigint, spool_dropped_total), "
      "  oldest_result_at = CASE WHEN $6::bool THEN (SELECT min(observed_at) FROM current_state "
      "                     WHERE node_id = $1) ELSE oldest_result_at END "
      "WHERE node_id = $1",
      {batch.node_id, absl::StrCat(new_mark), absl::StrCat(rejected_seqs.size()), depth,
       dropped, result.stored > 0 ? "true" : "false"});
  if (!update.ok()) return fail(update.status());
  if (absl::Status s = conn.Commit(); !s.ok()) return fail(s);
  result.durable_through_seq = new_mark;
  return result;
}

}  // namespace pkiwatch::store
