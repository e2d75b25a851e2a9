// The NDES/SCEP probe: runs the checks of the CertEnroll event 86 guide
// against each configured NDES endpoint, the way a SCEP client starts
// (GetCACaps, GetCACert), and optionally the admin page of the NDES server.
// DOMAIN.md family B.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/probes/http_fetch.h"
#include "agent/probes/probe.h"
#include "agent/probes/probe_budget.h"
#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

// CA and RA certificates expiring within this window -> WARN.
inline constexpr absl::Duration kNdesCertExpiryWarn = absl::Hours(24 * 30);
// Limits for what a server can make us store.
inline constexpr int kNdesMaxCapabilities = 32;
inline constexpr size_t kNdesMaxCapabilityBytes = 64;
inline constexpr int kNdesMaxCertificates = 16;

// The SCEP request URLs of an endpoint (query appended with '?' or '&').
std::string NdesGetCaCapsUrl(std::string_view normalized_url);
std::string NdesGetCaCertUrl(std::string_view normalized_url);
// scheme://host[:port]/certsrv/mscep_admin/ of the endpoint's server.
std::string NdesAdminUrl(std::string_view normalized_url);

// GetCACaps body -> capability keywords: one per line, trimmed, empty lines
// dropped, at most kNdesMaxCapabilities of at most kNdesMaxCapabilityBytes
// each, one-line UTF-8.
std::vector<std::string> ParseCaCaps(std::string_view body);

// What one run fetched from one endpoint. GetCACert and the admin page are
// not tried when GetCACaps could not connect at all (same server).
struct NdesFetches {
  HttpResult get_ca_caps;
  std::optional<HttpResult> get_ca_cert;
  std::optional<HttpResult> admin;  // set when checked
  std::string admin_url;
  bool admin_requested = false;
};

// The pure part: the fetches of `normalized_url` -> one finding (target and
// dimensions.url = the URL, url_kind NDES, dimensions.ca / ca_key_id = the
// issuing CA's subject and SKI, ndes detail, target_cert = the certificate
// that expires first). Each check yields OK / WARN / FAIL / PROBE_ERROR; the
// finding takes the worst (FAIL > PROBE_ERROR > WARN > OK) and the error of
// the first check with that status:
//  - transport failure -> FAIL WinHttpHresultForCurl (ERROR_WINHTTP_*, as
//    event 86 shows them); local curl failure -> PROBE_ERROR;
//  - GetCACaps / GetCACert: HTTP 401/403 -> FAIL E_ACCESSDENIED (anonymous
//    authentication off on /certsrv/mscep); other non-2xx -> FAIL E_FAIL
//    with the status (winerror.h has no HTTP_E_STATUS_*); an HTML page for
//    GetCACaps -> FAIL ERROR_WINHTTP_INVALID_SERVER_RESPONSE; no
//    capabilities -> WARN;
//  - GetCACert body neither PKCS#7 nor a certificate -> FAIL
//    CRYPT_E_ASN1_BADTAG; a CA or RA certificate expired or not yet valid ->
//    FAIL CERT_E_EXPIRED; expiring within kNdesCertExpiryWarn -> WARN; no RA
//    certificate in an x-x509-ca-ra-cert answer, or no CA certificate -> WARN;
//  - admin page: 401, 403 or 200 -> OK (it answers and protects itself; a
//    "password cache is full" page -> WARN); 404 -> WARN; 5xx -> FAIL E_FAIL
//    (application pool identity / NDES service account); other -> WARN.
// Thread-safe; never throws.
v1::Finding MakeNdesFinding(std::string_view normalized_url, const NdesFetches& fetches,
                            absl::Time now);

class NdesProbe : public Probe {
 public:
  // Every endpoint URL must normalize to http/https and be unique after
  // normalization. Errors: InvalidArgument naming ndes[i].url.
  static absl::StatusOr<std::unique_ptr<NdesProbe>> Create(
      std::vector<v1::NdesEndpoint> endpoints, HttpOptions http,
      absl::Duration budget = kDefaultProbeBudget);

  const ProbeInfo& info() const override { return kNdesProbeInfo; }

  // One finding per endpoint, in configuration order; up to three requests
  // each, every one bounded by HttpOptions.total_timeout. Endpoints not
  // started because the run budget was spent are PROBE_ERROR findings.
  // Immutable after Create; thread-safe.
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override;

  // Normalized URLs, in configuration order.
  std::vector<std::string> targets() const;

 private:
  struct Target {
    std::string url;  // normalized
    bool check_admin = false;
  };

  NdesProbe(std::vector<Target> targets, HttpOptions http, absl::Duration budget)
      : targets_(std::move(targets)), http_(std::move(http)), budget_(budget) {}

  const std::vector<Target> targets_;
  const HttpOptions http_;
  const absl::Duration budget_;
};

}  // namespace pkiwatch
