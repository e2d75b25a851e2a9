#include "agent/win/event_log.h"

#include <atomic>
#include <string>

#include "agent/win/files.h"
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

TEST(EventLogTest, UnknownChannelIsAnError) {
  auto events = QueryEventXml("pkiwatch-no-such-channel", "*", 5, true);
  ASSERT_FALSE(events.ok());
  EXPECT_NE(events.status().message().find("pkiwatch-no-such-channel"), std::string::npos);
}

}  // namespace
}  // namespace pkiwatch::win
