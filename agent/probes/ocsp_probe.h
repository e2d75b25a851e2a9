// The OCSP probe ("ocsp"): asks the OCSP responder named in each watched
// certificate's AIA whether the certificate is good, and judges the answer
// like a careful client (common/ocsp.h).
//
// Targets: every (certificate, http/https OCSP URL) pair of the certificate
// folders, target "<thumbprint> <normalized URL>". Self-signed certificates
// and certificates past notAfter are left out (roots are not revocation
// checked; the chain probe reports expired certificates). The issuer must
// be in the folders or the trust bundle; when it is not, the target is a
// PROBE_ERROR (CERT_E_CHAINING: no request can be built without it).
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
#include "common/ocsp.h"
#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

struct OcspProbeOptions {
  bool nonce = false;
  bool require_nonce = false;
  // GET (RFC 6960 A.1) for requests of at most kMaxOcspGetRequestBytes, as
  // Windows does; POST application/ocsp-request otherwise.
  bool use_get = false;
  absl::Duration clock_tolerance = absl::Minutes(5);
  absl::Duration max_age = absl::Hours(24 * 7);
  absl::Duration next_update_warn = absl::ZeroDuration();
  absl::Duration signer_expiry_warn = absl::Hours(48);
};

// Zero fields keep the defaults above.
OcspProbeOptions OcspProbeOptionsFromSettings(const v1::OcspSettings& settings);

class OcspProbe : public Probe {
 public:
  // `budget`: wall time of one run (ProbeBudgetFromSeconds); targets not
  // started when it is spent get a PROBE_ERROR ERROR_TIMEOUT finding.
  static absl::StatusOr<std::unique_ptr<OcspProbe>> Create(std::unique_ptr<CertSource> source,
                                                           OcspProbeOptions options,
                                                           HttpOptions http, absl::Duration budget);

  const ProbeInfo& info() const override { return kOcspProbeInfo; }

  // One finding per target, in folder order; responders are asked one after
  // the other, each within HttpOptions.total_timeout, while the budget
  // lasts. Safe to call from one thread at a time per object.
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override;

 private:
  OcspProbe(std::unique_ptr<CertSource> source, OcspProbeOptions options, HttpOptions http,
            absl::Duration budget)
      : source_(std::move(source)), options_(options), http_(std::move(http)), budget_(budget) {}

  const std::unique_ptr<CertSource> source_;
  const OcspProbeOptions options_;
  const HttpOptions http_;
  const absl::Duration budget_;
};

// The pure part: one exchange with the responder at `normalized_url` for
// `cert` (facts) becomes a finding (probe, target, observed_at = check.now,
// dimensions url/url_kind OCSP/ca/ca_key_id/template, target_cert, ocsp
// detail, status, error, summary):
//  - transport failure (curl)  -> FAIL CRYPT_E_REVOCATION_OFFLINE with
//                                 "curl error <n>: <text>" (PROBE_ERROR for
//                                 local curl failures);
//  - HTTP status not 2xx       -> FAIL CRYPT_E_REVOCATION_OFFLINE with
//                                 "HTTP <status> from <url>";
//  - otherwise EvaluateOcspResponse(body, check).
// `method` is "POST" or "GET". Thread-safe.
v1::Finding MakeOcspFinding(const CertFacts& cert, std::string_view normalized_url,
                            std::string_view method, const HttpResult& fetch,
                            const OcspCheckOptions& check);

}  // namespace pkiwatch
