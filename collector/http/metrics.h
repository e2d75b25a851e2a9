#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "collector/ingest/ingest_counters.h"
#include "collector/store/pg_connection.h"

namespace pkiwatch::http {

// The Prometheus text exposition (format 0.0.4): ingest counters and writer
// latency from this process, fleet gauges (failing hosts per CA and URL,
// seconds to the newest CRL's nextUpdate per URL, agent spool drops) from
// the database.
absl::StatusOr<std::string> RenderMetrics(store::PgConnection& conn,
                                          const ingest::IngestCounters& counters,
                                          size_t connected_agents);

// Escapes a label value (backslash, quote, newline).
std::string EscapeLabel(std::string_view value);

}  // namespace pkiwatch::http
