#include "agent/win/event_log.h"

#include <atomic>
#include <string>
#include <vector>

#include "agent/win/files.h"
#include "agent/win/strings.h"
#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

// wine implements the event log API as stubs: every call must come back as
// a clean error naming the API - no crash, no hang. On Windows the same
// calls succeed.
TEST(EventLogTest, QueryReturnsEventsOrACleanError) {
  auto events = QueryEventXml("Application", "*", 5, /*newest_first=*/true);
  if (testing::RunningUnderWine()) {
    ASSERT_FALSE(events.ok());
    EXPECT_NE(events.status().hresult(), 0u);
    EXPECT_EQ(events.status().message().rfind("Evt", 0), 0u) << events.status().message();
    EXPECT_NE(events.status().message().find("(Application)"), std::string::npos);
    return;
  }
  ASSERT_TRUE(events.ok()) << events.status().message();
  EXPECT_LE(events->size(), 5u);
  for (const std::string& xml : *events) EXPECT_NE(xml.find("<Event"), std::string::npos);
}

TEST(EventLogTest, SubscribeStartsOrFailsCleanly) {
  const std::string bookmark = testing::WinePath(PKIWATCH_WIN_TEST_DIR) + "-" +
                               testing::UniqueName("bookmark") + ".xml";
  std::atomic<int> delivered{0};
  EventSubscription::Options options;
  options.channel = "Application";
  options.xpath = "*[System[Provider[@Name='Microsoft-Windows-CAPI2']]]";
  options.bookmark_path = bookmark;
  options.max_backfill = 10;
  auto subscription =
      EventSubscription::Start(options, [&](std::string xml) { delivered.fetch_add(1); });
  if (testing::RunningUnderWine()) {
    ASSERT_FALSE(subscription.ok());
    EXPECT_NE(subscription.status().hresult(), 0u);
    EXPECT_EQ(subscription.status().message().rfind("Evt", 0), 0u)
        << subscription.status().message();
    EXPECT_EQ(delivered.load(), 0);
    // A failed start writes no bookmark.
    EXPECT_EQ(ReadSmallFile(bookmark, 1 << 16).status().code(), StatusCode::kNotFound);
    return;
  }
  ASSERT_TRUE(subscription.ok()) << subscription.status().message();
  EXPECT_LE(delivered.load(), 10);
  EXPECT_TRUE((*subscription)->SaveBookmark().ok());
}

TEST(EvtxFileTest, MissingFileIsNotFound) {
  const std::string path = testing::WinePath(PKIWATCH_WIN_TEST_DIR) + "-" +
                           testing::UniqueName("missing") + ".evtx";
  int calls = 0;
  auto read = ReadEvtxFile(path, 10, [&](std::string) { return ++calls, true; });
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound) << read.status().message();
  EXPECT_EQ(read.status().hresult(), 0x80070002u) << read.status().message();
  EXPECT_EQ(read.status().message().rfind("GetFileAttributesW(" + path + "): 0x80070002", 0), 0u)
      << read.status().message();
  EXPECT_EQ(calls, 0);
}

TEST(EvtxFileTest, DirectoryIsInvalidArgument) {
  const std::string dir = testing::WinePath(PKIWATCH_FIXTURES_DIR);
  if (GetFileAttributesW(Utf8ToWide(dir).c_str()) == INVALID_FILE_ATTRIBUTES) {
    GTEST_SKIP() << "no fixtures directory " << dir;
  }
  auto read = ReadEvtxFile(dir, 10, [](std::string) { return true; });
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument) << read.status().message();
  EXPECT_NE(read.status().message().find("a directory"), std::string::npos)
      << read.status().message();
}

// A real export of Microsoft-Windows-CAPI2/Operational from the shared
// fixtures: read on Windows; under wine a clean error from the EvtQuery stub.
TEST(EvtxFileTest, ReadsAnExportedLogOrFailsCleanly) {
  const std::string path =
      testing::WinePath(PKIWATCH_FIXTURES_DIR) +
      "\\events\\omerbenamram-evtx\\E_Windows_Microsoft-Windows-CAPI2%4Operational.evtx";
  if (GetFileAttributesW(Utf8ToWide(path).c_str()) == INVALID_FILE_ATTRIBUTES) {
    GTEST_SKIP() << "fixture missing: " << path;
  }
  std::vector<std::string> records;
  auto read = ReadEvtxFile(path, 50, [&](std::string xml) {
    records.push_back(std::move(xml));
    return records.size() < 3;  // stop after three
  });
  if (testing::RunningUnderWine()) {
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().message().rfind("EvtQuery(" + path + "): ", 0), 0u)
        << read.status().message();
    EXPECT_TRUE(records.empty());
    return;
  }
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->delivered, 3u);
  ASSERT_EQ(records.size(), 3u);
  for (const std::string& xml : records) {
    EXPECT_NE(xml.find("Microsoft-Windows-CAPI2"), std::string::npos) << xml.substr(0, 300);
  }
  // Pulled one at a time, to the end (bounded by the file).
  auto file = EvtxFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  size_t count = 0;
  std::string xml;
  for (;;) {
    auto more = (*file)->Next(&xml);
    ASSERT_TRUE(more.ok()) << more.status().message();
    if (!*more) break;
    ++count;
  }
  EXPECT_GT(count, 3u);
  EXPECT_EQ((*file)->unrendered(), 0u) << (*file)->last_error();
}

TEST(EventLogTest, EnablingAnUnknownChannelIsAnErrorNamingIt) {
  auto changed = EnableChannel("pkiwatch-no-such-channel/Operational");
  ASSERT_FALSE(changed.ok());
  EXPECT_NE(changed.status().hresult(), 0u);
  EXPECT_EQ(changed.status().message().rfind("Evt", 0), 0u) << changed.status().message();
  EXPECT_NE(changed.status().message().find("pkiwatch-no-such-channel"), std::string::npos);
}

TEST(EventLogTest, UnknownChannelIsAnError) {
  auto events = QueryEventXml("pkiwatch-no-such-channel", "*", 5, true);
  ASSERT_FALSE(events.ok());
  EXPECT_NE(events.status().message().find("pkiwatch-no-such-channel"), std::string::npos);
}

}  // namespace
}  // namespace pkiwatch::win
