#include "agent/core/event_file_reader.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/eventlog/event_xml.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pkiwatch::agent {
namespace {

namespace fs = std::filesystem;

const fs::path kEvents = fs::path(PKIWATCH_FIXTURES_DIR) / "events";

std::string Record(int id, const std::string& computer = "WS01") {
  return "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
         "<Provider Name=\"Microsoft-Windows-CAPI2\"/><EventID>11</EventID><Level>2</Level>"
         "<TimeCreated SystemTime=\"2026-01-02T03:04:05Z\"/><EventRecordID>" +
         std::to_string(id) + "</EventRecordID><Channel>Application</Channel><Computer>" +
         computer + "</Computer></System><EventData><Data>x\xC3\xA4</Data></EventData></Event>";
}

std::string Utf16Le(const std::string& ascii_or_utf8_latin, bool bom) {
  // The records above hold ASCII and one U+00E4 (C3 A4 in UTF-8).
  std::string out = bom ? std::string("\xFF\xFE") : std::string();
  for (size_t i = 0; i < ascii_or_utf8_latin.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(ascii_or_utf8_latin[i]);
    if (c == 0xC3) {
      c = static_cast<unsigned char>(0xC0 | (static_cast<unsigned char>(ascii_or_utf8_latin[++i]) & 0x3F));
    }
    out += static_cast<char>(c);
    out += '\0';
  }
  return out;
}

std::string Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

struct ReadAll {
  std::vector<std::string> records;
  uint64_t unreadable = 0;
  std::string description;
};

ReadAll Read(const std::string& path) {
  auto reader = EventFileReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  ReadAll all;
  if (!reader.ok()) return all;
  std::string xml;
  for (int guard = 0; guard < 1000000; ++guard) {
    auto more = (*reader)->Next(xml);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    all.records.push_back(xml);
  }
  all.unreadable = (*reader)->unreadable();
  all.description = (*reader)->Description();
  return all;
}

TEST(EventFileReader, BareSequenceAndWrappedExports) {
  testing::ScopedTempDir dir;
  // wevtutil without /e: records back to back, no root, no newlines.
  const ReadAll bare = Read(Write(dir.path(), "bare.xml", Record(1) + Record(2) + Record(3)));
  ASSERT_EQ(bare.records.size(), 3u);
  EXPECT_EQ(bare.records[1], Record(2));
  EXPECT_EQ(bare.description, "XML (UTF-8)");
  // With /e:Events and CRLF line ends, plus an XML declaration and a BOM.
  const ReadAll wrapped = Read(Write(dir.path(), "wrapped.xml",
                                     "\xEF\xBB\xBF<?xml version=\"1.0\"?>\r\n<Events>\r\n" +
                                         Record(1) + "\r\n" + Record(2) + "\r\n</Events>\r\n"));
  ASSERT_EQ(wrapped.records.size(), 2u);
  EXPECT_EQ(wrapped.records[0], Record(1));
}

TEST(EventFileReader, Utf16FromWindowsPowerShellRedirection) {
  testing::ScopedTempDir dir;
  const std::string text = "<Events>\r\n" + Record(7) + "\r\n" + Record(8) + "</Events>";
  for (bool bom : {true, false}) {
    const ReadAll all = Read(Write(dir.path(), bom ? "bom.xml" : "nobom.xml", Utf16Le(text, bom)));
    ASSERT_EQ(all.records.size(), 2u) << bom;
    EXPECT_EQ(all.records[0], Record(7));
    EXPECT_EQ(all.description, "XML (UTF-16LE)");
    auto parsed = eventlog::ParseEventXml(all.records[1]);
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    EXPECT_EQ(parsed->record_id, 8u);
    ASSERT_EQ(parsed->event_data.size(), 1u);
    EXPECT_EQ(parsed->event_data[0].value, "x\xC3\xA4");
  }
}

TEST(EventFileReader, RecordsAcrossChunkBoundariesArriveWhole) {
  // Several MiB, so records and UTF-16 code units straddle the 1 MiB reads.
  testing::ScopedTempDir dir;
  std::string text = "<Events>";
  const int kRecords = 20000;
  for (int i = 1; i <= kRecords; ++i) text += Record(i) + "\n";
  text += "</Events>";
  for (bool utf16 : {false, true}) {
    const ReadAll all =
        Read(Write(dir.path(), "big.xml", utf16 ? Utf16Le(text, true) : text));
    ASSERT_EQ(all.records.size(), static_cast<size_t>(kRecords)) << utf16;
    for (int i : {1, 5000, 13333, kRecords}) EXPECT_EQ(all.records[i - 1], Record(i)) << i;
    EXPECT_EQ(all.unreadable, 0u);
  }
}

TEST(EventFileReader, GarbageAndOversizedTextDoNotStopTheRead) {
  testing::ScopedTempDir dir;
  std::string junk(3 << 20, 'x');  // no </Event> for far longer than an event may be
  const ReadAll all =
      Read(Write(dir.path(), "junk.xml", Record(1) + "<Event>" + junk + Record(2)));
  ASSERT_GE(all.records.size(), 2u);
  EXPECT_EQ(all.records.front(), Record(1));
  EXPECT_EQ(all.records.back(), Record(2));
  EXPECT_GE(all.unreadable, 1u);

  // Binary noise: no records, no crash.
  std::string noise;
  for (int i = 0; i < 100000; ++i) noise += static_cast<char>((i * 7919) & 0xFF);
  EXPECT_TRUE(Read(Write(dir.path(), "noise.bin", noise)).records.empty());
  EXPECT_TRUE(Read(Write(dir.path(), "empty.xml", "")).records.empty());
}

TEST(EventFileReader, MissingAndBrokenEvtxFiles) {
  testing::ScopedTempDir dir;
  EXPECT_EQ(EventFileReader::Open(dir.path() + "/absent.evtx").status().code(),
            absl::StatusCode::kNotFound);
  // The signature, then nothing an .evtx holds.
  auto broken = EventFileReader::Open(
      Write(dir.path(), "broken.evtx", std::string("ElfFile\0", 8) + std::string(5000, '\x11')));
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kFailedPrecondition) << broken.status();

  // A truncated copy of a real log: the records of its complete chunks.
  const fs::path real = kEvents / "omerbenamram-evtx/E_Windows_Microsoft-Windows-CAPI2%4Operational.evtx";
  if (!fs::exists(real)) GTEST_SKIP() << "fixture not found: " << real;
  std::ifstream in(real, std::ios::binary);
  std::string head(70000, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const ReadAll truncated = Read(Write(dir.path(), "truncated.evtx", head));
  EXPECT_EQ(truncated.description, "evtx, damaged");
  EXPECT_GT(truncated.records.size(), 10u);
  EXPECT_LT(truncated.records.size(), 340u);
}

// The real .evtx logs against their evtxexport renderings.
TEST(EventFileReader, RealEvtxFilesMatchTheirXmlRenderings) {
  struct Log {
    const char* name;
    size_t xml_records;   // rendered by evtxexport, per fixtures/SOURCES.md
    size_t all_records;   // in the file's chunks (evtxinfo)
  };
  const Log logs[] = {
      {"hayabusa-sample-evtx/DeepBlueCLI_many-events-application", 2216, 2216},
      {"hayabusa-sample-evtx/EVTX-to-MITRE-Attack_ID4885_4876_4877_5123_5124-ADCS_PKI_OCSP", 13, 13},
      {"hayabusa-sample-evtx/EVTX-to-MITRE-Attack_ID5124-OCSP_security_settings_changed", 7, 7},
      {"hayabusa-sample-evtx/EVTX-to-MITRE-Attack_ID70-CAPI-Private_key_accessed_Mimikatz", 3, 3},
      {"omerbenamram-evtx/E_ShadowCopy6_Microsoft-Windows-CAPI2%4Operational", 89, 459},
      {"omerbenamram-evtx/E_Windows_Microsoft-Windows-CAPI2%4Operational", 24, 340},
  };
  for (const Log& log : logs) {
    const fs::path evtx = kEvents / (std::string(log.name) + ".evtx");
    if (!fs::exists(evtx)) GTEST_SKIP() << "fixture not found: " << evtx;
    const ReadAll binary = Read(evtx.string());
    const ReadAll text = Read((kEvents / (std::string(log.name) + ".xml")).string());
    EXPECT_EQ(binary.description.rfind("evtx", 0), 0u);  // copies of live logs count as damaged
    ASSERT_EQ(text.records.size(), log.xml_records) << log.name;
    // evtxexport stops at the first record it cannot render (the two
    // omerbenamram logs hold far more records than their renderings); this
    // reader skips such a record and goes on. Every rendered record is
    // there, the same.
    ASSERT_GE(binary.records.size(), text.records.size()) << log.name;
    for (size_t i = 0; i < text.records.size(); ++i) {
      auto a = eventlog::ParseEventXml(binary.records[i]);
      auto b = eventlog::ParseEventXml(text.records[i]);
      ASSERT_TRUE(a.ok() && b.ok()) << log.name << " #" << i;
      EXPECT_EQ(a->record_id, b->record_id);
      EXPECT_EQ(a->event_id, b->event_id);
      EXPECT_EQ(a->computer, b->computer);
      EXPECT_EQ(a->time_created, b->time_created);
      EXPECT_EQ(a->user_data.size(), b->user_data.size());
      EXPECT_EQ(a->event_data.size(), b->event_data.size());
    }
    EXPECT_EQ(binary.records.size() + binary.unreadable, log.all_records) << log.name;
    EXPECT_EQ(binary.unreadable > 0, log.all_records > log.xml_records) << log.name;
  }
}

}  // namespace
}  // namespace pkiwatch::agent
