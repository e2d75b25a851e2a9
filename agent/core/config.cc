#include "agent/core/config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace pkiwatch::agent {
namespace {

// Sets `field` of `message` to `value` when it is unset (zero).
#define PKIWATCH_DEFAULT(message, field, value) \
  if ((message)->field() == 0) (message)->set_##field(value)

}  // namespace

absl::StatusOr<v1::AgentConfig> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  std::ostringstream text;
  text << in.rdbuf();
  v1::AgentConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), &config, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, ": ", std::string(status.message())));
  }
  return config;
}

void ApplyDefaults(v1::AgentConfig* config) {
  v1::HttpSettings* http = config->mutable_http();
  PKIWATCH_DEFAULT(http, connect_timeout_ms, 5000u);
  PKIWATCH_DEFAULT(http, total_timeout_ms, 20000u);
  PKIWATCH_DEFAULT(http, max_body_bytes, uint64_t{64} << 20);
  PKIWATCH_DEFAULT(config->mutable_crl(), expiry_warn_seconds, 24u * 3600u);
  PKIWATCH_DEFAULT(config->mutable_spool(), max_findings, uint64_t{200000});
  PKIWATCH_DEFAULT(config->mutable_spool(), max_bytes, uint64_t{256} << 20);
  v1::UplinkSettings* uplink = config->mutable_uplink();
  PKIWATCH_DEFAULT(uplink, batch_max_findings, 500u);
  PKIWATCH_DEFAULT(uplink, max_inflight_batches, 4u);
  PKIWATCH_DEFAULT(uplink, backoff_initial_ms, 1000u);
  PKIWATCH_DEFAULT(uplink, backoff_max_ms, 60000u);
#undef PKIWATCH_DEFAULT
}

absl::Status ValidateConfig(const v1::AgentConfig& config) {
  if (config.collector().empty()) {
    return absl::InvalidArgumentError("no collector address (--collector HOST:PORT)");
  }
  if (config.state_dir().empty()) {
    return absl::InvalidArgumentError("no state directory (--state-dir)");
  }
  if (config.uplink().batch_max_findings() > 5000) {
    return absl::InvalidArgumentError("uplink.batch_max_findings is at most 5000");
  }
  for (const v1::ProbeSchedule& s : config.schedules()) {
    if (s.interval_seconds() < 10) {
      return absl::InvalidArgumentError(
          absl::StrCat("schedule of probe '", s.probe(), "': interval under 10 s"));
    }
  }
  return absl::OkStatus();
}

v1::ProbeSchedule ScheduleFor(const v1::AgentConfig& config, std::string_view probe) {
  for (const v1::ProbeSchedule& s : config.schedules()) {
    if (s.probe() == probe) return s;
  }
  v1::ProbeSchedule s;
  s.set_probe(std::string(probe));
  s.set_interval_seconds(15 * 60);
  s.set_jitter_seconds(120);
  return s;
}

}  // namespace pkiwatch::agent
