#include "agent/core/event_import.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "agent/core/imported_host.h"
#include "gtest/gtest.h"
#include "pkiwatch/v1/finding.pb.h"
#include "tests/support/temp_dir.h"

namespace pkiwatch::agent {
namespace {

namespace fs = std::filesystem;

// A classic Application-log CAPI2 4107 (the 4107 flood of DOMAIN.md) at
// second `second` after 10:00 on 2026-03-01.
std::string Event4107(const std::string& computer, uint64_t record, int second) {
  char time[64];
  std::snprintf(time, sizeof(time), "2026-03-01T%02d:%02d:%02d.5Z", 10 + second / 3600,
                (second / 60) % 60, second % 60);
  return "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
         "<Provider Name=\"Microsoft-Windows-CAPI2\" EventSourceName=\"Microsoft-Windows-CAPI2\"/>"
         "<EventID Qualifiers=\"0\">4107</EventID><Level>2</Level><TimeCreated SystemTime=\"" +
         std::string(time) + "\"/><EventRecordID>" + std::to_string(record) +
         "</EventRecordID><Channel>Application</Channel><Computer>" + computer +
         "</Computer></System><EventData>"
         "<Data>http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/"
         "authrootstl.cab</Data><Data>A required certificate is not within its validity period "
         "when verifying against the current system clock or the timestamp in the signed "
         "file.</Data></EventData></Event>";
}

std::string NotPki(const std::string& computer, uint64_t record) {
  return "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
         "<Provider Name=\"Service Control Manager\"/><EventID>7036</EventID><Level>4</Level>"
         "<TimeCreated SystemTime=\"2026-03-01T09:00:00Z\"/><EventRecordID>" +
         std::to_string(record) + "</EventRecordID><Channel>System</Channel><Computer>" +
         computer + "</Computer></System></Event>";
}

std::string WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Every finding spooled for `computer`.
std::vector<v1::Finding> Spooled(const std::string& root, const std::string& computer) {
  auto host = ImportedHost::Open(root, computer, {});
  EXPECT_TRUE(host.ok()) << host.status();
  std::vector<v1::Finding> out;
  if (!host.ok()) return out;
  auto entries = (*host)->spool().ReadAfter(0, 100000, 1 << 30);
  EXPECT_TRUE(entries.ok());
  for (const auto& e : *entries) {
    v1::Finding f;
    EXPECT_TRUE(f.ParseFromString(e.payload));
    out.push_back(f);
  }
  return out;
}

class EventImportTest : public ::testing::Test {
 protected:
  EventImportOptions Options() {
    EventImportOptions o;
    o.root = dir_.path() + "/imported";
    o.dedup.window = std::chrono::minutes(5);
    return o;
  }
  testing::ScopedTempDir dir_;
};

TEST_F(EventImportTest, FloodOf4107BecomesOneFindingPerWindowWithTheCount) {
  // 10,000 identical 4107s within 100 s on one computer, 3 on another, and
  // records of other providers.
  std::string text = "<Events>";
  for (int i = 0; i < 10000; ++i) text += Event4107("WS01.corp.example", 1000 + i, i / 100);
  for (int i = 0; i < 3; ++i) text += Event4107("ws02", 50 + i, i);
  text += NotPki("WS01.corp.example", 1) + NotPki("ws02", 2) + "</Events>";
  const std::string file = WriteFile(dir_.path() + "/flood.xml", text);

  auto report = ImportEventFile(file, Options());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records, 10005u);
  EXPECT_EQ(report->not_pki, 2u);
  EXPECT_EQ(report->malformed, 0u);
  EXPECT_EQ(report->findings, 4u);  // per computer: the first, then one summary
  EXPECT_EQ(report->suppressed, 9999u + 2u);
  EXPECT_EQ(report->findings_by_computer.at("WS01.corp.example"), 2u);
  EXPECT_EQ(report->findings_by_computer.at("ws02"), 2u);

  const std::vector<v1::Finding> ws01 = Spooled(Options().root, "WS01.corp.example");
  ASSERT_EQ(ws01.size(), 2u);
  uint64_t total = 0;
  for (const v1::Finding& f : ws01) {
    EXPECT_EQ(f.probe(), "eventlog");
    EXPECT_EQ(f.status(), v1::STATUS_FAIL);
    EXPECT_EQ(f.error().hresult(), 0x800B0101u);  // CERT_E_EXPIRED, from the text
    EXPECT_EQ(f.dimensions().url_kind(), v1::URL_KIND_AUTHROOT);
    total += f.event().count();
  }
  EXPECT_EQ(total, 10000u);
  // The records' own times: the first at 10:00:00.5, the last at 10:01:39.5.
  EXPECT_EQ(ws01[0].observed_at().seconds() % 86400, 10 * 3600);
  EXPECT_EQ(ws01[0].observed_at().nanos(), 500000000);
  EXPECT_EQ(ws01[1].event().last_seen().seconds() % 86400, 10 * 3600 + 99);
  EXPECT_EQ(ws01[1].event().count(), 9999u);
}

TEST_F(EventImportTest, ImportingTheSameRecordsAgainAddsNothing) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += Event4107("WS01", 1 + i, i * 600);  // one per 10 min
  const std::string first = WriteFile(dir_.path() + "/a.xml", text);
  auto a = ImportEventFile(first, Options());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->findings, 20u);

  // An overlapping later export: records 11-20 again and 21-25 new.
  std::string later;
  for (int i = 10; i < 25; ++i) later += Event4107("WS01", 1 + i, i * 600);
  auto b = ImportEventFile(WriteFile(dir_.path() + "/b.xml", later), Options());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->already_imported, 10u);
  EXPECT_EQ(b->findings, 5u);
  EXPECT_EQ(Spooled(Options().root, "WS01").size(), 25u);
}

TEST_F(EventImportTest, BadRecordsAreCountedAndTheRestImported) {
  const std::string text = Event4107("WS01", 1, 0) + "<Event><System></System></Event>" +
                           "<Event xmlns=\"urn:other\"><System/></Event>" +
                           "<Event>unterminated" + std::string(100, 'x');
  auto report = ImportEventFile(WriteFile(dir_.path() + "/bad.xml", text), Options());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records, 4u);
  EXPECT_EQ(report->malformed, 3u);
  EXPECT_EQ(report->findings, 1u);
  EXPECT_FALSE(report->first_error.empty());
  EXPECT_NE(FormatImportReport("bad.xml", *report).find("3 unreadable"), std::string::npos);
}

TEST_F(EventImportTest, ComputersBeyondTheLimitAreSkippedAndCounted) {
  std::string text;
  for (int c = 0; c < 5; ++c) text += Event4107("host" + std::to_string(c), 1, 0);
  EventImportOptions options = Options();
  options.max_computers = 3;
  auto report = ImportEventFile(WriteFile(dir_.path() + "/many.xml", text), options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->findings, 3u);
  EXPECT_EQ(report->over_computer_limit, 2u);
  EXPECT_EQ(report->findings_by_computer.size(), 3u);
}

TEST_F(EventImportTest, UnreadableFileIsAnError) {
  EXPECT_EQ(ImportEventFile(dir_.path() + "/absent.xml", Options()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ImportedHostDirName, SafeLowerCaseNames) {
  EXPECT_EQ(ImportedHostDirName("WS01.Corp.Example"), "ws01.corp.example");
  EXPECT_EQ(ImportedHostDirName("../../etc"), ".._.._etc");
  EXPECT_EQ(ImportedHostDirName(".."), kUnknownComputer);
  EXPECT_EQ(ImportedHostDirName(""), kUnknownComputer);
  EXPECT_EQ(ImportedHostDirName("a b/c\\d"), "a_b_c_d");
  EXPECT_EQ(ImportedHostDirName(std::string(1000, 'x')).size(), kMaxComputerNameBytes);
}

TEST(ImportedHost, FactsFromTheComputerName) {
  testing::ScopedTempDir dir;
  auto fqdn = ImportedHost::Open(dir.path(), "WS01.corp.example", {});
  ASSERT_TRUE(fqdn.ok()) << fqdn.status();
  const v1::HostFacts f = (*fqdn)->Facts("branch-7");
  EXPECT_EQ(f.hostname(), "WS01");
  EXPECT_EQ(f.fqdn(), "WS01.corp.example");
  EXPECT_EQ(f.domain(), "corp.example");
  EXPECT_EQ(f.site(), "branch-7");
  EXPECT_NE(f.agent_version().find("imported"), std::string::npos);
  // The same computer in another spelling shares the directory and keeps
  // the first name.
  fqdn->reset();
  auto again = ImportedHost::Open(dir.path(), "ws01.CORP.example", {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->computer(), "WS01.corp.example");
  auto all = ImportedHost::OpenAll(dir.path(), {});
  ASSERT_TRUE(all.ok());
  again->reset();
  EXPECT_EQ(all->size(), 1u);
}

}  // namespace
}  // namespace pkiwatch::agent
