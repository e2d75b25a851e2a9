// Throughput of the event pipeline's portable half on a flood: parse the XML
// of a real CAPI2 4107 record, classify it, and fold it into EdgeDedup.
// Prints events/s (items_per_second) for the whole path and for each stage.
//
// The 4107 is the one quoted in fixtures/events/docs (MicrosoftDocs article
// "Event ID 4107 or Event ID 11 is logged"), rendered into the Application-log
// XML shape of the DeepBlueCLI CAPI2 records; a real CAPI2/Operational 53
// (CRL fetch with HTTP headers) from the ShadowCopy set is measured too.
// Without the fixtures the benchmarks report an error and measure nothing.

#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent/core/edge_dedup.h"
#include "agent/eventlog/event_classifier.h"
#include "agent/eventlog/event_xml.h"

namespace pkiwatch {
namespace {

using eventlog::ClassifyEvent;
using eventlog::EventResult;
using eventlog::ParsedEvent;
using eventlog::ParseEventXml;

std::optional<std::string> ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// The 4107 of the docs article as an Application-log record, or "".
std::string Record4107() {
  const std::optional<std::string> doc = ReadFile(
      std::filesystem::path(PKIWATCH_FIXTURES_DIR) /
      "events/docs/MicrosoftDocs-SupportArticles_event-id-4107-or-event-id-11-is-logged.txt");
  if (!doc) return {};
  const size_t start = doc->find("Failed extract of third-party root list");
  if (start == std::string::npos) return {};
  const std::string line = doc->substr(start, doc->find('\n', start) - start);
  const size_t lt = line.find('<'), gt = line.find('>'), err = line.find("with error: ");
  if (lt == std::string::npos || gt == std::string::npos || err == std::string::npos) return {};
  std::string error = line.substr(err + 12);
  while (!error.empty() && (error.back() == ' ' || error.back() == '\r')) error.pop_back();
  return "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
         "<Provider Name=\"Microsoft-Windows-CAPI2\" Guid=\"{5bbca4a8-b209-48dc-a8c7-"
         "b23d3e5216fb}\" EventSourceName=\"Microsoft-Windows-CAPI2\"/>"
         "<EventID Qualifiers=\"0\">4107</EventID><Version>0</Version><Level>2</Level>"
         "<Task>0</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords>"
         "<TimeCreated SystemTime=\"2024-01-01T10:00:00.000000000Z\"/>"
         "<EventRecordID>4711</EventRecordID><Correlation/>"
         "<Execution ProcessID=\"1144\" ThreadID=\"1564\"/><Channel>Application</Channel>"
         "<Computer>ComputerName</Computer><Security/></System><EventData><Data>" +
         Escape(line.substr(lt + 1, gt - lt - 1)) + "</Data><Data>" + Escape(error) +
         "</Data></EventData></Event>";
}

// The first CAPI2/Operational event 53 of the ShadowCopy set, or "".
std::string Record53() {
  const std::optional<std::string> text =
      ReadFile(std::filesystem::path(PKIWATCH_FIXTURES_DIR) /
               "events/omerbenamram-evtx/E_ShadowCopy6_Microsoft-Windows-CAPI2%4Operational.xml");
  if (!text) return {};
  for (std::string_view r : eventlog::SplitEventRecords(*text)) {
    if (r.find("<EventID>53</EventID>") != std::string_view::npos) return std::string(r);
  }
  return {};
}

void ParseClassifyDedup(benchmark::State& state, const std::string& xml) {
  if (xml.empty()) {
    state.SkipWithError("fixture not found under " PKIWATCH_FIXTURES_DIR "/events");
    return;
  }
  agent::EdgeDedup<EventResult> dedup;
  std::vector<agent::EdgeDedup<EventResult>::Emitted> out;
  agent::DedupTime t = agent::DedupTime(std::chrono::seconds(1700000000));
  int64_t n = 0;
  for (auto _ : state) {
    eventlog::Result<ParsedEvent> parsed = ParseEventXml(xml);
    if (!parsed.ok()) {
      state.SkipWithError(parsed.error().c_str());
      return;
    }
    EventResult r = ClassifyEvent(*parsed);
    t += std::chrono::milliseconds(1);  // 1,000 events per second of log time
    dedup.Add(r.pattern_key, t, std::move(r), out);
    if (++n % 1024 == 0) {
      dedup.Flush(t, out);
      out.clear();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["emitted"] = static_cast<double>(dedup.stats().emitted_first +
                                                  dedup.stats().emitted_summaries);
}

void BM_ParseClassifyDedup_4107(benchmark::State& state) {
  static const std::string xml = Record4107();
  ParseClassifyDedup(state, xml);
}
BENCHMARK(BM_ParseClassifyDedup_4107);

void BM_ParseClassifyDedup_Capi2Op53(benchmark::State& state) {
  static const std::string xml = Record53();
  ParseClassifyDedup(state, xml);
}
BENCHMARK(BM_ParseClassifyDedup_Capi2Op53);

void BM_Parse_4107(benchmark::State& state) {
  static const std::string xml = Record4107();
  if (xml.empty()) {
    state.SkipWithError("fixture not found");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(ParseEventXml(xml));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Parse_4107);

void BM_Classify_4107(benchmark::State& state) {
  static const std::string xml = Record4107();
  if (xml.empty()) {
    state.SkipWithError("fixture not found");
    return;
  }
  const eventlog::Result<ParsedEvent> parsed = ParseEventXml(xml);
  if (!parsed.ok()) {
    state.SkipWithError(parsed.error().c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(ClassifyEvent(*parsed));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Classify_4107);

// EdgeDedup alone, with `range(0)` distinct patterns in rotation.
void BM_DedupOnly(benchmark::State& state) {
  const int patterns = static_cast<int>(state.range(0));
  std::vector<std::string> keys;
  for (int i = 0; i < patterns; ++i) keys.push_back("Microsoft-Windows-CAPI2|4107|FAIL|" + std::to_string(i));
  agent::EdgeDedup<int> dedup;
  std::vector<agent::EdgeDedup<int>::Emitted> out;
  agent::DedupTime t = agent::DedupTime(std::chrono::seconds(1700000000));
  int64_t n = 0;
  for (auto _ : state) {
    t += std::chrono::milliseconds(1);
    dedup.Add(keys[n % patterns], t, 0, out);
    if (++n % 1024 == 0) {
      dedup.Flush(t, out);
      out.clear();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DedupOnly)->Arg(1)->Arg(1000)->Arg(20000);

}  // namespace
}  // namespace pkiwatch

BENCHMARK_MAIN();
