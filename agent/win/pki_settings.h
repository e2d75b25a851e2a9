// The registry settings that decide whether autoenrollment, automatic root
// updates and the agent itself are configured (DOMAIN.md, family C and A).
// Raw values only: decoding AEPolicy and judging them is portable code
// (agent/eventlog).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/win/registry_value.h"
#include "agent/win/status.h"

namespace pkiwatch::win {

// Group Policy writes the autoenrollment policy here (HKLM for the machine,
// each user's hive for users); the same path without "Policies" holds a
// locally configured value, and LogLevel / AEEventLogLevel.
inline constexpr std::string_view kAutoEnrollmentPolicyPath =
    "Software\\Policies\\Microsoft\\Cryptography\\AutoEnrollment";
inline constexpr std::string_view kAutoEnrollmentLocalPath =
    "Software\\Microsoft\\Cryptography\\AutoEnrollment";
inline constexpr std::string_view kAuthRootPolicyPath =
    "Software\\Policies\\Microsoft\\SystemCertificates\\AuthRoot";
inline constexpr std::string_view kAuthRootAutoUpdatePath =
    "Software\\Microsoft\\SystemCertificates\\AuthRoot\\AutoUpdate";
// The agent's own Group Policy settings (deploy/windows/pkiwatch.admx).
inline constexpr std::string_view kAgentPolicyPath = "Software\\Policies\\pkiwatch\\Agent";

struct AePolicyReading {
  std::string scope;               // "machine", or the user's SID
  std::string key;                 // e.g. "HKU\S-1-5-21-...\Software\Policies\..."
  bool from_group_policy = true;   // false: the local (non-policy) key
  std::optional<uint32_t> ae_policy;  // nullopt: key or value absent
  Status status;                   // why this one could not be read
};

// AEPolicy from the machine's policy and local keys, then from the policy
// and local keys of every loaded user hive (HKU\<SID>; the *_Classes hives
// and .DEFAULT, an alias of S-1-5-18, are skipped). Absent keys or values are
// readings without a value; a failure affects only its own reading (and a
// reading with scope "users" when HKU cannot be enumerated). Never empty.
std::vector<AePolicyReading> ReadAutoEnrollmentPolicies();

// Autoenrollment logging (HKLM\Software\Microsoft\Cryptography\AutoEnrollment,
// set by `certutil -setreg Enroll\LogLevel 4`): LogLevel 4 logs information
// events, AEEventLogLevel is the older setting.
struct EnrollLogging {
  std::optional<uint32_t> log_level;
  std::optional<uint32_t> ae_event_log_level;
};
StatusOr<EnrollLogging> ReadEnrollLogging();

// Automatic root certificate update (the source of CAPI2 event 4107).
struct AuthRootSettings {
  // Policy DisableRootAutoUpdate (1: automatic root update is off).
  std::optional<uint32_t> disable_root_auto_update;
  // AutoUpdate\LastSyncTime: FILETIME ticks of the last successful sync.
  std::optional<uint64_t> last_sync_filetime;
  // AutoUpdate\RootDirURL: an internal mirror for disconnected networks.
  std::optional<std::string> root_dir_url;
};
StatusOr<AuthRootSettings> ReadAuthRootSettings();

// The agent's settings from Group Policy (key kAgentPolicyPath under HKLM),
// typed, for pkiwatch-diag's overview. Unset values stay empty. A value with
// the wrong type is skipped and named in `errors`; an absent key is an empty
// policy, not an error.
struct AgentPolicy {
  std::optional<std::string> collector;           // Collector (REG_SZ, host:port)
  std::optional<std::string> enroll_secret_file;  // EnrollSecretFile
  std::optional<std::string> state_dir;           // StateDir
  std::optional<std::string> site;                // Site
  std::optional<std::string> tls_ca_file;         // TlsCaFile
  std::optional<std::string> proxy;               // Proxy
  std::optional<std::string> clock_reference;     // ClockReference
  std::vector<std::string> crl_watch_urls;        // CrlWatchUrls (REG_MULTI_SZ)
  std::vector<std::string> enrollment_services;   // EnrollmentServices ("host\CA name")
  std::vector<std::string> ndes_urls;             // NdesUrls
  std::optional<uint32_t> probe_budget_seconds;   // ProbeBudgetSeconds (REG_DWORD)
  std::optional<uint32_t> enable_capi2_operational;  // EnableCapi2Operational (REG_DWORD)
  std::vector<std::string> errors;
};
StatusOr<AgentPolicy> ReadAgentPolicy();

// Every value under HKLM\<kAgentPolicyPath>, raw (RegistryKey::Values):
// what the agent maps onto its configuration (agent/core/agent_policy.h),
// which also judges names, types and ranges. An absent key is no values.
StatusOr<std::vector<RegistryValue>> ReadAgentPolicyValues();

}  // namespace pkiwatch::win
