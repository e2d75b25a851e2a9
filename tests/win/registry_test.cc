#include "agent/win/registry.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = "Software\\pkiwatch-test\\" + testing::UniqueName("registry"); }
  void TearDown() override {
    EXPECT_TRUE(RegistryKey::DeleteTree(RegistryRoot::kCurrentUser, path_).ok());
  }
  std::string path_;
};

TEST_F(RegistryTest, WritesAndReadsEveryType) {
  auto key = RegistryKey::Create(RegistryRoot::kCurrentUser, path_);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->name(), "HKCU\\" + path_);
  ASSERT_TRUE(key->WriteDword("Dword", 0x8000).ok());
  ASSERT_TRUE(key->WriteString("String", "gr\xC3\xBC\xC3\x9F" "e").ok());  // non-ASCII UTF-8
  ASSERT_TRUE(key->WriteMultiString("Multi", {"one", "two", "drei"}).ok());
  ASSERT_TRUE(key->WriteBinary("Binary", {1, 2, 3, 0, 255}).ok());

  auto reopened = RegistryKey::Open(RegistryRoot::kCurrentUser, path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  auto dword = reopened->ReadDword("Dword");
  ASSERT_TRUE(dword.ok());
  EXPECT_EQ(*dword, std::optional<uint32_t>(0x8000));
  auto text = reopened->ReadString("String");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, std::optional<std::string>("gr\xC3\xBC\xC3\x9F" "e"));
  auto multi = reopened->ReadMultiString("Multi");
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(**multi, (std::vector<std::string>{"one", "two", "drei"}));
  auto binary = reopened->ReadBinary("Binary");
  ASSERT_TRUE(binary.ok());
  EXPECT_EQ(**binary, (std::vector<uint8_t>{1, 2, 3, 0, 255}));
  // A REG_SZ is accepted as a one-element list.
  auto single = reopened->ReadMultiString("String");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ((*single)->size(), 1u);
}

const RegistryValue* FindValue(const std::vector<RegistryValue>& values, std::string_view name) {
  for (const RegistryValue& v : values) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

TEST_F(RegistryTest, EnumeratesEveryValueDecoded) {
  auto key = RegistryKey::Create(RegistryRoot::kCurrentUser, path_);
  ASSERT_TRUE(key.ok()) << key.status().message();
  const std::string long_text(3000, 'x');  // larger than any first guess
  ASSERT_TRUE(key->WriteDword("Dword", 0xFFFFFFFF).ok());
  ASSERT_TRUE(key->WriteString("String", "gr\xC3\xBC\xC3\x9F" "e").ok());
  ASSERT_TRUE(key->WriteString("Long", long_text).ok());
  ASSERT_TRUE(key->WriteExpandString("Expand", "%SystemRoot%\\pkiwatch").ok());
  ASSERT_TRUE(key->WriteMultiString("Multi", {"one", "two"}).ok());
  ASSERT_TRUE(key->WriteBinary("Binary", {1, 2, 3}).ok());

  auto values = key->Values();
  ASSERT_TRUE(values.ok()) << values.status().message();
  EXPECT_EQ(values->size(), 6u);
  const RegistryValue* dword = FindValue(*values, "Dword");
  ASSERT_NE(dword, nullptr);
  EXPECT_EQ(dword->type, kRegDword);
  EXPECT_EQ(std::get<uint32_t>(dword->data), 0xFFFFFFFFu);
  const RegistryValue* text = FindValue(*values, "String");
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->type, kRegSz);
  EXPECT_EQ(std::get<std::string>(text->data), "gr\xC3\xBC\xC3\x9F" "e");
  const RegistryValue* long_value = FindValue(*values, "Long");
  ASSERT_NE(long_value, nullptr);
  EXPECT_EQ(std::get<std::string>(long_value->data), long_text);
  const RegistryValue* expand = FindValue(*values, "Expand");
  ASSERT_NE(expand, nullptr);
  EXPECT_EQ(expand->type, kRegExpandSz);
  const std::string expanded = std::get<std::string>(expand->data);
  EXPECT_EQ(expanded.find('%'), std::string::npos) << expanded;
  ASSERT_GT(expanded.size(), 9u);
  EXPECT_EQ(expanded.substr(expanded.size() - 9), "\\pkiwatch") << expanded;
  const RegistryValue* multi = FindValue(*values, "Multi");
  ASSERT_NE(multi, nullptr);
  EXPECT_EQ(multi->type, kRegMultiSz);
  EXPECT_EQ(std::get<std::vector<std::string>>(multi->data),
            (std::vector<std::string>{"one", "two"}));
  const RegistryValue* binary = FindValue(*values, "Binary");
  ASSERT_NE(binary, nullptr);
  EXPECT_EQ(binary->type, kRegBinary);
  EXPECT_EQ(binary->size, 3u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(binary->data));
}

TEST_F(RegistryTest, EnumerationIsBounded) {
  auto key = RegistryKey::Create(RegistryRoot::kCurrentUser, path_);
  ASSERT_TRUE(key.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(key->WriteDword("V" + std::to_string(i), i).ok());
  auto values = key->Values(/*max_values=*/2);
  ASSERT_FALSE(values.ok());
  EXPECT_NE(values.status().message().find("more than 2 values"), std::string::npos)
      << values.status().message();
  auto empty = RegistryKey::Create(RegistryRoot::kCurrentUser, path_ + "\\empty");
  ASSERT_TRUE(empty.ok());
  auto none = empty->Values();
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->empty());
}

TEST_F(RegistryTest, MissingValueIsEmptyNotAnError) {
  auto key = RegistryKey::Create(RegistryRoot::kCurrentUser, path_);
  ASSERT_TRUE(key.ok());
  auto value = key->ReadDword("Absent");
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_FALSE(value->has_value());
  EXPECT_TRUE(key->DeleteValue("Absent").ok());
}

TEST_F(RegistryTest, WrongTypeIsAnErrorNamingTheTypes) {
  auto key = RegistryKey::Create(RegistryRoot::kCurrentUser, path_);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->WriteString("AEPolicy", "7").ok());
  auto value = key->ReadDword("AEPolicy");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(value.status().message().find("AEPolicy has type REG_SZ (1), expected REG_DWORD"),
            std::string::npos)
      << value.status().message();
}

TEST_F(RegistryTest, MissingKeyIsNotFoundWithApiText) {
  auto key = RegistryKey::Open(RegistryRoot::kCurrentUser, path_ + "\\absent");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(key.status().message(), "RegOpenKeyExW(HKCU\\" + path_ +
                                        "\\absent): 0x80070002 ERROR_FILE_NOT_FOUND The system "
                                        "cannot find the file specified.");
}

TEST_F(RegistryTest, SubkeysAndDeleteTree) {
  ASSERT_TRUE(RegistryKey::Create(RegistryRoot::kCurrentUser, path_ + "\\a\\deep").ok());
  ASSERT_TRUE(RegistryKey::Create(RegistryRoot::kCurrentUser, path_ + "\\b").ok());
  auto key = RegistryKey::Open(RegistryRoot::kCurrentUser, path_);
  ASSERT_TRUE(key.ok());
  auto names = key->SubkeyNames();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 2u);
  ASSERT_TRUE(RegistryKey::DeleteTree(RegistryRoot::kCurrentUser, path_).ok());
  EXPECT_EQ(RegistryKey::Open(RegistryRoot::kCurrentUser, path_).status().code(),
            StatusCode::kNotFound);
  // Deleting what is gone is fine.
  EXPECT_TRUE(RegistryKey::DeleteTree(RegistryRoot::kCurrentUser, path_).ok());
}

TEST(RegistryRootTest, RefusesToDeleteARoot) {
  EXPECT_FALSE(RegistryKey::DeleteTree(RegistryRoot::kCurrentUser, "").ok());
}

}  // namespace
}  // namespace pkiwatch::win
