#pragma once

// `pkiwatch-agent --import-events FILE`: replays an exported event log
// through the agent's event pipeline (parse, classify, flood control) into
// the spools of the computers the records name, ready for delivery
// (imported_delivery.h). The records keep their own computer name and time.
// This is how machines without an agent, or logs from before the agent was
// installed, reach the collector.

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "agent/core/edge_dedup.h"
#include "agent/core/spool.h"

namespace pkiwatch::agent {

struct EventImportOptions {
  std::string root;             // <state_dir>/imported
  Spool::Options spool_bounds;  // per computer (path is set per computer)
  DedupOptions dedup;
  // Bound on the computers one file may name (a forwarded-events log holds
  // many); records of further computers are skipped and counted.
  size_t max_computers = 10000;
};

struct EventImportReport {
  std::string format;               // "XML (UTF-8)", "evtx"
  uint64_t records = 0;             // read from the file
  uint64_t unreadable = 0;          // the reader could not read them
  uint64_t malformed = 0;           // not an event (bad XML, no EventID, ...)
  uint64_t already_imported = 0;    // imported before (same channel and record id)
  uint64_t not_pki = 0;             // outside the PKI event families
  uint64_t suppressed = 0;          // folded into flood summaries
  uint64_t over_computer_limit = 0;
  uint64_t findings = 0;            // spooled
  std::string first_error;          // of the first unreadable or malformed record
  std::map<std::string, uint64_t> findings_by_computer;
};

// Reads every record of `path` (see event_file_reader.h for the formats).
// Errors only when the file cannot be read at all or a spool fails; bad
// records are counted in the report.
absl::StatusOr<EventImportReport> ImportEventFile(const std::string& path,
                                                  const EventImportOptions& options);

// A few lines for the operator: counts, and findings per computer.
std::string FormatImportReport(const std::string& path, const EventImportReport& report);

}  // namespace pkiwatch::agent
