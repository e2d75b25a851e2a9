#include "collector/http/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pkiwatch::http {
namespace {

void Header(std::string* out, std::string_view name, std::string_view type,
            std::string_view help) {
  absl::StrAppendFormat(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void Counter(std::string* out, std::string_view name, std::string_view help, uint64_t value) {
  Header(out, name, "counter", help);
  absl::StrAppendFormat(out, "%s %d\n", name, value);
}

}  // namespace

std::string EscapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

absl::StatusOr<std::string> RenderMetrics(store::PgConnection& conn,
                                          const ingest::IngestCounters& c,
                                          size_t connected_agents) {
  std::string out;
  Counter(&out, "pkiwatch_ingest_batches_total", "Batches committed.", c.batches.load());
  Counter(&out, "pkiwatch_ingest_findings_stored_total", "Findings stored.",
          c.findings_stored.load());
  Counter(&out, "pkiwatch_ingest_findings_duplicate_total",
          "Findings received again and dropped (already stored).", c.findings_duplicate.load());
  Counter(&out, "pkiwatch_ingest_findings_rejected_total", "Findings refused by validation.",
          c.findings_rejected.load());
  Counter(&out, "pkiwatch_ingest_write_errors_total", "Batches whose write failed.",
          c.write_errors.load());
  Counter(&out, "pkiwatch_auth_failures_total", "Refused enrollments and streams.",
          c.auth_failures.load());
  Header(&out, "pkiwatch_writer_batch_seconds", "histogram",
         "Time to write and commit one batch.");
  for (size_t i = 0; i < ingest::kWriteLatencyBucketCount; ++i) {
    absl::StrAppendFormat(&out, "pkiwatch_writer_batch_seconds_bucket{le=\"%g\"} %d\n",
                          ingest::kWriteLatencyBuckets[i], c.write_latency_buckets[i].load());
  }
  absl::StrAppendFormat(&out, "pkiwatch_writer_batch_seconds_bucket{le=\"+Inf\"} %d\n",
                        c.write_latency_count.load());
  absl::StrAppendFormat(&out, "pkiwatch_writer_batch_seconds_sum %.6f\n",
                        static_cast<double>(c.write_latency_micros.load()) / 1e6);
  absl::StrAppendFormat(&out, "pkiwatch_writer_batch_seconds_count %d\n",
                        c.write_latency_count.load());
  Header(&out, "pkiwatch_connected_agents", "gauge", "Agent streams open on this collector.");
  absl::StrAppendFormat(&out, "pkiwatch_connected_agents %d\n", connected_agents);

  auto nodes = conn.Query(
      "SELECT count(*), COALESCE(sum(spool_dropped_total), 0), COALESCE(sum(spool_depth), 0), "
      "COALESCE(sum(rejected_total), 0) FROM nodes");
  if (!nodes.ok()) return nodes.status();
  Header(&out, "pkiwatch_nodes", "gauge", "Enrolled agents.");
  absl::StrAppendFormat(&out, "pkiwatch_nodes %d\n", nodes->GetInt64(0, 0));
  Header(&out, "pkiwatch_agent_spool_dropped_total", "counter",
         "Findings agents dropped because their spool was full (as reported by them).");
  absl::StrAppendFormat(&out, "pkiwatch_agent_spool_dropped_total %d\n", nodes->GetInt64(0, 1));
  Header(&out, "pkiwatch_agent_spool_depth", "gauge", "Findings waiting in agent spools.");
  absl::StrAppendFormat(&out, "pkiwatch_agent_spool_depth %d\n", nodes->GetInt64(0, 2));

  auto failing = conn.Query(
      "SELECT 'url', u.url, count(DISTINCT cs.node_id) FILTER (WHERE cs.status = 3), "
      "count(DISTINCT cs.node_id) FROM current_state cs JOIN urls u USING (url_id) GROUP BY u.url "
      "UNION ALL SELECT 'ca', c.name, count(DISTINCT cs.node_id) FILTER (WHERE cs.status = 3), "
      "count(DISTINCT cs.node_id) FROM current_state cs JOIN cas c USING (ca_id) GROUP BY c.name "
      "ORDER BY 1, 2");
  if (!failing.ok()) return failing.status();
  Header(&out, "pkiwatch_failing_hosts", "gauge", "Hosts whose latest result fails, per URL / CA.");
  for (int r = 0; r < failing->rows(); ++r) {
    absl::StrAppendFormat(&out, "pkiwatch_failing_hosts{%s=\"%s\"} %d\n",
                          std::string(failing->Get(r, 0)), EscapeLabel(failing->Get(r, 1)),
                          failing->GetInt64(r, 2));
  }
  Header(&out, "pkiwatch_probing_hosts", "gauge", "Hosts with a result, per URL / CA.");
  for (int r = 0; r < failing->rows(); ++r) {
    absl::StrAppendFormat(&out, "pkiwatch_probing_hosts{%s=\"%s\"} %d\n",
                          std::string(failing->Get(r, 0)), EscapeLabel(failing->Get(r, 1)),
                          failing->GetInt64(r, 3));
  }

  auto crl = conn.Query(
      "SELECT u.url, extract(epoch FROM max((cs.detail -> 'crl' ->> 'nextUpdate')::timestamptz) "
      "- now()) FROM current_state cs JOIN urls u USING (url_id) "
      "WHERE cs.detail -> 'crl' ->> 'nextUpdate' IS NOT NULL GROUP BY u.url ORDER BY u.url");
  if (!crl.ok()) return crl.status();
  Header(&out, "pkiwatch_crl_seconds_to_next_update", "gauge",
         "Seconds until the newest CRL seen at the URL expires (negative: expired).");
  for (int r = 0; r < crl->rows(); ++r) {
    absl::StrAppendFormat(&out, "pkiwatch_crl_seconds_to_next_update{url=\"%s\"} %s\n",
                          EscapeLabel(crl->Get(r, 0)), std::string(crl->Get(r, 1)));
  }
  return out;
}

}  // namespace pkiwatch::http
