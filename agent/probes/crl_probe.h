// The CRL probe: fetches each configured CDP URL over HTTP(S) and judges the
// CRL the way a Windows client would (unreachable or expired -> the
// revocation server is offline, garbage -> ASN.1 error, ...).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/probes/http_fetch.h"
#include "agent/probes/probe.h"
#include "common/crl.h"
#include "common/openssl_util.h"
#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

// Limits for outside text copied into findings (always valid UTF-8 after).
inline constexpr size_t kCrlProbeMaxDetailBytes = 2048;  // error native detail
inline constexpr size_t kCrlProbeMaxNameBytes = 1024;    // names, URLs, summary
inline constexpr size_t kCrlProbeMaxContentTypeBytes = 256;

class CrlProbe : public Probe {
 public:
  // Validates every watch: the URL must normalize (NormalizeUrl) to http or
  // https, normalized URLs must be unique (they are the finding targets), and
  // issuer_cert_file, when set, must hold a PEM or DER certificate (loaded
  // now, not per run). Errors: InvalidArgument / NotFound naming the watch
  // index and the URL or file. No watches is valid (Run returns nothing).
  // `settings.expiry_warn_seconds` == 0 means 24 h.
  static absl::StatusOr<std::unique_ptr<CrlProbe>> Create(std::vector<v1::CrlWatch> watches,
                                                          const v1::CrlSettings& settings,
                                                          HttpOptions http);

  const ProbeInfo& info() const override { return kCrlProbeInfo; }

  // One finding per watch, in configuration order. URLs are fetched one
  // after the other, each within HttpOptions.total_timeout. The object is
  // immutable after Create, so Run may be called from several threads.
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override;

  // Normalized URLs, in configuration order.
  std::vector<std::string> targets() const;

 private:
  struct Target {
    std::string url;  // normalized
    X509Ptr issuer;   // may be null
  };

  CrlProbe(std::vector<Target> targets, absl::Duration expiry_warn, HttpOptions http)
      : targets_(std::move(targets)), expiry_warn_(expiry_warn), http_(std::move(http)) {}

  const std::vector<Target> targets_;
  const absl::Duration expiry_warn_;
  const HttpOptions http_;
};

// The pure part of the probe: turns one fetch of `normalized_url` into a
// finding (probe, target, observed_at = check.now, duration = fetch latency,
// status, error, dimensions, crl detail, summary):
//  - transport failure (curl)  -> FAIL CRYPT_E_REVOCATION_OFFLINE,
//                                 native detail "curl error <n>: <text>";
//                                 PROBE_ERROR E_FAIL for local curl failures
//                                 (init, out of memory, bad option);
//  - HTTP status not 2xx       -> FAIL CRYPT_E_REVOCATION_OFFLINE,
//                                 native detail "HTTP <status> from <url>";
//  - body is not a CRL         -> FAIL CRYPT_E_ASN1_BADTAG, OpenSSL's text;
//  - otherwise EvaluateCrl(crl, check).
// dimensions.ca / ca_key_id come from the CRL (issuer, AKI) when it parsed,
// else from check.issuer (subject, SKI) when one is configured, so that a
// dead CDP is still attributed to its CA. Thread-safe; never throws.
v1::Finding MakeCrlFinding(std::string_view normalized_url, const HttpResult& fetch,
                           const CrlCheckOptions& check);

}  // namespace pkiwatch
