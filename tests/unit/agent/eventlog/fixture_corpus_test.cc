// Every real event record in the shared fixtures (events/**/*.xml) must parse
// and classify; counts per event id match fixtures/SOURCES.md; the records
// SOURCES.md calls out are classified as the domain says.

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/eventlog/event_classifier.h"
#include "agent/eventlog/event_xml.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/eventlog/fixture_files.h"

namespace pkiwatch::eventlog {
namespace {

using testing::EventsDir;
using testing::ReadFixture;

struct FileRecords {
  std::vector<ParsedEvent> events;
  std::vector<EventResult> results;
  std::map<uint32_t, int> per_id;
};

// Parses every record of a file; fails the test for any record that does
// not parse.
FileRecords ParseAll(const std::string& text, const std::string& name) {
  FileRecords out;
  const std::vector<std::string_view> records = SplitEventRecords(text);
  for (size_t i = 0; i < records.size(); ++i) {
    Result<ParsedEvent> r = ParseEventXml(records[i]);
    EXPECT_TRUE(r.ok()) << name << " record " << i << ": " << r.error();
    if (!r.ok()) continue;
    out.per_id[r->event_id]++;
    out.results.push_back(ClassifyEvent(*r));
    out.events.push_back(std::move(r).value());
  }
  return out;
}

#define LOAD_RECORDS(var, relative)                \
  PKIWATCH_LOAD_EVENT_FIXTURE(var##_text, relative); \
  const FileRecords var = ParseAll(var##_text, relative)

TEST(FixtureCorpus, EveryXmlRecordParsesAndClassifies) {
  const std::filesystem::path dir = EventsDir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "fixtures not found: " << dir;
  size_t files = 0, records = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".xml") continue;
    const std::optional<std::string> text = ReadFixture(entry.path());
    ASSERT_TRUE(text.has_value()) << entry.path();
    const FileRecords parsed = ParseAll(*text, entry.path().filename().string());
    EXPECT_FALSE(parsed.events.empty()) << entry.path();
    for (const EventResult& r : parsed.results) {
      EXPECT_FALSE(r.pattern_key.empty());
      EXPECT_LE(r.pattern_key.size(), kMaxPatternKeyBytes);
      EXPECT_FALSE(r.summary.empty());
    }
    ++files;
    records += parsed.events.size();
  }
  // 9 files: 2216 + 48 + 24 + 89 + 13 + 7 + 3 + 1 + 1 records.
  EXPECT_EQ(files, 9u);
  EXPECT_EQ(records, 2402u);
}

TEST(FixtureCorpus, Capi2OperationalWindowsSet) {
  LOAD_RECORDS(f, "omerbenamram-evtx/E_Windows_Microsoft-Windows-CAPI2%4Operational.xml");
  ASSERT_EQ(f.events.size(), 24u);
  const std::map<uint32_t, int> expected = {{10, 4}, {11, 3}, {30, 3}, {40, 3}, {41, 2}, {50, 1},
                                            {52, 2}, {53, 2}, {80, 1}, {81, 1}, {90, 2}};
  EXPECT_EQ(f.per_id, expected);
  for (const ParsedEvent& e : f.events) EXPECT_EQ(e.computer, "WIN-M5327EF98B9");

  // Records 7 and 13: chains with CERT_TRUST_REVOCATION_STATUS_UNKNOWN on the
  // PCA element (RevocationResult 80092012): a warning naming the issuer.
  int warnings = 0;
  for (const EventResult& r : f.results) {
    EXPECT_TRUE(r.pki_relevant);
    EXPECT_EQ(r.family, EventFamily::kCapi2);
    if (r.status == EventStatus::kOk) continue;
    ++warnings;
    EXPECT_EQ(r.status, EventStatus::kWarn) << r.summary;
    EXPECT_EQ(r.event_id, 11u);
    EXPECT_TRUE(r.record_id == 7 || r.record_id == 13) << r.record_id;
    EXPECT_EQ(r.hresult, 0x80092012u);
    EXPECT_EQ(r.ca, "Microsoft Root Authority");
    EXPECT_NE(r.detail.find("CERT_TRUST_REVOCATION_STATUS_UNKNOWN"), std::string::npos);
    EXPECT_EQ(r.context, EnrollContext::kUser);
  }
  EXPECT_EQ(warnings, 2);

  // Event 53: a successful CRL fetch with its URL, kind and issuer.
  const auto it = std::find_if(f.results.begin(), f.results.end(),
                               [](const EventResult& r) { return r.record_id == 5; });
  ASSERT_NE(it, f.results.end());
  EXPECT_EQ(it->event_id, 53u);
  EXPECT_EQ(it->status, EventStatus::kOk);
  EXPECT_EQ(it->url, "http://crl.microsoft.com/pki/crl/products/CSPCA.crl");
  EXPECT_EQ(it->url_kind, UrlKind::kCdp);
  EXPECT_EQ(it->ca, "Microsoft Code Signing PCA");
  EXPECT_NE(it->summary.find("HTTP/1.1 200 OK"), std::string::npos) << it->summary;
}

TEST(FixtureCorpus, Capi2OperationalShadowCopySet) {
  LOAD_RECORDS(f, "omerbenamram-evtx/E_ShadowCopy6_Microsoft-Windows-CAPI2%4Operational.xml");
  ASSERT_EQ(f.events.size(), 89u);
  const std::map<uint32_t, int> expected = {{10, 11}, {11, 11}, {30, 11}, {40, 15},
                                            {41, 14}, {50, 1},  {52, 5},  {53, 5},
                                            {80, 4},  {81, 4},  {82, 1},  {90, 7}};
  EXPECT_EQ(f.per_id, expected);
  std::set<std::string> hosts;
  for (const ParsedEvent& e : f.events) hosts.insert(e.computer);
  EXPECT_EQ(hosts, (std::set<std::string>{"BASE-WKSTN-05.shieldbase.lan", "MININT-AEA0ADI"}));

  // The five events 53 at Level 2 with Result 0 and a nested WriteToCache
  // error 80070002: a cache-write warning, not a URL failure.
  int level2 = 0;
  std::set<std::string> urls;
  for (size_t i = 0; i < f.events.size(); ++i) {
    const EventResult& r = f.results[i];
    if (f.events[i].event_id == 53) {
      EXPECT_EQ(f.events[i].level, 2u);
      ++level2;
      EXPECT_EQ(r.status, EventStatus::kWarn) << r.summary;
      EXPECT_EQ(r.hresult, 0x80070002u);
      EXPECT_EQ(r.error_text, "The system cannot find the file specified.");
      EXPECT_NE(r.detail.find("WriteToCache"), std::string::npos);
      EXPECT_EQ(r.url_kind, UrlKind::kCdp);
      EXPECT_EQ(r.url.rfind("http://", 0), 0u) << r.url;
      EXPECT_EQ(r.url.substr(r.url.size() - 4), ".crl") << r.url;
      EXPECT_NE(r.pattern_key.find("WriteToCache"), std::string::npos);
      urls.insert(r.url);
    } else {
      EXPECT_EQ(r.status, EventStatus::kOk) << r.summary;
    }
  }
  EXPECT_EQ(level2, 5);
  EXPECT_TRUE(urls.count(
      "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl"));
}

TEST(FixtureCorpus, DeepBlueCliCapi2Subset) {
  LOAD_RECORDS(f, "hayabusa-sample-evtx/DeepBlueCLI_many-events-application.CAPI2-only.xml");
  ASSERT_EQ(f.events.size(), 48u);
  const std::map<uint32_t, int> expected = {{4097, 26}, {4100, 9}, {4109, 6},
                                            {4111, 3},  {4112, 3}, {4108, 1}};
  EXPECT_EQ(f.per_id, expected);
  for (size_t i = 0; i < f.events.size(); ++i) {
    const ParsedEvent& e = f.events[i];
    const EventResult& r = f.results[i];
    ASSERT_TRUE(e.qualifiers.has_value());
    EXPECT_EQ(e.channel, "Application");
    EXPECT_TRUE(e.user_data_root.empty());
    EXPECT_EQ(r.family, EventFamily::kCapi2);
    EXPECT_EQ(r.status, EventStatus::kOk) << r.summary;
    if (e.event_id == 4100) {
      EXPECT_EQ(r.url_kind, UrlKind::kAuthroot);
      EXPECT_EQ(r.url.rfind("http://ctldl.windowsupdate.com/msdownload/update/v3/static/", 0), 0u)
          << r.url;
    }
    if (e.event_id == 4097) {
      EXPECT_FALSE(r.subject.empty());
      EXPECT_NE(r.summary.find("Successful auto update of third-party root certificate"),
                std::string::npos)
          << r.summary;
    }
  }
}

TEST(FixtureCorpus, DeepBlueCliWholeApplicationLog) {
  LOAD_RECORDS(f, "hayabusa-sample-evtx/DeepBlueCLI_many-events-application.xml");
  EXPECT_EQ(f.events.size(), 2216u);
  int capi2 = 0, relevant = 0;
  for (const EventResult& r : f.results) {
    capi2 += r.family == EventFamily::kCapi2;
    relevant += r.pki_relevant;
  }
  EXPECT_EQ(capi2, 48);
  EXPECT_EQ(relevant, 48);
}

TEST(FixtureCorpus, MitreSets) {
  LOAD_RECORDS(key, "hayabusa-sample-evtx/EVTX-to-MITRE-Attack_ID70-CAPI-Private_key_accessed_Mimikatz.xml");
  EXPECT_EQ(key.per_id, (std::map<uint32_t, int>{{70, 3}}));
  for (const EventResult& r : key.results) {
    EXPECT_EQ(r.status, EventStatus::kOk);
    EXPECT_EQ(r.subject, "wec02.offsec.lan");
  }
  LOAD_RECORDS(ocsp, "hayabusa-sample-evtx/EVTX-to-MITRE-Attack_ID4885_4876_4877_5123_5124-ADCS_PKI_OCSP.xml");
  EXPECT_EQ(ocsp.events.size(), 13u);
  LOAD_RECORDS(ocsp2, "hayabusa-sample-evtx/EVTX-to-MITRE-Attack_ID5124-OCSP_security_settings_changed.xml");
  EXPECT_EQ(ocsp2.events.size(), 7u);
  for (const FileRecords* set : {&ocsp, &ocsp2}) {
    for (const EventResult& r : set->results) EXPECT_FALSE(r.pki_relevant) << r.summary;
  }
}

// Cut and corrupted copies of a real record: errors or results, never a
// crash (deterministic mutations, bounded count).
TEST(FixtureCorpus, MutatedRecordsNeverCrash) {
  PKIWATCH_LOAD_EVENT_FIXTURE(text, "omerbenamram-evtx/E_Windows_Microsoft-Windows-CAPI2%4Operational.xml");
  const std::vector<std::string_view> records = SplitEventRecords(text);
  ASSERT_GT(records.size(), 6u);
  const std::string record(records[6]);  // event 11 with a full chain
  int parsed = 0, rejected = 0;
  for (size_t cut = 0; cut < record.size(); cut += 37) {
    const Result<ParsedEvent> r = ParseEventXml(std::string_view(record).substr(0, cut));
    if (r.ok()) {
      ClassifyEvent(*r);
      ++parsed;
    } else {
      ++rejected;
    }
  }
  uint32_t x = 7;
  for (int i = 0; i < 300; ++i) {
    std::string m = record;
    for (int k = 0; k < 4; ++k) {
      x = x * 1103515245u + 12345u;
      m[(x >> 8) % m.size()] = static_cast<char>(x >> 24);
    }
    const Result<ParsedEvent> r = ParseEventXml(m);
    if (r.ok()) {
      ClassifyEvent(*r);
      ++parsed;
    } else {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(parsed, 0);
}

TEST(FixtureCorpus, Capi2Event41RevocationOffline) {
  LOAD_RECORDS(f, "docs/github-notes_debugging-revocation-check_CAPI2-41_80092013.xml");
  ASSERT_EQ(f.events.size(), 1u);
  const EventResult& r = f.results[0];
  EXPECT_EQ(r.event_id, 41u);
  EXPECT_EQ(r.status, EventStatus::kFail);
  EXPECT_EQ(r.hresult, 0x80092013u);
  EXPECT_EQ(r.error_text,
            "The revocation function was unable to check revocation because the revocation "
            "server was offline.");
  EXPECT_EQ(r.subject, "*.google.com");
  EXPECT_EQ(r.ca, "GTS CA 1C3");
  EXPECT_NE(r.summary.find("CRYPT_E_REVOCATION_OFFLINE"), std::string::npos) << r.summary;
  ASSERT_TRUE(r.time_created.has_value());
  EXPECT_EQ(FormatEventTime(*r.time_created), "2023-11-27T02:07:57.5609376Z");
}

TEST(FixtureCorpus, Capi2Event30UntrustedRoot) {
  LOAD_RECORDS(f, "docs/MicrosoftDocs-SupportArticles_EOP-TenantAttribution_CAPI2-30_800B0109.xml");
  ASSERT_EQ(f.events.size(), 1u);
  const EventResult& r = f.results[0];
  EXPECT_EQ(r.event_id, 30u);
  EXPECT_EQ(r.status, EventStatus::kFail);
  EXPECT_EQ(r.hresult, 0x800B0109u);
  EXPECT_EQ(r.subject, "*.ServerName.com");
  EXPECT_NE(r.detail.find("CERT_CHAIN_POLICY_SSL"), std::string::npos);
  EXPECT_NE(r.summary.find("CERT_E_UNTRUSTEDROOT"), std::string::npos) << r.summary;
}

// The BetaHydri report keeps a CAPI2 event 30's UserData as a JSON string:
// wrap it into an event and check it is a successful SSL policy check.
TEST(FixtureCorpus, Capi2Event30FromJsonReport) {
  PKIWATCH_LOAD_EVENT_FIXTURE(json, "docs/BetaHydri-GetCapiCorrelationTask_quick_report_Events_CAPI2-30.json");
  std::string details = testing::Between(json, "<CertVerifyCertificateChainPolicy",
                                         "</CertVerifyCertificateChainPolicy>");
  ASSERT_FALSE(details.empty());
  details += "</CertVerifyCertificateChainPolicy>";
  // JSON string escapes used in the file.
  std::string xml;
  for (size_t i = 0; i < details.size(); ++i) {
    if (details[i] == '\\' && i + 1 < details.size()) {
      const char c = details[++i];
      xml += c == 'r' ? '\r' : c == 'n' ? '\n' : c;
    } else {
      xml += details[i];
    }
  }
  const std::string event =
      "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
      "<Provider Name=\"Microsoft-Windows-CAPI2\"/><EventID>30</EventID><Level>4</Level>"
      "<TimeCreated SystemTime=\"2025-12-10T10:14:10.7048398+01:00\"/>"
      "<Channel>Microsoft-Windows-CAPI2/Operational</Channel></System><UserData>" +
      xml + "</UserData></Event>";
  const Result<ParsedEvent> parsed = ParseEventXml(event);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const EventResult r = ClassifyEvent(*parsed);
  EXPECT_EQ(r.status, EventStatus::kOk) << r.summary;
  EXPECT_EQ(r.subject, "github.com");
  EXPECT_EQ(r.hresult, 0u);
}

}  // namespace
}  // namespace pkiwatch::eventlog
