#include "agent/eventlog/text_decoder.h"

#include <string>

#include "gtest/gtest.h"

namespace pkiwatch::eventlog {
namespace {

// "<E a='ä€😀'/>" in UTF-8: 1-, 2-, 3- and 4-byte characters.
const std::string kUtf8 = "<E a='\xC3\xA4\xE2\x82\xAC\xF0\x9F\x98\x80'/>";

std::string Utf16(const std::u16string& text, bool little_endian, bool bom) {
  std::string out;
  auto put = [&](char16_t u) {
    const char lo = static_cast<char>(u & 0xFF), hi = static_cast<char>(u >> 8);
    out += little_endian ? std::string{lo, hi} : std::string{hi, lo};
  };
  if (bom) put(0xFEFF);
  for (char16_t u : text) put(u);
  return out;
}

const std::u16string kUtf16Text = u"<E a='\u00E4\u20AC\U0001F600'/>";

TEST(DetectTextEncoding, ByteOrderMarksAndZeroBytes) {
  EXPECT_EQ(DetectTextEncoding("\xEF\xBB\xBF<").encoding, TextEncoding::kUtf8);
  EXPECT_EQ(DetectTextEncoding("\xEF\xBB\xBF<").bom_bytes, 3u);
  EXPECT_EQ(DetectTextEncoding("\xFF\xFE<").encoding, TextEncoding::kUtf16Le);
  EXPECT_EQ(DetectTextEncoding("\xFF\xFE<").bom_bytes, 2u);
  EXPECT_EQ(DetectTextEncoding("\xFE\xFF").encoding, TextEncoding::kUtf16Be);
  EXPECT_EQ(DetectTextEncoding(std::string("<\0E\0", 4)).encoding, TextEncoding::kUtf16Le);
  EXPECT_EQ(DetectTextEncoding(std::string("<\0E\0", 4)).bom_bytes, 0u);
  EXPECT_EQ(DetectTextEncoding(std::string("\0<\0E", 4)).encoding, TextEncoding::kUtf16Be);
  EXPECT_EQ(DetectTextEncoding("<Events>").encoding, TextEncoding::kUtf8);
  EXPECT_EQ(DetectTextEncoding("").encoding, TextEncoding::kUtf8);
  EXPECT_EQ(DetectTextEncoding(std::string("\0\0", 2)).encoding, TextEncoding::kUtf8);
}

TEST(ToUtf8Decoder, Utf16BothByteOrdersWithSurrogatePairs) {
  for (bool le : {true, false}) {
    const std::string bytes = Utf16(kUtf16Text, le, /*bom=*/false);
    ToUtf8Decoder decoder(le ? TextEncoding::kUtf16Le : TextEncoding::kUtf16Be);
    std::string out;
    decoder.Append(bytes, out);
    EXPECT_EQ(decoder.Finish(out), 0u);
    EXPECT_EQ(out, kUtf8) << (le ? "LE" : "BE");
  }
}

TEST(ToUtf8Decoder, EverySplitPointGivesTheSameText) {
  // Chunks may end inside a code unit or between the halves of a pair.
  const std::string bytes = Utf16(kUtf16Text, true, false);
  for (size_t split = 0; split <= bytes.size(); ++split) {
    ToUtf8Decoder decoder(TextEncoding::kUtf16Le);
    std::string out;
    decoder.Append(bytes.substr(0, split), out);
    decoder.Append(bytes.substr(split), out);
    EXPECT_EQ(decoder.Finish(out), 0u);
    EXPECT_EQ(out, kUtf8) << "split at " << split;
  }
}

TEST(ToUtf8Decoder, UnpairedSurrogatesAndOddBytesBecomeReplacementCharacters) {
  std::string out;
  ToUtf8Decoder lone_low(TextEncoding::kUtf16Le);
  lone_low.Append(Utf16(u"a\xDC00" u"b", true, false), out);
  EXPECT_EQ(lone_low.Finish(out), 1u);
  EXPECT_EQ(out, "a\xEF\xBF\xBD" "b");

  out.clear();
  ToUtf8Decoder high_then_text(TextEncoding::kUtf16Le);
  high_then_text.Append(Utf16(u"\xD83D" u"x", true, false), out);
  EXPECT_EQ(high_then_text.Finish(out), 1u);
  EXPECT_EQ(out, "\xEF\xBF\xBDx");

  out.clear();
  ToUtf8Decoder dangling(TextEncoding::kUtf16Le);
  dangling.Append(Utf16(u"ab", true, false) + "c", out);  // odd length
  EXPECT_EQ(dangling.Finish(out), 1u);
  EXPECT_EQ(out, "ab\xEF\xBF\xBD");

  out.clear();
  ToUtf8Decoder trailing_high(TextEncoding::kUtf16Be);
  trailing_high.Append(Utf16(u"z\xD800", false, false), out);
  EXPECT_EQ(trailing_high.Finish(out), 1u);
  EXPECT_EQ(out, "z\xEF\xBF\xBD");
}

TEST(ToUtf8Decoder, Utf8PassesThroughUnchanged) {
  const std::string invalid = kUtf8 + "\xFF\xC3";
  ToUtf8Decoder decoder(TextEncoding::kUtf8);
  std::string out;
  decoder.Append(invalid, out);
  EXPECT_EQ(decoder.Finish(out), 0u);
  EXPECT_EQ(out, invalid);
}

}  // namespace
}  // namespace pkiwatch::eventlog
