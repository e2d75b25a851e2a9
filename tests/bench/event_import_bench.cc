// Throughput of `pkiwatch-agent --import-events` without the network: read
// an export, parse, classify, fold floods and spool the findings per
// computer. Prints records/s for a written wevtutil-style export (UTF-8 and
// UTF-16) and for the real DeepBlueCLI .evtx (libevtx), when present.
//
// usage: event_import_bench [--records N] [--computers C]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "agent/core/event_import.h"
#include "tests/support/temp_dir.h"

namespace pkiwatch::agent {
namespace {

// Record i: one in 4 is a distinct CertEnroll 13 (template and CA differ by
// computer), the rest a 4107 flood; computers take turns.
std::string Record(int i, int computers) {
  const std::string computer = "WS" + std::to_string(i % computers) + ".corp.example";
  char time[40];
  std::snprintf(time, sizeof(time), "2026-03-01T%02d:%02d:%02d.%03dZ", (i / 3600000) % 24,
                (i / 60000) % 60, (i / 1000) % 60, i % 1000);
  std::string system = "<EventRecordID>" + std::to_string(i + 1) +
                       "</EventRecordID><TimeCreated SystemTime=\"" + time + "\"/><Computer>" +
                       computer + "</Computer>";
  if (i % 4 == 0) {
    return "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
           "<Provider Name=\"Microsoft-Windows-CertificateServicesClient-CertEnroll\"/>"
           "<EventID>13</EventID><Level>2</Level><Channel>Application</Channel>" + system +
           "</System><EventData><Data Name=\"Context\">Local system</Data>"
           "<Data Name=\"TemplateName\">Machine" + std::to_string(i % 7) + "</Data>"
           "<Data Name=\"CA\">ca01.corp.example\\Corp Issuing CA</Data>"
           "<Data Name=\"RequestId\">" + std::to_string(i) + "</Data>"
           "<Data Name=\"ErrorCode\">The RPC server is unavailable. 0x800706ba (WIN32: 1722 "
           "RPC_S_SERVER_UNAVAILABLE)</Data></EventData></Event>\r\n";
  }
  return "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
         "<Provider Name=\"Microsoft-Windows-CAPI2\" EventSourceName=\"Microsoft-Windows-CAPI2\"/>"
         "<EventID Qualifiers=\"0\">4107</EventID><Level>2</Level><Channel>Application</Channel>" +
         system +
         "</System><EventData><Data>http://ctldl.windowsupdate.com/msdownload/update/v3/static/"
         "trustedr/en/authrootstl.cab</Data><Data>A required certificate is not within its "
         "validity period when verifying against the current system clock or the timestamp in "
         "the signed file.</Data></EventData></Event>\r\n";
}

std::string ToUtf16Le(const std::string& ascii) {
  std::string out = "\xFF\xFE";
  for (char c : ascii) {
    out += c;
    out += '\0';
  }
  return out;
}

void Measure(const char* label, const std::string& file) {
  testing::ScopedTempDir state;
  EventImportOptions options;
  options.root = state.path() + "/imported";
  const auto start = std::chrono::steady_clock::now();
  auto report = ImportEventFile(file, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) {
    std::printf("  %-28s error: %s\n", label, std::string(report.status().message()).c_str());
    return;
  }
  std::printf("  %-28s %9llu records in %7.3f s  %10.0f records/s  -> %llu findings on %zu computers\n",
              label, static_cast<unsigned long long>(report->records), seconds,
              report->records / seconds, static_cast<unsigned long long>(report->findings),
              report->findings_by_computer.size());
}

int Run(int argc, char** argv) {
  int records = 200000, computers = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--records")) records = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--computers")) computers = std::atoi(argv[i + 1]);
  }
  if (records < 1 || computers < 1) {
    std::fprintf(stderr, "usage: %s [--records N] [--computers C]\n", argv[0]);
    return 2;
  }
  testing::ScopedTempDir dir;
  std::string text = "<Events>\r\n";
  for (int i = 0; i < records; ++i) text += Record(i, computers);
  text += "</Events>\r\n";
  const std::string utf8 = dir.path() + "/export-utf8.xml";
  const std::string utf16 = dir.path() + "/export-utf16.xml";
  std::ofstream(utf8, std::ios::binary) << text;
  std::ofstream(utf16, std::ios::binary) << ToUtf16Le(text);

  std::printf("event import (parse, classify, flood control, spool per computer):\n");
  Measure("wevtutil XML, UTF-8", utf8);
  Measure("wevtutil XML, UTF-16LE", utf16);
  const std::filesystem::path evtx = std::filesystem::path(PKIWATCH_FIXTURES_DIR) /
                                     "events/hayabusa-sample-evtx/DeepBlueCLI_many-events-application.evtx";
  if (std::filesystem::exists(evtx)) {
    Measure("DeepBlueCLI .evtx (real)", evtx.string());
  } else {
    std::printf("  (real .evtx not found at %s)\n", evtx.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace pkiwatch::agent

int main(int argc, char** argv) { return pkiwatch::agent::Run(argc, argv); }
