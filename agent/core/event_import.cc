#include "agent/core/event_import.h"

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "agent/core/event_file_reader.h"
#include "agent/core/event_pipeline.h"
#include "agent/core/imported_host.h"
#include "agent/eventlog/event_xml.h"

namespace pkiwatch::agent {
namespace {

// Findings are appended to a computer's spool in batches of this size, so
// memory stays bounded however large the file is.
constexpr size_t kSpoolBatch = 1000;

struct Computer {
  std::unique_ptr<ImportedHost> host;
  std::unique_ptr<EventPipeline> pipeline;
  std::vector<std::string> pending;  // serialized findings not yet spooled
  uint64_t findings = 0;
};

absl::Status SpoolPending(Computer& c) {
  if (c.pending.empty()) return absl::OkStatus();
  c.findings += c.pending.size();
  auto appended = c.host->spool().Append(std::move(c.pending));
  c.pending.clear();
  return appended.status();
}

}  // namespace

absl::StatusOr<EventImportReport> ImportEventFile(const std::string& path,
                                                  const EventImportOptions& options) {
  auto reader = EventFileReader::Open(path);
  if (!reader.ok()) return reader.status();
  EventImportReport report;
  report.format = (*reader)->Description();
  const auto now =
      std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());

  absl::flat_hash_map<std::string, std::unique_ptr<Computer>> computers;
  auto computer_of = [&](const std::string& name) -> absl::StatusOr<Computer*> {
    const std::string key = ImportedHostDirName(name);
    if (auto it = computers.find(key); it != computers.end()) return it->second.get();
    if (computers.size() >= options.max_computers) return nullptr;
    auto host = ImportedHost::Open(options.root, name, options.spool_bounds);
    if (!host.ok()) return host.status();
    if (absl::Status s = (*host)->BeginImport(); !s.ok()) return s;
    auto c = std::make_unique<Computer>();
    c->host = *std::move(host);
    Computer* raw = c.get();
    c->pipeline = std::make_unique<EventPipeline>(
        options.dedup, [raw](v1::Finding f) { raw->pending.push_back(f.SerializeAsString()); });
    return computers.emplace(key, std::move(c)).first->second.get();
  };

  std::string xml;
  while (true) {
    auto more = (*reader)->Next(xml);
    if (!more.ok()) return more.status();
    if (!*more) break;
    ++report.records;
    auto event = eventlog::ParseEventXml(xml);
    if (!event.ok()) {
      ++report.malformed;
      if (report.first_error.empty()) {
        report.first_error = absl::StrCat("record ", report.records, ": ", event.error());
      }
      continue;
    }
    auto computer = computer_of(event->computer);
    if (!computer.ok()) return computer.status();
    if (*computer == nullptr) {
      ++report.over_computer_limit;
      continue;
    }
    Computer& c = **computer;
    auto claimed = c.host->Claim(event->channel, event->record_id);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) {
      ++report.already_imported;
      continue;
    }
    c.pipeline->Add(*event, now);
    if (c.pending.size() >= kSpoolBatch) {
      if (absl::Status s = SpoolPending(c); !s.ok()) return s;
    }
  }
  report.unreadable = (*reader)->unreadable();
  if (report.first_error.empty() && report.unreadable > 0) {
    report.first_error = (*reader)->last_error();
  }

  // Everything of a computer is spooled before its records count as
  // imported: a crash in between imports them again, it never loses them.
  for (auto& [key, c] : computers) {
    c->pipeline->FlushAll();
    if (absl::Status s = SpoolPending(*c); !s.ok()) return s;
    if (absl::Status s = c->host->CommitImport(); !s.ok()) return s;
    const EventPipelineStats& stats = c->pipeline->stats();
    report.not_pki += stats.not_pki;
    report.suppressed += stats.suppressed;
    report.findings += c->findings;
    report.findings_by_computer[c->host->computer()] = c->findings;
  }
  return report;
}

std::string FormatImportReport(const std::string& path, const EventImportReport& r) {
  std::string out = absl::StrCat(
      path, " (", r.format, "): ", r.records, " records, ", r.findings, " findings spooled; ",
      r.not_pki, " outside the PKI event families, ", r.suppressed, " folded into flood counts, ",
      r.already_imported, " imported before, ", r.malformed + r.unreadable, " unreadable");
  if (r.over_computer_limit > 0) {
    absl::StrAppend(&out, ", ", r.over_computer_limit, " beyond the computer limit");
  }
  out += "\n";
  if (!r.first_error.empty()) absl::StrAppend(&out, "  first unreadable record: ", r.first_error, "\n");
  for (const auto& [computer, findings] : r.findings_by_computer) {
    absl::StrAppend(&out, "  ", computer.empty() ? "(no computer name)" : computer, ": ",
                    findings, " findings\n");
  }
  return out;
}

}  // namespace pkiwatch::agent
