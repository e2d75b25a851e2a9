// The probe interface and the one place where every probe is declared (name,
// what it checks, the dimensions it fills, where it runs). Registration,
// `--list-probes`, the docs and the diag output all read this table.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

struct ProbeInfo {
  std::string_view name;        // Finding.probe, e.g. "crl"
  std::string_view checks;      // one line: what it checks
  std::string_view dimensions;  // Dimensions fields it fills, e.g. "url, ca"
  std::string_view platforms;   // "linux, windows"
};

struct ProbeContext {
  // Time the run was scheduled for. Probes evaluate validity against it and
  // stamp findings relative to it, so tests can run at a fixed time.
  absl::Time now;
};

class Probe {
 public:
  virtual ~Probe() = default;
  // One of the entries of AllProbeInfos(); static storage.
  virtual const ProbeInfo& info() const = 0;
  // One finding per target, in configuration order. Never throws; failures
  // of a target are findings (FAIL / PROBE_ERROR), not errors. Blocks for at
  // most the sum of the probe's per-target time budgets.
  virtual std::vector<v1::Finding> Run(const ProbeContext& ctx) = 0;
};

using ProbePtr = std::unique_ptr<Probe>;

// --- The declaration table. Add a probe here and nowhere else. ---

inline constexpr ProbeInfo kCrlProbeInfo{
    "crl",
    "fetches each configured CDP URL and checks the CRL: reachable, parses, issuer and "
    "signature, thisUpdate/nextUpdate (expired or expiring soon)",
    "url, url_kind (CDP or DELTA_CDP), ca, ca_key_id",
    "linux, windows",
};

inline constexpr ProbeInfo kNdesProbeInfo{
    "ndes",
    "asks each NDES/SCEP endpoint for GetCACaps and GetCACert, checks the CA and RA "
    "certificates for expiry, and (optionally) that /certsrv/mscep_admin/ answers without "
    "HTTP 500",
    "url, url_kind (NDES), ca, ca_key_id",
    "linux, windows",
};

inline constexpr ProbeInfo kCaEndpointProbeInfo{
    "ca_endpoint",
    "resolves each enterprise CA host, connects to its RPC endpoint mapper (TCP 135) and "
    "fetches its HTTP enrollment (CES / web enrollment) URLs",
    "ca (config string host\\CA name), url, url_kind (ENROLLMENT)",
    "linux, windows",
};

inline constexpr ProbeInfo kClockProbeInfo{
    "clock",
    "measures this host's clock offset against an NTP/SNTP reference (Kerberos fails "
    "beyond 5 minutes)",
    "none (target is the reference)",
    "linux",
};

// Part A: certificates from the configured folders (cert_dirs).
inline constexpr ProbeInfo kChainProbeInfo{
    "chain",
    "builds the chain of every certificate in the certificate folders to a trust anchor "
    "(intermediates from the folders or fetched from AIA caIssuers): untrusted root, "
    "missing issuer, bad signature, expired or expiring within 30 days",
    "ca, ca_key_id, template_name, template_oid, target_cert (target: thumbprint)",
    "linux, windows",
};

inline constexpr ProbeInfo kOcspProbeInfo{
    "ocsp",
    "asks the OCSP responder of every certificate with an AIA OCSP URL and a known issuer: "
    "reachable, response status, signature and responder authorization, CertID, "
    "good/revoked/unknown, thisUpdate/nextUpdate freshness, nonce",
    "url, url_kind (OCSP), ca, ca_key_id, template_name, template_oid, target_cert",
    "linux, windows",
};

inline constexpr ProbeInfo kAiaProbeInfo{
    "aia",
    "fetches every http(s) AIA caIssuers URL of the certificates in the folders and checks "
    "that it serves the real issuer (name, key identifier, signature) and that it is valid",
    "url, url_kind (AIA), ca, ca_key_id, template_name, template_oid, target_cert",
    "linux, windows",
};

// Event-log watcher of the Windows agent (agent/eventlog interprets, agent/win
// subscribes): one finding per event pattern, floods collapsed with a count.
inline constexpr ProbeInfo kEventLogProbeInfo{
    "eventlog",
    "watches CAPI2 (4107, Operational chain/revocation events), CertEnroll (86/87 SCEP/NDES, "
    "64/65), AutoEnrollment and CertificationAuthority events and reports failures",
    "url, url_kind, ca, template_name",
    "windows",
};

inline constexpr const ProbeInfo* kAllProbeInfos[] = {
    &kCrlProbeInfo,
    &kChainProbeInfo,
    &kOcspProbeInfo,
    &kAiaProbeInfo,
    &kNdesProbeInfo,
    &kCaEndpointProbeInfo,
    &kClockProbeInfo,
    &kEventLogProbeInfo,
};

// Every declared probe, in declaration order.
absl::Span<const ProbeInfo* const> AllProbeInfos();

// The entry named `name`, or nullptr.
const ProbeInfo* FindProbeInfo(std::string_view name);

// A plain-text table of AllProbeInfos() for `--list-probes` and the docs:
// one block per probe with name, platforms, dimensions and what it checks.
std::string FormatProbeTable();

}  // namespace pkiwatch
