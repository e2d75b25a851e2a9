#include "agent/win/template_extension.h"

#include <vector>

#include "gtest/gtest.h"

namespace pkiwatch::win {
namespace {

// SEQUENCE { OID 1.3.6.1.4.1.311.21.8.1111.2, INTEGER 100, INTEGER 4 }
const std::vector<uint8_t> kV2 = {0x30, 0x14, 0x06, 0x0C, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x82,
                                  0x37, 0x15, 0x08, 0x88, 0x57, 0x02, 0x02, 0x01, 0x64, 0x02,
                                  0x01, 0x04};

TEST(TemplateExtensionTest, DecodesV2) {
  auto ext = DecodeTemplateExtension(kV2);
  ASSERT_TRUE(ext.has_value());
  EXPECT_EQ(ext->oid, "1.3.6.1.4.1.311.21.8.1111.2");
  EXPECT_EQ(ext->major_version, 100u);
  EXPECT_EQ(ext->minor_version, std::optional<uint32_t>(4));
}

TEST(TemplateExtensionTest, MinorVersionIsOptional) {
  std::vector<uint8_t> der(kV2.begin(), kV2.end() - 3);
  der[1] = 0x11;
  auto ext = DecodeTemplateExtension(der);
  ASSERT_TRUE(ext.has_value());
  EXPECT_FALSE(ext->minor_version.has_value());
}

TEST(TemplateExtensionTest, RejectsMalformedInput) {
  EXPECT_FALSE(DecodeTemplateExtension({}).has_value());
  EXPECT_FALSE(DecodeTemplateExtension({0x30}).has_value());
  EXPECT_FALSE(DecodeTemplateExtension({0x30, 0x00}).has_value());
  std::vector<uint8_t> truncated(kV2.begin(), kV2.end() - 1);
  EXPECT_FALSE(DecodeTemplateExtension(truncated).has_value());
  std::vector<uint8_t> trailing = kV2;
  trailing.push_back(0x00);
  EXPECT_FALSE(DecodeTemplateExtension(trailing).has_value());
  std::vector<uint8_t> negative = kV2;
  negative[18] = 0xFF;  // major version -1
  EXPECT_FALSE(DecodeTemplateExtension(negative).has_value());
  std::vector<uint8_t> unterminated_oid = kV2;
  unterminated_oid[15] = 0x88;  // last OID byte with the continuation bit
  EXPECT_FALSE(DecodeTemplateExtension(unterminated_oid).has_value());
  std::vector<uint8_t> long_length = {0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_FALSE(DecodeTemplateExtension(long_length).has_value());
}

TEST(TemplateNameExtensionTest, DecodesBmpAndOtherStrings) {
  EXPECT_EQ(DecodeTemplateNameExtension({0x1E, 0x04, 0x00, 0x4D, 0x00, 0xE4}),
            std::optional<std::string>("M\xC3\xA4"));
  EXPECT_EQ(DecodeTemplateNameExtension({0x0C, 0x02, 'D', 'C'}), std::optional<std::string>("DC"));
  EXPECT_FALSE(DecodeTemplateNameExtension({0x1E, 0x03, 0x00, 0x4D, 0x00}).has_value());
  EXPECT_FALSE(DecodeTemplateNameExtension({0x1E, 0x02, 0xDC, 0x00}).has_value());  // lone surrogate
  EXPECT_FALSE(DecodeTemplateNameExtension({0x04, 0x01, 0x00}).has_value());
}

}  // namespace
}  // namespace pkiwatch::win
