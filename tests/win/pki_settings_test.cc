#include "agent/win/pki_settings.h"

#include <map>
#include <string>

#include "agent/win/registry.h"
#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

// Each test removes exactly what it wrote (ctest RESOURCE_LOCK
// wine_hklm_policy keeps the diag end-to-end test out meanwhile).
class PkiSettingsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& [root, path, value] : written_) {
      auto key = RegistryKey::Open(root, path, /*write=*/true);
      if (key.ok()) {
        EXPECT_TRUE(key->DeleteValue(value).ok());
      }
    }
  }
  void Write(RegistryRoot root, std::string_view path, std::string_view value, uint32_t data) {
    auto key = RegistryKey::Create(root, path);
    ASSERT_TRUE(key.ok()) << key.status().message();
    ASSERT_TRUE(key->WriteDword(value, data).ok());
    written_.push_back({root, std::string(path), std::string(value)});
  }
  struct Written {
    RegistryRoot root;
    std::string path;
    std::string value;
  };
  std::vector<Written> written_;
};

const AePolicyReading* Find(const std::vector<AePolicyReading>& readings, bool user, bool policy) {
  for (const AePolicyReading& r : readings) {
    if ((r.scope != "machine") == user && r.from_group_policy == policy && r.ae_policy) return &r;
  }
  return nullptr;
}

TEST_F(PkiSettingsTest, ReadsUserPolicyFromTheUsersHive) {
  Write(RegistryRoot::kCurrentUser, kAutoEnrollmentPolicyPath, "AEPolicy", 7);
  const std::vector<AePolicyReading> readings = ReadAutoEnrollmentPolicies();
  ASSERT_GE(readings.size(), 4u);  // machine policy + local, and at least one user
  EXPECT_EQ(readings[0].scope, "machine");
  const AePolicyReading* user = Find(readings, /*user=*/true, /*policy=*/true);
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(*user->ae_policy, 7u);
  EXPECT_EQ(user->scope.rfind("S-1-5-", 0), 0u) << user->scope;
  EXPECT_EQ(user->key, "HKU\\" + user->scope + "\\" + std::string(kAutoEnrollmentPolicyPath));
  EXPECT_TRUE(user->status.ok());
}

TEST_F(PkiSettingsTest, ReadsMachinePolicyAndLocalValue) {
  Write(RegistryRoot::kLocalMachine, kAutoEnrollmentPolicyPath, "AEPolicy", 0x8000);
  Write(RegistryRoot::kLocalMachine, kAutoEnrollmentLocalPath, "AEPolicy", 1);
  const std::vector<AePolicyReading> readings = ReadAutoEnrollmentPolicies();
  const AePolicyReading* policy = Find(readings, /*user=*/false, /*policy=*/true);
  const AePolicyReading* local = Find(readings, /*user=*/false, /*policy=*/false);
  ASSERT_NE(policy, nullptr);
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(*policy->ae_policy, 0x8000u);
  EXPECT_EQ(*local->ae_policy, 1u);
}

TEST_F(PkiSettingsTest, WrongTypeFailsOnlyItsReading) {
  auto key = RegistryKey::Create(RegistryRoot::kLocalMachine, kAutoEnrollmentPolicyPath);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->WriteString("AEPolicy", "7").ok());
  written_.push_back({RegistryRoot::kLocalMachine, std::string(kAutoEnrollmentPolicyPath), "AEPolicy"});
  const std::vector<AePolicyReading> readings = ReadAutoEnrollmentPolicies();
  ASSERT_GE(readings.size(), 2u);
  EXPECT_FALSE(readings[0].status.ok());
  EXPECT_NE(readings[0].status.message().find("expected REG_DWORD"), std::string::npos);
  EXPECT_TRUE(readings[1].status.ok());
}

TEST_F(PkiSettingsTest, EnrollLogLevel) {
  Write(RegistryRoot::kLocalMachine, kAutoEnrollmentLocalPath, "LogLevel", 4);
  auto logging = ReadEnrollLogging();
  ASSERT_TRUE(logging.ok()) << logging.status().message();
  EXPECT_EQ(logging->log_level, std::optional<uint32_t>(4));
  EXPECT_FALSE(logging->ae_event_log_level.has_value());
}

TEST_F(PkiSettingsTest, AuthRootSettings) {
  Write(RegistryRoot::kLocalMachine, kAuthRootPolicyPath, "DisableRootAutoUpdate", 1);
  auto key = RegistryKey::Create(RegistryRoot::kLocalMachine, kAuthRootAutoUpdatePath);
  ASSERT_TRUE(key.ok());
  // 2024-01-01T00:00:00Z as FILETIME ticks, little-endian.
  const uint64_t ticks = (1704067200ull + 11644473600ull) * 10000000ull;
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(ticks >> (8 * i)));
  ASSERT_TRUE(key->WriteBinary("LastSyncTime", bytes).ok());
  written_.push_back({RegistryRoot::kLocalMachine, std::string(kAuthRootAutoUpdatePath), "LastSyncTime"});

  auto settings = ReadAuthRootSettings();
  ASSERT_TRUE(settings.ok()) << settings.status().message();
  EXPECT_EQ(settings->disable_root_auto_update, std::optional<uint32_t>(1));
  EXPECT_EQ(settings->last_sync_filetime, std::optional<uint64_t>(ticks));
}

TEST_F(PkiSettingsTest, AgentPolicyValuesAndTypeErrors) {
  auto key = RegistryKey::Create(RegistryRoot::kLocalMachine, kAgentPolicyPath);
  ASSERT_TRUE(key.ok());
  for (const char* name : {"Collector", "Site", "EnrollmentServices", "ProbeBudgetSeconds"}) {
    written_.push_back({RegistryRoot::kLocalMachine, std::string(kAgentPolicyPath), name});
  }
  ASSERT_TRUE(key->WriteString("Collector", "collector.corp.example:4443").ok());
  ASSERT_TRUE(key->WriteString("Site", "Berlin").ok());
  ASSERT_TRUE(key->WriteMultiString("EnrollmentServices",
                                    {"ca1.corp.example\\Corp Issuing CA 1", "ca2\\CA 2"})
                  .ok());
  ASSERT_TRUE(key->WriteString("ProbeBudgetSeconds", "soon").ok());  // wrong type

  auto policy = ReadAgentPolicy();
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  EXPECT_EQ(policy->collector, std::optional<std::string>("collector.corp.example:4443"));
  EXPECT_EQ(policy->site, std::optional<std::string>("Berlin"));
  ASSERT_EQ(policy->enrollment_services.size(), 2u);
  EXPECT_EQ(policy->enrollment_services[0], "ca1.corp.example\\Corp Issuing CA 1");
  EXPECT_FALSE(policy->probe_budget_seconds.has_value());
  ASSERT_EQ(policy->errors.size(), 1u);
  EXPECT_NE(policy->errors[0].find("ProbeBudgetSeconds has type REG_SZ"), std::string::npos);
}

TEST_F(PkiSettingsTest, AgentPolicyRawValues) {
  EXPECT_TRUE(RegistryKey::DeleteTree(RegistryRoot::kLocalMachine, "Software\\Policies\\pkiwatch").ok());
  auto key = RegistryKey::Create(RegistryRoot::kLocalMachine, kAgentPolicyPath);
  ASSERT_TRUE(key.ok());
  for (const char* name : {"Collector", "StateDir", "NdesUrls", "ProbeBudgetSeconds", "Unknown"}) {
    written_.push_back({RegistryRoot::kLocalMachine, std::string(kAgentPolicyPath), name});
  }
  ASSERT_TRUE(key->WriteString("Collector", "collector.corp.example:4443").ok());
  ASSERT_TRUE(key->WriteExpandString("StateDir", "%ProgramData%\\pkiwatch").ok());
  ASSERT_TRUE(key->WriteMultiString("NdesUrls", {"http://ndes1/certsrv/mscep/mscep.dll",
                                                 "http://ndes2/certsrv/mscep/mscep.dll"})
                  .ok());
  ASSERT_TRUE(key->WriteDword("ProbeBudgetSeconds", 90).ok());
  ASSERT_TRUE(key->WriteBinary("Unknown", {0xde, 0xad}).ok());

  auto values = ReadAgentPolicyValues();
  ASSERT_TRUE(values.ok()) << values.status().message();
  ASSERT_EQ(values->size(), 5u);
  std::map<std::string, RegistryValue> by_name;
  for (const RegistryValue& v : *values) by_name[v.name] = v;
  EXPECT_EQ(std::get<std::string>(by_name["Collector"].data), "collector.corp.example:4443");
  EXPECT_EQ(by_name["StateDir"].type, kRegExpandSz);
  const std::string state_dir = std::get<std::string>(by_name["StateDir"].data);
  EXPECT_EQ(state_dir.find('%'), std::string::npos) << state_dir;
  EXPECT_NE(state_dir.find(":\\"), std::string::npos) << state_dir;  // a drive path
  EXPECT_EQ(std::get<std::vector<std::string>>(by_name["NdesUrls"].data).size(), 2u);
  EXPECT_EQ(std::get<uint32_t>(by_name["ProbeBudgetSeconds"].data), 90u);
  EXPECT_EQ(by_name["Unknown"].type, kRegBinary);
  EXPECT_EQ(by_name["Unknown"].size, 2u);
}

TEST_F(PkiSettingsTest, AbsentAgentPolicyIsEmpty) {
  EXPECT_TRUE(RegistryKey::DeleteTree(RegistryRoot::kLocalMachine, "Software\\Policies\\pkiwatch").ok());
  auto policy = ReadAgentPolicy();
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->collector.has_value());
  EXPECT_TRUE(policy->errors.empty());
  auto values = ReadAgentPolicyValues();
  ASSERT_TRUE(values.ok()) << values.status().message();
  EXPECT_TRUE(values->empty());
}

}  // namespace
}  // namespace pkiwatch::win
