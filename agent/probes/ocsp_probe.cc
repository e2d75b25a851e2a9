#include "agent/probes/ocsp_probe.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/probes/probe_budget.h"
#include "common/error_catalogue.h"
#include "common/url.h"

namespace pkiwatch {
namespace {

constexpr char kOcspRequestType[] = "application/ocsp-request";

// Failures of this agent, not of the responder (curl could not even start).
bool IsHttpUrl(std::string_view url) {
  return absl::StartsWith(absl::string_view(url.data(), url.size()), "http://") ||
         absl::StartsWith(absl::string_view(url.data(), url.size()), "https://");
}

void FillDetail(const OcspVerdict& v, v1::OcspDetail* d) {
  d->set_cert_status(v.cert_status);
  if (v.produced_at.has_value()) SetProtoTime(*v.produced_at, d->mutable_produced_at());
  if (v.this_update.has_value()) SetProtoTime(*v.this_update, d->mutable_this_update());
  if (v.next_update.has_value()) SetProtoTime(*v.next_update, d->mutable_next_update());
  d->set_response_status(v.response_status);
  if (v.revocation_time.has_value()) {
    SetProtoTime(*v.revocation_time, d->mutable_revocation_time());
  }
  d->set_revocation_reason(v.revocation_reason);
  d->set_responder(CertProbeOneLine(v.responder, kCertProbeMaxNameBytes));
  d->set_delegated_responder(v.responder_kind == OcspResponder::kDelegated);
  d->set_signature_verified(v.signature_verified);
  d->set_nonce(v.nonce);
}

}  // namespace

OcspProbeOptions OcspProbeOptionsFromSettings(const v1::OcspSettings& settings) {
  OcspProbeOptions o;
  o.nonce = settings.nonce();
  o.require_nonce = settings.require_nonce();
  o.use_get = settings.use_get();
  if (settings.clock_tolerance_seconds() != 0) {
    o.clock_tolerance = absl::Seconds(settings.clock_tolerance_seconds());
  }
  if (settings.max_age_seconds() != 0) o.max_age = absl::Seconds(settings.max_age_seconds());
  o.next_update_warn = absl::Seconds(settings.next_update_warn_seconds());
  if (settings.signer_expiry_warn_seconds() != 0) {
    o.signer_expiry_warn = absl::Seconds(settings.signer_expiry_warn_seconds());
  }
  return o;
}

v1::Finding MakeOcspFinding(const CertFacts& cert, std::string_view normalized_url,
                            std::string_view method, const HttpResult& fetch,
                            const OcspCheckOptions& check) {
  const std::string url = CertProbeOneLine(normalized_url, kMaxUrlLength);
  v1::Finding f = NewCertFinding(kOcspProbeInfo.name, absl::StrCat(cert.thumbprint_sha1, " ", url),
                                 cert, check.issuer, check.now);
  SetProtoDuration(fetch.latency, f.mutable_duration());
  f.mutable_dimensions()->set_url(url);
  f.mutable_dimensions()->set_url_kind(v1::URL_KIND_OCSP);
  v1::OcspDetail* detail = f.mutable_ocsp();
  detail->set_method(std::string(method));
  const std::string prefix = absl::StrCat("OCSP ", url, " for ", cert.subject, ": ");

  if (fetch.curl_code != CURLE_OK) {
    const std::string text = absl::StrCat("curl error ", fetch.curl_code, ": ", fetch.curl_error);
    if (IsLocalCurlFailure(fetch.curl_code)) {
      SetCertFindingResult(v1::STATUS_PROBE_ERROR,
                           fetch.curl_code == CURLE_OUT_OF_MEMORY ? hr::kEOutOfMemory : hr::kEFail,
                           text, prefix, &f);
    } else {
      SetCertFindingResult(v1::STATUS_FAIL, hr::kCryptERevocationOffline, text, prefix, &f);
    }
    return f;
  }
  detail->set_http_status(static_cast<uint32_t>(std::max(0L, fetch.http_status)));
  if (!fetch.ok()) {
    SetCertFindingResult(
        v1::STATUS_FAIL, hr::kCryptERevocationOffline,
        absl::StrCat("HTTP ", fetch.http_status, " from ",
                     CertProbeOneLine(fetch.effective_url, kCertProbeMaxNameBytes)),
        prefix, &f);
    return f;
  }

  const OcspVerdict v = EvaluateOcspResponse(fetch.body, check);
  FillDetail(v, detail);
  std::string text = v.detail;
  // A wrong Content-Type alone does not stop Windows; it helps explain a
  // parse failure (an HTML error page from a proxy).
  const std::string content_type = absl::AsciiStrToLower(fetch.content_type);
  if (!absl::StartsWith(content_type, "application/ocsp-response")) {
    absl::StrAppend(&text, " (Content-Type \"",
                    CertProbeOneLine(fetch.content_type, kCertProbeMaxNameBytes), "\", ",
                    fetch.body.size(), " bytes)");
  }
  SetCertFindingResult(v.status, v.hresult, text, prefix, &f);
  return f;
}

absl::StatusOr<std::unique_ptr<OcspProbe>> OcspProbe::Create(std::unique_ptr<CertSource> source,
                                                             OcspProbeOptions options,
                                                             HttpOptions http,
                                                             absl::Duration budget) {
  if (source == nullptr) return absl::InvalidArgumentError("OcspProbe: no certificate source");
  if (options.clock_tolerance < absl::ZeroDuration() || options.max_age <= absl::ZeroDuration() ||
      options.next_update_warn < absl::ZeroDuration() ||
      options.signer_expiry_warn < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ocsp: durations must not be negative (max_age > 0)");
  }
  return std::unique_ptr<OcspProbe>(
      new OcspProbe(std::move(source), options, std::move(http), budget));
}

std::vector<v1::Finding> OcspProbe::Run(const ProbeContext& ctx) {
  const auto run_start = std::chrono::steady_clock::now();
  const CertInventory inventory = source_->Load();
  const std::vector<X509*> extra = inventory.All();
  std::vector<v1::Finding> findings;
  RunBudget budget(budget_);
  for (const SourcedCert& sc : inventory.certs) {
    const CertFacts& facts = sc.facts;
    if (facts.self_signed || facts.ocsp_urls.empty()) continue;
    if (facts.not_after.has_value() && *facts.not_after < ctx.now) continue;
    X509* issuer = inventory.FindIssuer(sc.cert.get(), ctx.now);
    for (const std::string& raw_url : facts.ocsp_urls) {
      absl::StatusOr<std::string> normalized = NormalizeUrl(raw_url);
      const std::string url = normalized.ok() ? *normalized : raw_url;
      if (!IsHttpUrl(url)) continue;  // ldap:// and others: Windows-side checks
      const auto start = std::chrono::steady_clock::now();
      OcspCheckOptions check;
      check.now = ctx.now + absl::FromChrono(start - run_start);
      check.cert = sc.cert.get();
      check.issuer = issuer;
      check.extra_certs = extra;
      check.require_nonce = options_.require_nonce;
      check.clock_tolerance = options_.clock_tolerance;
      check.max_age = options_.max_age;
      check.next_update_warn = options_.next_update_warn;
      check.signer_expiry_warn = options_.signer_expiry_warn;
      if (budget.Spent()) {
        v1::Finding base =
            NewCertFinding(kOcspProbeInfo.name, absl::StrCat(facts.thumbprint_sha1, " ", url),
                           facts, issuer, check.now);
        base.mutable_dimensions()->set_url(CertProbeOneLine(url, kMaxUrlLength));
        base.mutable_dimensions()->set_url_kind(v1::URL_KIND_OCSP);
        findings.push_back(BudgetSkippedCertFinding(base, budget.budget()));
        continue;
      }
      if (issuer == nullptr) {
        v1::Finding f =
            NewCertFinding(kOcspProbeInfo.name, absl::StrCat(facts.thumbprint_sha1, " ", url),
                           facts, nullptr, check.now);
        f.mutable_dimensions()->set_url(CertProbeOneLine(url, kMaxUrlLength));
        f.mutable_dimensions()->set_url_kind(v1::URL_KIND_OCSP);
        SetCertFindingResult(
            v1::STATUS_PROBE_ERROR, hr::kCertEChaining,
            absl::StrCat("issuer \"", facts.issuer,
                         "\" is in neither the certificate folders nor the trust bundle; an OCSP "
                         "request needs its name and key"),
            absl::StrCat("OCSP ", url, " for ", facts.subject, ": "), &f);
        findings.push_back(std::move(f));
        continue;
      }
      absl::StatusOr<OcspRequest> request =
          BuildOcspRequest(sc.cert.get(), issuer, OcspRequestOptions{.nonce = options_.nonce});
      if (!request.ok()) {
        v1::Finding f =
            NewCertFinding(kOcspProbeInfo.name, absl::StrCat(facts.thumbprint_sha1, " ", url),
                           facts, issuer, check.now);
        f.mutable_dimensions()->set_url(CertProbeOneLine(url, kMaxUrlLength));
        f.mutable_dimensions()->set_url_kind(v1::URL_KIND_OCSP);
        SetCertFindingResult(v1::STATUS_PROBE_ERROR, hr::kEFail,
                             std::string(request.status().message()),
                             "OCSP request could not be built: ", &f);
        findings.push_back(std::move(f));
        continue;
      }
      check.nonce_ext_value = request->nonce_ext_value;
      const bool get = options_.use_get && request->der.size() <= kMaxOcspGetRequestBytes;
      const HttpResult fetch = get ? HttpGet(OcspGetUrl(url, request->der), http_)
                                   : HttpPost(url, kOcspRequestType, request->der, http_);
      v1::Finding f = MakeOcspFinding(facts, url, get ? "GET" : "POST", fetch, check);
      SetProtoDuration(absl::FromChrono(std::chrono::steady_clock::now() - start),
                       f.mutable_duration());
      findings.push_back(std::move(f));
    }
  }
  return findings;
}

}  // namespace pkiwatch
