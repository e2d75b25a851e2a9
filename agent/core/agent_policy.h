// The agent's Group Policy settings (deploy/windows/pkiwatch.admx: values
// under HKLM\Software\Policies\pkiwatch\Agent, read raw by
// win::ReadAgentPolicyValues) mapped onto its configuration. Pure and
// portable, so it is tested on Linux; the Windows agent applies it over the
// configuration file, before command-line flags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/win/registry_value.h"
#include "pkiwatch/v1/config.pb.h"

namespace pkiwatch::agent {

inline constexpr char kAgentPolicyKey[] = "HKLM\\Software\\Policies\\pkiwatch\\Agent";

struct AgentPolicyResult {
  // Names of the values applied, as the registry spells them, in order.
  std::vector<std::string> applied;
  // One line per value ignored (names no policy of the template uses).
  std::vector<std::string> warnings;
};

// Applies the policy `values` over `config`. Each policy value replaces its
// setting:
//   Collector, EnrollSecretFile, StateDir, Site  REG_SZ / REG_EXPAND_SZ
//   TlsCaFile -> uplink.tls_ca_file, Proxy -> http.proxy (clears
//   http.no_proxy), ClockReference -> clock.reference
//   CrlWatchUrls, EnrollmentServices, NdesUrls   REG_MULTI_SZ (a REG_SZ is
//     one entry) replacing crl_watches / enrollment_services / ndes; the
//     per-entry settings the file gives for the same URL or CA are kept
//     (issuer_cert_file, http_urls and rpc_port, check_admin)
//   ProbeBudgetSeconds                           REG_DWORD 10-3600
//   EnableCapi2Operational                       REG_DWORD 0 or 1
// Names are matched case-insensitively (as the registry does); text is
// trimmed of surrounding blanks. Every value is checked before anything
// changes: a wrong type, an empty value, an out-of-range number or a
// malformed entry (a Collector without port, a clock reference that does
// not parse, a CRL or NDES URL that is not http(s)://, a CA that is not
// "host\CA name") is InvalidArgument listing every bad value, and `config`
// is left untouched. Unknown names are ignored with a warning.
absl::StatusOr<AgentPolicyResult> ApplyAgentPolicy(const std::vector<win::RegistryValue>& values,
                                                   v1::AgentConfig* config);

}  // namespace pkiwatch::agent
