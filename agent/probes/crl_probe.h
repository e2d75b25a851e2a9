// The CRL probe: fetches each configured CDP URL over HTTP(S) and judges the
// CRL the way a Windows client would (unreachable or expired -> the
// revocation server is offline, garbage -> ASN.1 error, ...).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/probes/http_fetch.h"
#include "agent/probes/probe.h"
#include "agent/probes/probe_budget.h"
#include "common/crl.h"
#include "common/openssl_util.h"
#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

// Limits for outside text copied into findings (always valid UTF-8 after).
inline constexpr size_t kCrlProbeMaxDetailBytes = 2048;  // error native detail
inline constexpr size_t kCrlProbeMaxNameBytes = 1024;    // names, URLs, summary
inline constexpr size_t kCrlProbeMaxContentTypeBytes = 256;
// Delta CRL URLs followed per base CRL (FreshestCRL may list several).
inline constexpr size_t kCrlProbeMaxDeltaUrls = 4;

class CrlProbe : public Probe {
 public:
  // Validates every watch: the URL must normalize (NormalizeUrl) to http or
  // https, normalized URLs must be unique (they are the finding targets), and
  // issuer_cert_file, when set, must hold a PEM or DER certificate (loaded
  // now, not per run). Errors: InvalidArgument / NotFound naming the watch
  // index and the URL or file. No watches is valid (Run returns nothing).
  // `settings.expiry_warn_seconds` == 0 means 24 h. `budget`: see RunBudget.
  static absl::StatusOr<std::unique_ptr<CrlProbe>> Create(
      std::vector<v1::CrlWatch> watches, const v1::CrlSettings& settings, HttpOptions http,
      absl::Duration budget = kDefaultProbeBudget);

  const ProbeInfo& info() const override { return kCrlProbeInfo; }

  // One finding per watch, in configuration order, each followed by one
  // finding per delta CRL URL (url_kind DELTA_CDP) that the base CRL names in
  // its FreshestCRL extension (http/https only, at most
  // kCrlProbeMaxDeltaUrls, configured watch URLs excluded; when the base CRL
  // cannot be read, the delta URLs of its last readable copy are checked).
  // A delta must be a delta CRL whose BaseCRLNumber equals the base CRL's
  // number: a newer base number -> FAIL CRYPT_E_REVOCATION_OFFLINE (the base
  // CDP serves a stale base, clients cannot use the delta), an older one ->
  // WARN (delta publication lags); a full CRL at a delta URL -> WARN.
  // The CRL number of each URL is remembered across runs of this object: a
  // lower number than before -> WARN (a stale copy is served; detail has
  // previous_crl_number). Only CRLs that did not FAIL are remembered.
  // URLs are fetched one after the other, each within
  // HttpOptions.total_timeout; no URL is started once the run budget is
  // spent (those become PROBE_ERROR findings). Thread-safe: the remembered
  // numbers are guarded by a mutex.
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override;

  // Normalized URLs, in configuration order.
  std::vector<std::string> targets() const;

 private:
  struct Target {
    std::string url;  // normalized
    X509Ptr issuer;   // may be null
  };

  struct SeenCrl {
    std::string number;  // decimal
    absl::Time this_update;
    absl::Time seen_at;
  };

  CrlProbe(std::vector<Target> targets, absl::Duration expiry_warn, HttpOptions http,
           absl::Duration budget)
      : targets_(std::move(targets)),
        expiry_warn_(expiry_warn),
        http_(std::move(http)),
        budget_(budget) {}

  // Compares the finding's CRL number with the one remembered for its URL
  // (downgrading to WARN when it went backwards) and remembers it.
  void TrackCrlNumber(const CrlInfo& info, absl::Time now, v1::Finding* finding);

  const std::vector<Target> targets_;
  const absl::Duration expiry_warn_;
  const HttpOptions http_;
  const absl::Duration budget_;

  absl::Mutex mu_;
  // Normalized URL -> the highest-numbered CRL seen there (or the latest
  // after a numbering reset, see TrackCrlNumber).
  std::map<std::string, SeenCrl> numbers_ ABSL_GUARDED_BY(mu_);
  // Base URL -> delta URLs named by its last readable CRL.
  std::map<std::string, std::vector<std::string>> delta_urls_ ABSL_GUARDED_BY(mu_);
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
//  - otherwise EvaluateCrl(crl, check), then: the CRL's authority key id
//    differs from the subject key id of check.issuer -> FAIL
//    CERT_E_ISSUERCHAINING (a Windows client looks for the issuer by that
//    id; when the signature already failed, the mismatch is added to that
//    detail); served as text/* (e.g. text/html) -> WARN; other unusual
//    content types only a note in the summary.
// crl detail always carries HTTP status, content type, size, redirect_count
// and final_url once a response came; the summary names size, latency and
// redirects.
// dimensions.ca / ca_key_id come from the CRL (issuer, AKI) when it parsed,
// else from check.issuer (subject, SKI) when one is configured, so that a
// dead CDP is still attributed to its CA. Thread-safe; never throws.
v1::Finding MakeCrlFinding(std::string_view normalized_url, const HttpResult& fetch,
                           const CrlCheckOptions& check);

// As above; also hands out the parsed CRL (nullopt when it did not parse).
v1::Finding MakeCrlFinding(std::string_view normalized_url, const HttpResult& fetch,
                           const CrlCheckOptions& check, std::optional<Crl>* parsed);

// Delta checks of a finding made by MakeCrlFinding for a URL named in
// `base`'s FreshestCRL (see CrlProbe::Run): url_kind DELTA_CDP, base_crl_url,
// is-a-delta, BaseCRLNumber against base->crl_number, and (when `base` is
// known and no issuer is configured) the issuer name. `delta` and `base` may
// be null when they did not parse / are unknown. Pure.
void ApplyDeltaChecks(std::string_view base_url, const CrlInfo* base, const CrlInfo* delta,
                      bool issuer_configured, v1::Finding* finding);

}  // namespace pkiwatch
