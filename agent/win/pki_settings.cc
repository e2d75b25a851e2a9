#include "agent/win/pki_settings.h"

#include <utility>

#include "agent/win/registry.h"

namespace pkiwatch::win {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Reads AEPolicy under root\prefix\path into a reading.
AePolicyReading ReadOne(RegistryRoot root, std::string scope, const std::string& prefix,
                        std::string_view path, bool from_group_policy) {
  AePolicyReading reading;
  reading.scope = std::move(scope);
  reading.from_group_policy = from_group_policy;
  const std::string full_path = prefix.empty() ? std::string(path) : prefix + "\\" + std::string(path);
  reading.key = std::string(RegistryRootName(root)) + "\\" + full_path;
  auto key = RegistryKey::Open(root, full_path);
  if (!key.ok()) {
    // An absent key means "not configured", which is a reading, not a failure.
    if (key.status().code() != StatusCode::kNotFound) reading.status = key.status();
    return reading;
  }
  auto value = key->ReadDword("AEPolicy");
  if (!value.ok()) {
    reading.status = value.status();
    return reading;
  }
  reading.ae_policy = *value;
  return reading;
}

// Reads one optional string/DWORD/multi-string value into `out`, recording a
// failure in `errors`.
template <typename T, typename Read>
void ReadInto(Read read, std::optional<T>* out, std::vector<std::string>* errors) {
  auto value = read();
  if (!value.ok()) {
    errors->push_back(value.status().message());
    return;
  }
  *out = std::move(*value);
}

}  // namespace

std::vector<AePolicyReading> ReadAutoEnrollmentPolicies() {
  std::vector<AePolicyReading> readings;
  readings.push_back(
      ReadOne(RegistryRoot::kLocalMachine, "machine", "", kAutoEnrollmentPolicyPath, true));
  readings.push_back(
      ReadOne(RegistryRoot::kLocalMachine, "machine", "", kAutoEnrollmentLocalPath, false));

  auto users = RegistryKey::Open(RegistryRoot::kUsers, "");
  StatusOr<std::vector<std::string>> sids =
      users.ok() ? users->SubkeyNames() : StatusOr<std::vector<std::string>>(users.status());
  if (!sids.ok()) {
    AePolicyReading failed;
    failed.scope = "users";
    failed.key = "HKU";
    failed.status = sids.status();
    readings.push_back(std::move(failed));
    return readings;
  }
  for (const std::string& sid : *sids) {
    if (EndsWith(sid, "_Classes") || sid == ".DEFAULT" || sid == ".Default") continue;
    readings.push_back(ReadOne(RegistryRoot::kUsers, sid, sid, kAutoEnrollmentPolicyPath, true));
    readings.push_back(ReadOne(RegistryRoot::kUsers, sid, sid, kAutoEnrollmentLocalPath, false));
  }
  return readings;
}

StatusOr<EnrollLogging> ReadEnrollLogging() {
  EnrollLogging logging;
  auto key = RegistryKey::Open(RegistryRoot::kLocalMachine, kAutoEnrollmentLocalPath);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound) return logging;
    return key.status();
  }
  auto level = key->ReadDword("LogLevel");
  if (!level.ok()) return level.status();
  logging.log_level = *level;
  auto old_level = key->ReadDword("AEEventLogLevel");
  if (!old_level.ok()) return old_level.status();
  logging.ae_event_log_level = *old_level;
  return logging;
}

StatusOr<AuthRootSettings> ReadAuthRootSettings() {
  AuthRootSettings settings;
  auto policy = RegistryKey::Open(RegistryRoot::kLocalMachine, kAuthRootPolicyPath);
  if (policy.ok()) {
    auto disabled = policy->ReadDword("DisableRootAutoUpdate");
    if (!disabled.ok()) return disabled.status();
    settings.disable_root_auto_update = *disabled;
  } else if (policy.status().code() != StatusCode::kNotFound) {
    return policy.status();
  }

  auto update = RegistryKey::Open(RegistryRoot::kLocalMachine, kAuthRootAutoUpdatePath);
  if (!update.ok()) {
    if (update.status().code() == StatusCode::kNotFound) return settings;
    return update.status();
  }
  auto last_sync = update->ReadBinary("LastSyncTime");
  if (!last_sync.ok()) return last_sync.status();
  if (last_sync->has_value()) {
    const std::vector<uint8_t>& bytes = **last_sync;
    if (bytes.size() != 8) {
      return Status::Error(0x8007000Du, update->name() + "\\LastSyncTime has " +
                                            std::to_string(bytes.size()) +
                                            " bytes, expected an 8-byte FILETIME");
    }
    uint64_t ticks = 0;
    for (int i = 7; i >= 0; --i) ticks = (ticks << 8) | bytes[static_cast<size_t>(i)];
    settings.last_sync_filetime = ticks;
  }
  auto root_dir = update->ReadString("RootDirURL");
  if (!root_dir.ok()) return root_dir.status();
  settings.root_dir_url = *root_dir;
  return settings;
}

StatusOr<AgentPolicy> ReadAgentPolicy() {
  AgentPolicy policy;
  auto key = RegistryKey::Open(RegistryRoot::kLocalMachine, kAgentPolicyPath);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound) return policy;
    return key.status();
  }
  const RegistryKey& k = *key;
  auto string_value = [&](std::string_view name, std::optional<std::string>* out) {
    ReadInto([&] { return k.ReadString(name); }, out, &policy.errors);
  };
  auto dword_value = [&](std::string_view name, std::optional<uint32_t>* out) {
    ReadInto([&] { return k.ReadDword(name); }, out, &policy.errors);
  };
  auto list_value = [&](std::string_view name, std::vector<std::string>* out) {
    std::optional<std::vector<std::string>> list;
    ReadInto([&] { return k.ReadMultiString(name); }, &list, &policy.errors);
    if (list.has_value()) *out = std::move(*list);
  };
  string_value("Collector", &policy.collector);
  string_value("EnrollSecretFile", &policy.enroll_secret_file);
  string_value("StateDir", &policy.state_dir);
  string_value("Site", &policy.site);
  string_value("TlsCaFile", &policy.tls_ca_file);
  string_value("Proxy", &policy.proxy);
  string_value("ClockReference", &policy.clock_reference);
  list_value("CrlWatchUrls", &policy.crl_watch_urls);
  list_value("EnrollmentServices", &policy.enrollment_services);
  list_value("NdesUrls", &policy.ndes_urls);
  dword_value("ProbeBudgetSeconds", &policy.probe_budget_seconds);
  dword_value("EnableCapi2Operational", &policy.enable_capi2_operational);
  return policy;
}

StatusOr<std::vector<RegistryValue>> ReadAgentPolicyValues() {
  auto key = RegistryKey::Open(RegistryRoot::kLocalMachine, kAgentPolicyPath);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound) return std::vector<RegistryValue>();
    return key.status();
  }
  return key->Values();
}

}  // namespace pkiwatch::win
