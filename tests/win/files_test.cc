#include "agent/win/files.h"

#include <string>

#include "agent/win/win32.h"
#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

std::string TestPath(const std::string& name) {
  return testing::WinePath(PKIWATCH_WIN_TEST_DIR) + "-" + testing::UniqueName(name);
}

// wine accepts a DACL but keeps only Unix mode bits, so what it reads back
// is its default DACL: the DACL checks need Windows.
bool KeepsDacls(const std::string& sddl) {
  return !testing::RunningUnderWine() || sddl.rfind("D:P", 0) == 0;
}

// A protected DACL with exactly SYSTEM and Administrators, full access.
void ExpectOnlySystemAndAdministrators(const std::string& sddl) {
  EXPECT_EQ(sddl.rfind("D:P", 0), 0u) << sddl;
  EXPECT_NE(sddl.find(";;;SY)"), std::string::npos) << sddl;
  EXPECT_NE(sddl.find(";;;BA)"), std::string::npos) << sddl;
  size_t aces = 0;
  for (char c : sddl) aces += c == '(' ? 1 : 0;
  EXPECT_EQ(aces, 2u) << sddl;
}

TEST(FilesTest, AtomicWriteAndRead) {
  const std::string path = TestPath("atomic");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, std::string("second\0binary", 13)).ok());
  auto data = ReadSmallFile(path, 1024);
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(*data, std::string("second\0binary", 13));
  EXPECT_EQ(ReadSmallFile(path + ".tmp", 1024).status().code(), StatusCode::kNotFound);

  auto too_big = ReadSmallFile(path, 4);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.status().message().find("13 bytes, limit 4"), std::string::npos);
  DeleteFileW(std::wstring(path.begin(), path.end()).c_str());
}

TEST(FilesTest, MissingFileIsNotFound) {
  auto data = ReadSmallFile(TestPath("absent"), 1024);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(data.status().message().rfind("CreateFileW(", 0), 0u);
}

TEST(FilesTest, RestrictsToSystemAndAdministrators) {
  const std::string path = TestPath("node-key");
  ASSERT_TRUE(WriteFileAtomically(path, "secret").ok());
  const Status restricted = RestrictToSystemAndAdministrators(path);
  ASSERT_TRUE(restricted.ok()) << restricted.message();
  auto sddl = GetDaclSddl(path);
  ASSERT_TRUE(sddl.ok()) << sddl.status().message();
  DeleteFileW(std::wstring(path.begin(), path.end()).c_str());
  if (!KeepsDacls(*sddl)) GTEST_SKIP() << "wine does not keep file DACLs; read back " << *sddl;
  ExpectOnlySystemAndAdministrators(*sddl);
}

TEST(FilesTest, PrivateFileIsWrittenRestricted) {
  const std::string path = TestPath("node-identity");
  ASSERT_TRUE(WritePrivateFileAtomically(path, "{\"nodeId\": \"a\"}").ok());
  ASSERT_TRUE(WritePrivateFileAtomically(path, "{\"nodeId\": \"b\"}").ok());
  auto data = ReadSmallFile(path, 1024);
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(*data, "{\"nodeId\": \"b\"}");
  EXPECT_EQ(ReadSmallFile(path + ".tmp", 1024).status().code(), StatusCode::kNotFound);
  auto sddl = GetDaclSddl(path);
  ASSERT_TRUE(sddl.ok()) << sddl.status().message();
  DeleteFileW(std::wstring(path.begin(), path.end()).c_str());
  if (!KeepsDacls(*sddl)) GTEST_SKIP() << "wine does not keep file DACLs; read back " << *sddl;
  ExpectOnlySystemAndAdministrators(*sddl);
}

TEST(FilesTest, PrivateFileInAMissingDirectoryFails) {
  const Status s = WritePrivateFileAtomically(TestPath("no-such-dir") + "\\x\\key.json", "k");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("CreateFileW(", 0), 0u) << s.message();
}

TEST(FilesTest, PrivateDirectoryIsCreatedOnceAndRestricted) {
  const std::string dir = TestPath("state");
  ASSERT_TRUE(EnsurePrivateDirectory(dir).ok());
  ASSERT_TRUE(EnsurePrivateDirectory(dir).ok());  // exists: fine
  ASSERT_TRUE(WritePrivateFileAtomically(dir + "\\node_identity.json", "{}").ok());
  auto sddl = GetDaclSddl(dir);
  ASSERT_TRUE(sddl.ok()) << sddl.status().message();
  // A file where the directory should be is an error, not a silent success.
  const std::string file = TestPath("state-file");
  ASSERT_TRUE(WriteFileAtomically(file, "x").ok());
  EXPECT_FALSE(EnsurePrivateDirectory(file).ok());
  DeleteFileW(std::wstring(file.begin(), file.end()).c_str());
  DeleteFileW(std::wstring(dir.begin(), dir.end()).append(L"\\node_identity.json").c_str());
  RemoveDirectoryW(std::wstring(dir.begin(), dir.end()).c_str());
  if (!KeepsDacls(*sddl)) GTEST_SKIP() << "wine does not keep DACLs; read back " << *sddl;
  ExpectOnlySystemAndAdministrators(*sddl);
}

TEST(FilesTest, ProgramDataAndOwnPath) {
  auto program_data = ProgramDataDirectory();
  ASSERT_TRUE(program_data.ok()) << program_data.status().message();
  EXPECT_NE(program_data->find(":\\"), std::string::npos) << *program_data;
  auto self = CurrentExecutablePath();
  ASSERT_TRUE(self.ok()) << self.status().message();
  EXPECT_NE(self->find("win_layer_test"), std::string::npos) << *self;
}

}  // namespace
}  // namespace pkiwatch::win
