#include "agent/core/config.h"

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pkiwatch::agent {
namespace {

::testing::AssertionResult Contains(absl::string_view text, absl::string_view part) {
  if (absl::StrContains(text, part)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not contain \"" << part << "\"";
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()) << "cannot create a temp dir"; }

  // Writes `text` to a file in the temp dir and returns its path.
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream out(path, std::ios::binary);
    out << text;
    EXPECT_TRUE(out.good()) << "writing " << path;
    return path;
  }

  testing::ScopedTempDir dir_;
};

TEST_F(ConfigFileTest, LoadsValidJson) {
  const std::string path = Write("agent.json", R"({
    "collector": "collector.example:7443",
    "stateDir": "/var/lib/pkiwatch",
    "site": "branch-1",
    "crlWatches": [
      {"url": "http://pki.example/a.crl"},
      {"url": "http://pki.example/b.crl", "issuerCertFile": "/etc/ca.pem"}
    ],
    "schedules": [{"probe": "crl", "intervalSeconds": 60, "jitterSeconds": 5}],
    "http": {"connectTimeoutMs": 1000, "noProxy": true, "maxBodyBytes": "1048576"},
    "uplink": {"batch_max_findings": 100}
  })");
  absl::StatusOr<v1::AgentConfig> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->collector(), "collector.example:7443");
  EXPECT_EQ(config->state_dir(), "/var/lib/pkiwatch");
  EXPECT_EQ(config->site(), "branch-1");
  ASSERT_EQ(config->crl_watches_size(), 2);
  EXPECT_EQ(config->crl_watches(0).url(), "http://pki.example/a.crl");
  EXPECT_EQ(config->crl_watches(1).issuer_cert_file(), "/etc/ca.pem");
  ASSERT_EQ(config->schedules_size(), 1);
  EXPECT_EQ(config->schedules(0).interval_seconds(), 60u);
  EXPECT_EQ(config->http().connect_timeout_ms(), 1000u);
  EXPECT_TRUE(config->http().no_proxy());
  EXPECT_EQ(config->http().max_body_bytes(), 1048576u);
  // The proto field name is accepted as well as the lowerCamel JSON name.
  EXPECT_EQ(config->uplink().batch_max_findings(), 100u);
}

TEST_F(ConfigFileTest, EmptyObjectIsAnEmptyConfig) {
  absl::StatusOr<v1::AgentConfig> config = LoadConfigFile(Write("empty.json", "{}"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->collector(), "");
}

TEST_F(ConfigFileTest, UnknownFieldIsAnErrorNamingTheFile) {
  const std::string path =
      Write("typo.json", R"({"collector": "c:1", "colector": "c:2"})");
  absl::StatusOr<v1::AgentConfig> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(config.status().message(), path));
  EXPECT_TRUE(Contains(config.status().message(), "colector"));
}

TEST_F(ConfigFileTest, UnknownNestedFieldIsAnError) {
  const std::string path = Write("nested.json", R"({"http": {"timeout": 5}})");
  absl::StatusOr<v1::AgentConfig> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(config.status().message(), path));
}

TEST_F(ConfigFileTest, MalformedJsonIsAnError) {
  for (const char* text : {"{\"collector\": ", "not json", "[1, 2]",
                           "{\"schedules\": {\"probe\": 1}}",
                           "{\"http\": {\"connectTimeoutMs\": -5}}"}) {
    SCOPED_TRACE(text);
    const std::string path = Write("bad.json", text);
    absl::StatusOr<v1::AgentConfig> config = LoadConfigFile(path);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(config.status().message(), path));
  }
}

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  const std::string path = dir_.path() + "/absent.json";
  absl::StatusOr<v1::AgentConfig> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(config.status().message(), path));
}

TEST(ApplyDefaultsTest, FillsZeros) {
  v1::AgentConfig config;
  ApplyDefaults(&config);
  EXPECT_EQ(config.http().connect_timeout_ms(), 5000u);
  EXPECT_EQ(config.http().total_timeout_ms(), 20000u);
  EXPECT_EQ(config.http().max_body_bytes(), uint64_t{64} << 20);
  EXPECT_EQ(config.crl().expiry_warn_seconds(), 24u * 3600u);
  EXPECT_EQ(config.spool().max_findings(), 200000u);
  EXPECT_EQ(config.spool().max_bytes(), uint64_t{256} << 20);
  EXPECT_EQ(config.uplink().batch_max_findings(), 500u);
  EXPECT_EQ(config.uplink().max_inflight_batches(), 4u);
  EXPECT_EQ(config.uplink().backoff_initial_ms(), 1000u);
  EXPECT_EQ(config.uplink().backoff_max_ms(), 60000u);
}

TEST(ApplyDefaultsTest, KeepsSetValues) {
  v1::AgentConfig config;
  config.set_collector("c:1");
  config.mutable_http()->set_connect_timeout_ms(1);
  config.mutable_http()->set_max_body_bytes(7);
  config.mutable_crl()->set_expiry_warn_seconds(60);
  config.mutable_spool()->set_max_findings(10);
  config.mutable_uplink()->set_batch_max_findings(20);
  config.mutable_uplink()->set_backoff_max_ms(3);
  ApplyDefaults(&config);
  EXPECT_EQ(config.collector(), "c:1");
  EXPECT_EQ(config.http().connect_timeout_ms(), 1u);
  EXPECT_EQ(config.http().max_body_bytes(), 7u);
  EXPECT_EQ(config.crl().expiry_warn_seconds(), 60u);
  EXPECT_EQ(config.spool().max_findings(), 10u);
  EXPECT_EQ(config.uplink().batch_max_findings(), 20u);
  EXPECT_EQ(config.uplink().backoff_max_ms(), 3u);
  // The unset neighbours still get their defaults.
  EXPECT_EQ(config.http().total_timeout_ms(), 20000u);
  EXPECT_EQ(config.spool().max_bytes(), uint64_t{256} << 20);
  EXPECT_EQ(config.uplink().backoff_initial_ms(), 1000u);

  // Applying twice changes nothing.
  v1::AgentConfig again = config;
  ApplyDefaults(&again);
  EXPECT_EQ(again.SerializeAsString(), config.SerializeAsString());
}

v1::AgentConfig MinimalValidConfig() {
  v1::AgentConfig config;
  config.set_collector("collector.example:7443");
  config.set_state_dir("/var/lib/pkiwatch");
  ApplyDefaults(&config);
  return config;
}

TEST(ValidateConfigTest, MinimalConfigIsValid) {
  EXPECT_TRUE(ValidateConfig(MinimalValidConfig()).ok())
      << ValidateConfig(MinimalValidConfig());
}

TEST(ValidateConfigTest, NoCollector) {
  v1::AgentConfig config = MinimalValidConfig();
  config.clear_collector();
  const absl::Status s = ValidateConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "collector"));
}

TEST(ValidateConfigTest, NoStateDir) {
  v1::AgentConfig config = MinimalValidConfig();
  config.clear_state_dir();
  const absl::Status s = ValidateConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "state-dir"));
}

TEST(ValidateConfigTest, BatchTooBig) {
  v1::AgentConfig config = MinimalValidConfig();
  config.mutable_uplink()->set_batch_max_findings(5000);
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config);
  config.mutable_uplink()->set_batch_max_findings(5001);
  const absl::Status s = ValidateConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "batch_max_findings"));
}

TEST(ValidateConfigTest, IntervalUnderTenSeconds) {
  v1::AgentConfig config = MinimalValidConfig();
  v1::ProbeSchedule* s = config.add_schedules();
  s->set_probe("crl");
  s->set_interval_seconds(10);
  EXPECT_TRUE(ValidateConfig(config).ok()) << ValidateConfig(config);
  s->set_interval_seconds(9);
  absl::Status status = ValidateConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "'crl'"));
  EXPECT_TRUE(Contains(status.message(), "interval"));
  // An unset interval (0) is not a valid schedule either.
  s->set_interval_seconds(0);
  EXPECT_EQ(ValidateConfig(config).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ScheduleForTest, DefaultWhenNotConfigured) {
  v1::AgentConfig config;
  v1::ProbeSchedule* other = config.add_schedules();
  other->set_probe("ocsp");
  other->set_interval_seconds(30);
  const v1::ProbeSchedule s = ScheduleFor(config, "crl");
  EXPECT_EQ(s.probe(), "crl");
  EXPECT_EQ(s.interval_seconds(), 15u * 60u);
  EXPECT_EQ(s.jitter_seconds(), 120u);
}

TEST(ScheduleForTest, ConfiguredScheduleWins) {
  v1::AgentConfig config;
  v1::ProbeSchedule* crl = config.add_schedules();
  crl->set_probe("crl");
  crl->set_interval_seconds(60);
  crl->set_jitter_seconds(0);
  const v1::ProbeSchedule s = ScheduleFor(config, "crl");
  EXPECT_EQ(s.probe(), "crl");
  EXPECT_EQ(s.interval_seconds(), 60u);
  EXPECT_EQ(s.jitter_seconds(), 0u);
}

}  // namespace
}  // namespace pkiwatch::agent
