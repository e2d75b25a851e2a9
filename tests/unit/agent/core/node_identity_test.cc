#include "agent/core/node_identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pkiwatch::agent {
namespace {

class NodeIdentityFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()) << "cannot create a temp dir"; }

  std::string PathOf(const std::string& name) const { return dir_.path() + "/" + name; }

  static v1::NodeIdentity SampleIdentity() {
    v1::NodeIdentity identity;
    identity.set_node_id("6f1c2a7e-node");
    identity.set_node_key("c2VjcmV0IGtleSBcIiB3aXRoIHF1b3Rlcw==\"\\");
    identity.set_collector("collector.example:7443");
    identity.mutable_enrolled_at()->set_seconds(1767225600);
    identity.mutable_enrolled_at()->set_nanos(5000);
    return identity;
  }

  void WriteFile(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good()) << "writing " << path;
  }

  testing::ScopedTempDir dir_;
};

TEST_F(NodeIdentityFileTest, MissingFileLoadsAsNullopt) {
  NodeIdentityFile file(PathOf("identity.json"));
  absl::StatusOr<std::optional<v1::NodeIdentity>> loaded = file.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(NodeIdentityFileTest, SaveThenLoadRoundTrips) {
  NodeIdentityFile file(PathOf("identity.json"));
  EXPECT_EQ(file.path(), PathOf("identity.json"));
  const v1::NodeIdentity identity = SampleIdentity();
  ASSERT_TRUE(file.Save(identity).ok());

  absl::StatusOr<std::optional<v1::NodeIdentity>> loaded = file.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->SerializeAsString(), identity.SerializeAsString());
  // No temp file is left behind.
  EXPECT_NE(::access(PathOf("identity.json.tmp").c_str(), F_OK), 0);

  // Saving again replaces the content.
  v1::NodeIdentity second = identity;
  second.set_node_id("other-node");
  ASSERT_TRUE(file.Save(second).ok());
  loaded = file.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->node_id(), "other-node");
}

TEST_F(NodeIdentityFileTest, SavedFileHasMode0600) {
  const std::string path = PathOf("identity.json");
  // A wide umask must not matter, and neither must an existing file's mode.
  WriteFile(path, "{}");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  const mode_t old_umask = ::umask(0);
  const absl::Status saved = NodeIdentityFile(path).Save(SampleIdentity());
  ::umask(old_umask);
  ASSERT_TRUE(saved.ok()) << saved;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << std::oct << (st.st_mode & 07777);
}

TEST_F(NodeIdentityFileTest, LeftoverTempFileDoesNotWidenTheMode) {
  // A temp file left by an interrupted write (or made by someone else) with a
  // wider mode must not pass that mode on to the identity holding the key.
  const std::string path = PathOf("identity.json");
  WriteFile(path + ".tmp", "partial");
  ASSERT_EQ(::chmod((path + ".tmp").c_str(), 0644), 0);
  ASSERT_TRUE(NodeIdentityFile(path).Save(SampleIdentity()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << std::oct << (st.st_mode & 07777);
}

TEST_F(NodeIdentityFileTest, GarbageFileIsDataLoss) {
  const std::string path = PathOf("identity.json");
  for (const char* text : {"not json at all", "{\"nodeId\": 5", "",
                           "{\"nodeId\": \"n\"}",  // no key
                           "{\"nodeKey\": \"k\"}",  // no id
                           "{\"nodeId\": \"n\", \"nodeKey\": \"k\", \"extra\": 1}"}) {
    SCOPED_TRACE(text);
    WriteFile(path, text);
    absl::StatusOr<std::optional<v1::NodeIdentity>> loaded = NodeIdentityFile(path).Load();
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << loaded.status();
    EXPECT_TRUE(absl::StrContains(loaded.status().message(), path)) << loaded.status();
  }
}

TEST_F(NodeIdentityFileTest, MinimalHandWrittenFileLoads) {
  const std::string path = PathOf("identity.json");
  WriteFile(path, R"({"nodeId": "n1", "nodeKey": "k1"})");
  absl::StatusOr<std::optional<v1::NodeIdentity>> loaded = NodeIdentityFile(path).Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->node_id(), "n1");
  EXPECT_EQ((*loaded)->node_key(), "k1");
}

TEST_F(NodeIdentityFileTest, RemoveIsIdempotent) {
  NodeIdentityFile file(PathOf("identity.json"));
  EXPECT_TRUE(file.Remove().ok());  // nothing there yet
  ASSERT_TRUE(file.Save(SampleIdentity()).ok());
  EXPECT_TRUE(file.Remove().ok());
  EXPECT_TRUE(file.Remove().ok());
  absl::StatusOr<std::optional<v1::NodeIdentity>> loaded = file.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(NodeIdentityFileTest, SaveIntoMissingDirectoryFails) {
  NodeIdentityFile file(PathOf("no-such-dir/identity.json"));
  const absl::Status status = file.Save(SampleIdentity());
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "no-such-dir")) << status;
}

}  // namespace
}  // namespace pkiwatch::agent
