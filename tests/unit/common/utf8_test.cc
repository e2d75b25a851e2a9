#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace pkiwatch {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";
constexpr char kEllipsis[] = "\xE2\x80\xA6";

TEST(IsValidUtf8Test, AcceptsWellFormed) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII"));
  EXPECT_TRUE(IsValidUtf8("Zertifikatsperrliste f\xC3\xBCr CA"));  // ü
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));                          // €
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x94\x92"));                      // U+1F512
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));                  // NUL is valid
}

TEST(IsValidUtf8Test, RejectsIllFormed) {
  const char* bad[] = {
      "\x80",              // lone continuation
      "\xC3",              // truncated
      "\xC0\xAF",          // overlong '/'
      "\xE0\x80\xAF",      // overlong
      "\xED\xA0\x80",      // surrogate U+D800
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "\xF5\x80\x80\x80",  // invalid lead
      "\xFF",
      "ok\xE2\x82",        // truncated at end
  };
  for (const char* s : bad) {
    EXPECT_FALSE(IsValidUtf8(s)) << ::testing::PrintToString(std::string(s));
  }
}

TEST(SanitizeUtf8Test, ReplacesIllFormedSequences) {
  EXPECT_EQ(SanitizeUtf8("abc", 100), "abc");
  EXPECT_EQ(SanitizeUtf8("a\xFF" "b", 100), std::string("a") + kFffd + "b");
  // Windows-1252 "für" as it arrives from a mis-decoded event.
  EXPECT_EQ(SanitizeUtf8("f\xFCr", 100), std::string("f") + kFffd + "r");
  // A truncated 3-byte sequence is one replacement (maximal subpart).
  EXPECT_EQ(SanitizeUtf8("x\xE2\x82y", 100), std::string("x") + kFffd + "y");
  // Surrogates: each byte that cannot start a sequence is replaced.
  std::string surrogate = SanitizeUtf8("\xED\xA0\x80", 100);
  EXPECT_TRUE(IsValidUtf8(surrogate));
  EXPECT_EQ(surrogate, std::string(kFffd) + kFffd + kFffd);
}

TEST(SanitizeUtf8Test, TruncatesAtCharacterBoundaryWithEllipsis) {
  EXPECT_EQ(SanitizeUtf8("abcdef", 6), "abcdef");
  EXPECT_EQ(SanitizeUtf8("abcdefg", 6), std::string("abc") + kEllipsis);
  // "ü" is 2 bytes: never split.
  std::string umlauts = "\xC3\xBC\xC3\xBC\xC3\xBC\xC3\xBC";  // üüüü
  std::string cut = SanitizeUtf8(umlauts, 6);
  EXPECT_TRUE(IsValidUtf8(cut));
  EXPECT_LE(cut.size(), 6u);
  EXPECT_EQ(cut, std::string("\xC3\xBC") + kEllipsis);
  cut = SanitizeUtf8(umlauts, 7);
  EXPECT_EQ(cut, std::string("\xC3\xBC\xC3\xBC") + kEllipsis);
  // Limits too small for the ellipsis: plain cut.
  EXPECT_EQ(SanitizeUtf8("abcdef", 2), "ab");
  EXPECT_EQ(SanitizeUtf8("abcdef", 0), "");
  // With room for the ellipsis, it replaces what does not fit around it.
  EXPECT_EQ(SanitizeUtf8("\xC3\xBC\xC3\xBC", 3), kEllipsis);
}

TEST(SanitizeUtf8Test, ArbitraryBytesAlwaysYieldValidBoundedOutput) {
  // Deterministic pseudo-random bytes (fixed LCG seed).
  uint32_t state = 12345;
  for (int round = 0; round < 200; ++round) {
    std::string input;
    for (int i = 0; i < 64; ++i) {
      state = state * 1103515245u + 12345u;
      input.push_back(static_cast<char>(state >> 24));
    }
    size_t limit = static_cast<size_t>(round % 70);
    std::string out = SanitizeUtf8(input, limit);
    EXPECT_TRUE(IsValidUtf8(out));
    EXPECT_LE(out.size(), limit);
  }
}

}  // namespace
}  // namespace pkiwatch
