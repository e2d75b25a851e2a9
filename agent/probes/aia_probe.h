// The AIA probe ("aia"): fetches every AIA caIssuers URL of the watched
// certificates and checks that it serves the certificate's real issuer, the
// way a Windows client completes a chain whose intermediate it lacks.
//
// Targets: every (certificate, http/https caIssuers URL) pair of the
// certificate folders except self-signed certificates, target
// "<thumbprint> <normalized URL>". ldap:// URLs (the ADCS default) are left
// to the Windows-side checks.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/probes/cert_source.h"
#include "agent/probes/http_fetch.h"
#include "agent/probes/probe.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

struct AiaProbeOptions {
  // WARN when the served issuer certificate expires within this.
  absl::Duration expiry_warn = absl::Hours(24 * 30);
};

class AiaProbe : public Probe {
 public:
  // `budget`: wall time of one run (ProbeBudgetFromSeconds); targets not
  // started when it is spent get a PROBE_ERROR ERROR_TIMEOUT finding.
  static absl::StatusOr<std::unique_ptr<AiaProbe>> Create(std::unique_ptr<CertSource> source,
                                                          AiaProbeOptions options, HttpOptions http,
                                                          absl::Duration budget);

  const ProbeInfo& info() const override { return kAiaProbeInfo; }

  // One finding per target, in folder order; one URL after the other, each
  // within HttpOptions.total_timeout, while the budget lasts. Safe to call
  // from one thread at a time per object.
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override;

 private:
  AiaProbe(std::unique_ptr<CertSource> source, AiaProbeOptions options, HttpOptions http,
           absl::Duration budget)
      : source_(std::move(source)), options_(options), http_(std::move(http)), budget_(budget) {}

  const std::unique_ptr<CertSource> source_;
  const AiaProbeOptions options_;
  const HttpOptions http_;
  const absl::Duration budget_;
};

// The pure part: one fetch of the caIssuers URL of `cert` becomes a finding
// (dimensions url / url_kind AIA / ca / ca_key_id / template, target_cert):
//  - transport failure (curl)      -> FAIL CERT_E_CHAINING, "curl error <n>: <text>"
//                                     (PROBE_ERROR for local curl failures);
//  - HTTP status not 2xx           -> FAIL CERT_E_CHAINING, "HTTP <status> from <url>";
//  - neither a certificate nor
//    PKCS#7 certs-only             -> FAIL CRYPT_E_ASN1_BADTAG;
//  - no served certificate issued
//    `cert` (subject != issuer
//    name, SKI != AKI, or the
//    signature does not verify)    -> FAIL CERT_E_ISSUERCHAINING;
//  - the issuer is not a CA        -> FAIL CERT_E_ROLE;
//  - the issuer is outside its
//    validity at `now`             -> FAIL CERT_E_EXPIRED;
//  - it expires within expiry_warn -> WARN;
//  - otherwise OK.
// Unreachable is CERT_E_CHAINING, not CRYPT_E_REVOCATION_OFFLINE: a client
// that cannot download a missing intermediate ends with a partial chain
// ("A certificate chain could not be built to a trusted root authority");
// revocation servers are not involved. Thread-safe.
v1::Finding MakeAiaFinding(X509* cert, const CertFacts& facts, std::string_view normalized_url,
                           const HttpResult& fetch, absl::Time now, absl::Duration expiry_warn);

}  // namespace pkiwatch
