#include "agent/probes/crl_probe.h"

#include <curl/curl.h>
#include <openssl/bn.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/probe_budget.h"
#include "common/error_catalogue.h"
#include "common/url.h"
#include "common/utf8.h"

namespace pkiwatch {
namespace {

constexpr absl::Duration kDefaultExpiryWarn = absl::Hours(24);

void SetFailure(v1::Finding& f, v1::Status status, uint32_t hresult, std::string native_detail,
                const char* summary_prefix) {
  native_detail = OneLine(native_detail, kCrlProbeMaxDetailBytes);
  f.set_status(status);
  f.set_summary(OneLine(absl::StrCat(summary_prefix, native_detail), kCrlProbeMaxNameBytes));
  *f.mutable_error() = MakeErrorInfo(hresult, std::move(native_detail));
}

// Makes the finding at least as bad as `status`. When that is a change, the
// error (if any) and the summary lead with `text`; when the finding already
// is as bad or worse, `text` is only appended to the summary (and to the
// error's native detail, which then describes more than one problem).
void Downgrade(v1::Finding& f, v1::Status status, uint32_t hresult, const std::string& text) {
  const std::string clean = OneLine(text, kCrlProbeMaxDetailBytes);
  if (StatusSeverity(status) > StatusSeverity(f.status())) {
    f.set_status(status);
    if (hresult != 0) {
      *f.mutable_error() = MakeErrorInfo(hresult, clean);
    } else {
      f.clear_error();
    }
    f.set_summary(OneLine(absl::StrCat(clean, " | ", f.summary()), kCrlProbeMaxNameBytes));
    return;
  }
  if (f.has_error() && f.error().hresult() != 0) {
    f.mutable_error()->set_native_detail(
        OneLine(absl::StrCat(f.error().native_detail(), "; also: ", clean),
                kCrlProbeMaxDetailBytes));
  }
  f.set_summary(OneLine(absl::StrCat(f.summary(), "; ", clean), kCrlProbeMaxNameBytes));
}

// CA attribution from the configured issuer certificate when the CRL itself
// cannot tell (fetch failed, garbage).
void SetCaFromIssuer(X509* issuer, v1::Dimensions* dims) {
  if (issuer == nullptr) return;
  dims->set_ca(OneLine(NameToString(X509_get_subject_name(issuer)), kCrlProbeMaxNameBytes));
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer); ski != nullptr) {
    dims->set_ca_key_id(HexLower(std::string_view(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
        static_cast<size_t>(ASN1_STRING_length(ski)))));
  }
}

std::string SkiHex(X509* cert) {
  const ASN1_OCTET_STRING* ski = cert == nullptr ? nullptr : X509_get0_subject_key_id(cert);
  if (ski == nullptr) return "";
  return HexLower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                                   static_cast<size_t>(ASN1_STRING_length(ski))));
}

// Media type without parameters, lower case.
std::string MediaType(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  absl::AsciiStrToLower(&t);
  return std::string(absl::StripAsciiWhitespace(t));
}

// -1, 0, 1 for decimal CRL numbers (arbitrary size, as RFC 5280 allows 20
// octets); nullopt when either does not parse.
std::optional<int> CompareDecimal(const std::string& a, const std::string& b) {
  BIGNUM* raw_a = nullptr;
  BIGNUM* raw_b = nullptr;
  const int len_a = BN_dec2bn(&raw_a, a.c_str());
  BignumPtr bn_a(raw_a);
  const int len_b = BN_dec2bn(&raw_b, b.c_str());
  BignumPtr bn_b(raw_b);
  if (len_a <= 0 || len_b <= 0 || static_cast<size_t>(len_a) != a.size() ||
      static_cast<size_t>(len_b) != b.size()) {
    return std::nullopt;
  }
  const int c = BN_cmp(bn_a.get(), bn_b.get());
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// Transfer facts for the summary: "1234 bytes in 3.1 ms, redirected 2x to
// <url>".
std::string TransferNote(const HttpResult& fetch, uint64_t size) {
  std::string note = absl::StrFormat("%d bytes in %.1f ms", size,
                                     absl::ToDoubleMilliseconds(fetch.latency));
  if (fetch.redirect_count > 0) {
    absl::StrAppend(&note, ", redirected ", fetch.redirect_count, "x to ",
                    OneLine(fetch.effective_url, kCrlProbeMaxNameBytes));
  }
  return note;
}

v1::Finding SkippedCrlFinding(const std::string& url, v1::UrlKind kind, X509* issuer,
                              absl::Time at, absl::Duration budget) {
  v1::Dimensions dims;
  dims.set_url(url);
  dims.set_url_kind(kind);
  SetCaFromIssuer(issuer, &dims);
  return MakeBudgetSkippedFinding(kCrlProbeInfo.name, url, at, budget, dims);
}

}  // namespace

v1::Finding MakeCrlFinding(std::string_view normalized_url, const HttpResult& fetch,
                           const CrlCheckOptions& check) {
  return MakeCrlFinding(normalized_url, fetch, check, nullptr);
}

v1::Finding MakeCrlFinding(std::string_view normalized_url, const HttpResult& fetch,
                           const CrlCheckOptions& check, std::optional<Crl>* parsed) {
  if (parsed != nullptr) parsed->reset();
  v1::Finding f;
  f.set_probe(std::string(kCrlProbeInfo.name));
  const std::string url = OneLine(normalized_url, kMaxUrlLength);
  f.set_target(url);
  SetTimestamp(check.now, f.mutable_observed_at());
  SetDuration(fetch.latency, f.mutable_duration());
  v1::Dimensions* dims = f.mutable_dimensions();
  dims->set_url(url);
  dims->set_url_kind(v1::URL_KIND_CDP);

  if (fetch.curl_code != CURLE_OK) {
    SetCaFromIssuer(check.issuer, dims);
    const std::string detail = absl::StrCat("curl error ", fetch.curl_code, ": ", fetch.curl_error);
    if (IsLocalCurlFailure(fetch.curl_code)) {
      SetFailure(f, v1::STATUS_PROBE_ERROR,
                 fetch.curl_code == CURLE_OUT_OF_MEMORY ? hr::kEOutOfMemory : hr::kEFail, detail,
                 "CRL probe could not run: ");
    } else {
      SetFailure(f, v1::STATUS_FAIL, hr::kCryptERevocationOffline, detail, "CRL fetch failed: ");
    }
    return f;
  }

  // A response came: its HTTP facts are worth keeping whatever follows.
  v1::CrlDetail* crl_detail = f.mutable_crl();
  crl_detail->set_http_status(static_cast<uint32_t>(std::max(0L, fetch.http_status)));
  crl_detail->set_content_type(OneLine(fetch.content_type, kCrlProbeMaxContentTypeBytes));
  crl_detail->set_redirect_count(static_cast<uint32_t>(std::max(0, fetch.redirect_count)));
  crl_detail->set_final_url(OneLine(fetch.effective_url, kMaxUrlLength));

  if (fetch.http_status < 200 || fetch.http_status > 299) {
    SetCaFromIssuer(check.issuer, dims);
    SetFailure(f, v1::STATUS_FAIL, hr::kCryptERevocationOffline,
               absl::StrCat("HTTP ", fetch.http_status, " from ",
                            OneLine(fetch.effective_url, kCrlProbeMaxNameBytes)),
               "CRL fetch failed: ");
    return f;
  }

  absl::StatusOr<Crl> crl = Crl::Parse(fetch.body);
  if (!crl.ok()) {
    SetCaFromIssuer(check.issuer, dims);
    crl_detail->set_size_bytes(fetch.body.size());
    SetFailure(
        f, v1::STATUS_FAIL, hr::kCryptEAsn1BadTag,
        absl::StrCat(crl.status().message(), " (", fetch.body.size(), " bytes, content type \"",
                     OneLine(fetch.content_type, kCrlProbeMaxContentTypeBytes), "\")"),
        "response is not a CRL: ");
    return f;
  }

  const CrlInfo& info = crl->info();
  if (info.is_delta) dims->set_url_kind(v1::URL_KIND_DELTA_CDP);
  dims->set_ca(OneLine(info.issuer, kCrlProbeMaxNameBytes));
  dims->set_ca_key_id(OneLine(info.authority_key_id_hex, kCrlProbeMaxNameBytes));

  SetTimestamp(info.this_update, crl_detail->mutable_this_update());
  if (info.next_update.has_value()) {
    SetTimestamp(*info.next_update, crl_detail->mutable_next_update());
  }
  crl_detail->set_crl_number(OneLine(info.crl_number, kCrlProbeMaxNameBytes));
  crl_detail->set_size_bytes(info.der_size);
  crl_detail->set_is_delta(info.is_delta);
  crl_detail->set_base_crl_number(OneLine(info.base_crl_number, kCrlProbeMaxNameBytes));
  crl_detail->set_entry_count(info.entry_count);

  const CrlVerdict verdict = EvaluateCrl(*crl, check);
  crl_detail->set_signature_verified(verdict.signature_verified);
  f.set_status(verdict.status);
  const std::string verdict_detail = OneLine(verdict.detail, kCrlProbeMaxDetailBytes);
  if (verdict.hresult != 0) {
    *f.mutable_error() = MakeErrorInfo(verdict.hresult, verdict_detail);
  }

  // The verdict already names validity, entries and signature.
  const std::string number =
      info.crl_number.empty() ? std::string("without number") : absl::StrCat("#", info.crl_number);
  f.set_summary(OneLine(absl::StrCat(info.is_delta ? "delta CRL " : "CRL ", number, " of ",
                                     info.issuer, ": ", verdict_detail, "; ",
                                     TransferNote(fetch, info.der_size)),
                        kCrlProbeMaxNameBytes));

  // Signed by the right key? Windows finds the CRL's issuer certificate by
  // the authority key id; a CA renewed with a new key publishes CRLs whose
  // AKI no longer matches the old certificate.
  const std::string issuer_ski = SkiHex(check.issuer);
  if (!issuer_ski.empty() && !info.authority_key_id_hex.empty() &&
      issuer_ski != info.authority_key_id_hex) {
    Downgrade(f, v1::STATUS_FAIL, hr::kCertEIssuerChaining,
              absl::StrCat("CRL authorityKeyIdentifier ", info.authority_key_id_hex,
                           " differs from the subjectKeyIdentifier ", issuer_ski,
                           " of the configured CA certificate: signed by another key of the CA "
                           "(renewed CA key?)"));
  }

  // Clients hardly look at the content type, but text/* means something in
  // between (a proxy, a portal) rewrote or mislabelled the answer.
  const std::string media = MediaType(fetch.content_type);
  if (absl::StartsWith(media, "text/")) {
    Downgrade(f, v1::STATUS_WARN, 0,
              absl::StrCat("CRL served as ", OneLine(media, kCrlProbeMaxContentTypeBytes),
                           " (expected application/pkix-crl)"));
  } else if (media.empty()) {
    f.set_summary(OneLine(absl::StrCat(f.summary(), "; no content type"), kCrlProbeMaxNameBytes));
  } else if (media != "application/pkix-crl" && media != "application/x-pkcs7-crl" &&
             media != "application/octet-stream") {
    f.set_summary(OneLine(absl::StrCat(f.summary(), "; unusual content type ",
                                       OneLine(media, kCrlProbeMaxContentTypeBytes)),
                          kCrlProbeMaxNameBytes));
  }
  if (parsed != nullptr) parsed->emplace(std::move(*crl));
  return f;
}

void ApplyDeltaChecks(std::string_view base_url, const CrlInfo* base, const CrlInfo* delta,
                      bool issuer_configured, v1::Finding* finding) {
  v1::Finding& f = *finding;
  f.mutable_dimensions()->set_url_kind(v1::URL_KIND_DELTA_CDP);
  // Only a response carries a crl detail; the base URL belongs in it anyway.
  f.mutable_crl()->set_base_crl_url(OneLine(base_url, kMaxUrlLength));
  if (delta == nullptr) return;
  if (!delta->is_delta) {
    Downgrade(f, v1::STATUS_WARN, 0,
              absl::StrCat("the FreshestCRL URL of ", OneLine(base_url, kCrlProbeMaxNameBytes),
                           " serves a full CRL, not a delta CRL"));
    return;
  }
  if (base == nullptr) {
    f.set_summary(OneLine(absl::StrCat(f.summary(), "; base CRL unavailable, delta not matched"),
                          kCrlProbeMaxNameBytes));
    return;
  }
  if (!issuer_configured && delta->issuer != base->issuer) {
    Downgrade(f, v1::STATUS_FAIL, hr::kCertEIssuerChaining,
              absl::StrCat("delta CRL issuer \"", delta->issuer, "\" differs from the base CRL's \"",
                           base->issuer, "\""));
    return;
  }
  if (base->crl_number.empty() || delta->base_crl_number.empty()) return;
  const std::optional<int> cmp = CompareDecimal(delta->base_crl_number, base->crl_number);
  if (!cmp.has_value() || *cmp == 0) return;
  if (*cmp > 0) {
    // The delta extends a base the CDP does not serve yet: a client holding
    // the served base cannot apply it and fails revocation checking.
    Downgrade(f, v1::STATUS_FAIL, hr::kCryptERevocationOffline,
              absl::StrCat("delta CRL #", delta->crl_number, " is based on base CRL #",
                           delta->base_crl_number, " but ",
                           OneLine(base_url, kCrlProbeMaxNameBytes), " serves base CRL #",
                           base->crl_number, ": base CRL publication is lagging"));
  } else {
    Downgrade(f, v1::STATUS_WARN, 0,
              absl::StrCat("delta CRL #", delta->crl_number, " is based on base CRL #",
                           delta->base_crl_number, " but the current base CRL is #",
                           base->crl_number, ": delta CRL publication is lagging"));
  }
}

void CrlProbe::TrackCrlNumber(const CrlInfo& info, absl::Time now, v1::Finding* finding) {
  if (info.crl_number.empty() || finding->status() == v1::STATUS_FAIL) return;
  const std::string& url = finding->target();
  absl::MutexLock lock(&mu_);
  auto it = numbers_.find(url);
  if (it == numbers_.end()) {
    numbers_.emplace(url, SeenCrl{info.crl_number, info.this_update, now});
    return;
  }
  SeenCrl& seen = it->second;
  finding->mutable_crl()->set_previous_crl_number(OneLine(seen.number, kCrlProbeMaxNameBytes));
  const std::optional<int> cmp = CompareDecimal(info.crl_number, seen.number);
  if (!cmp.has_value() || *cmp >= 0) {
    seen = SeenCrl{info.crl_number, info.this_update, now};
    return;
  }
  Downgrade(*finding, v1::STATUS_WARN, 0,
            absl::StrCat("CRL number went backwards: #", info.crl_number, " after #", seen.number,
                         " (seen ", Rfc3339(seen.seen_at),
                         "): a stale copy is being served (a web server behind this name not "
                         "updated, or a restored CA)"));
  // A newer thisUpdate with a lower number is a numbering reset (new CA,
  // restore): accept it so the warning is given once. An older one is the
  // stale copy: keep the high mark so it is reported on every run.
  if (info.this_update > seen.this_update) {
    seen = SeenCrl{info.crl_number, info.this_update, now};
  }
}

absl::StatusOr<std::unique_ptr<CrlProbe>> CrlProbe::Create(std::vector<v1::CrlWatch> watches,
                                                           const v1::CrlSettings& settings,
                                                           HttpOptions http,
                                                           absl::Duration budget) {
  std::vector<Target> targets;
  targets.reserve(watches.size());
  std::set<std::string> seen;
  for (size_t i = 0; i < watches.size(); ++i) {
    const v1::CrlWatch& watch = watches[i];
    const std::string where = absl::StrFormat("crl_watches[%d]", i);
    absl::StatusOr<std::string> url = NormalizeUrl(watch.url());
    if (!url.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".url \"",
                                                     OneLine(watch.url(), kCrlProbeMaxNameBytes),
                                                     "\": ", url.status().message()));
    }
    // The probe fetches with libcurl over HTTP(S) only; ldap:// CDPs (ADCS
    // default) are for the Windows-side checks.
    if (!absl::StartsWith(*url, "http://") && !absl::StartsWith(*url, "https://")) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".url \"", OneLine(*url, kCrlProbeMaxNameBytes),
                       "\": only http:// and https:// CRL URLs can be fetched"));
    }
    if (!seen.insert(*url).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".url \"", OneLine(*url, kCrlProbeMaxNameBytes),
                       "\": duplicate of an earlier watch (after normalization)"));
    }
    Target target{std::move(*url), nullptr};
    if (!watch.issuer_cert_file().empty()) {
      absl::StatusOr<X509Ptr> issuer = LoadCertificateFile(watch.issuer_cert_file());
      if (!issuer.ok()) {
        return absl::Status(issuer.status().code(),
                            absl::StrCat(where, ".issuer_cert_file \"", watch.issuer_cert_file(),
                                         "\": ", issuer.status().message()));
      }
      target.issuer = std::move(*issuer);
    }
    targets.push_back(std::move(target));
  }
  const absl::Duration expiry_warn = settings.expiry_warn_seconds() == 0
                                         ? kDefaultExpiryWarn
                                         : absl::Seconds(settings.expiry_warn_seconds());
  return std::unique_ptr<CrlProbe>(
      new CrlProbe(std::move(targets), expiry_warn, std::move(http), budget));
}

std::vector<v1::Finding> CrlProbe::Run(const ProbeContext& ctx) {
  std::vector<v1::Finding> findings;
  findings.reserve(targets_.size());
  const RunBudget budget(budget_);
  // Delta URLs are findings targets too: never twice in one run, never one
  // that is also a configured watch.
  std::set<std::string> reported;
  for (const Target& target : targets_) reported.insert(target.url);

  // Fetches `url` and judges it (stamped at the time of the fetch, measured
  // from the run's scheduled time with the monotonic clock).
  auto fetch_one = [&](const std::string& url, X509* issuer, std::optional<Crl>* parsed) {
    const absl::Duration started = budget.Elapsed();
    CrlCheckOptions check;
    check.now = ctx.now + started;
    check.expiry_warn = expiry_warn_;
    check.issuer = issuer;
    const HttpResult fetch = HttpGet(url, http_);
    v1::Finding finding = MakeCrlFinding(url, fetch, check, parsed);
    SetDuration(budget.Elapsed() - started, finding.mutable_duration());
    return finding;
  };

  for (const Target& target : targets_) {
    std::optional<Crl> base;
    if (budget.Spent()) {
      findings.push_back(SkippedCrlFinding(target.url, v1::URL_KIND_CDP, target.issuer.get(),
                                           ctx.now + budget.Elapsed(), budget.budget()));
    } else {
      v1::Finding finding = fetch_one(target.url, target.issuer.get(), &base);
      if (base.has_value()) TrackCrlNumber(base->info(), ctx.now, &finding);
      findings.push_back(std::move(finding));
    }

    // The deltas this base names now, or (base unreadable or skipped) the
    // ones it named last time, so that they are not silently dropped.
    std::vector<std::string> delta_urls;
    if (base.has_value()) {
      for (const std::string& raw : base->info().freshest_crl_urls) {
        if (delta_urls.size() >= kCrlProbeMaxDeltaUrls) break;
        absl::StatusOr<std::string> url = NormalizeUrl(raw);
        if (!url.ok()) continue;
        // ldap:// delta CDPs (the ADCS default) are out of reach of libcurl
        // probing by design, as for base CDPs.
        if (!absl::StartsWith(*url, "http://") && !absl::StartsWith(*url, "https://")) continue;
        if (std::find(delta_urls.begin(), delta_urls.end(), *url) == delta_urls.end()) {
          delta_urls.push_back(std::move(*url));
        }
      }
      absl::MutexLock lock(&mu_);
      if (delta_urls.empty()) {
        delta_urls_.erase(target.url);
      } else {
        delta_urls_[target.url] = delta_urls;
      }
    } else {
      absl::MutexLock lock(&mu_);
      if (auto it = delta_urls_.find(target.url); it != delta_urls_.end()) {
        delta_urls = it->second;
      }
    }

    for (const std::string& delta_url : delta_urls) {
      if (!reported.insert(delta_url).second) continue;
      if (budget.Spent()) {
        v1::Finding skipped = SkippedCrlFinding(delta_url, v1::URL_KIND_DELTA_CDP,
                                                target.issuer.get(), ctx.now + budget.Elapsed(),
                                                budget.budget());
        findings.push_back(std::move(skipped));
        continue;
      }
      std::optional<Crl> delta;
      v1::Finding finding = fetch_one(delta_url, target.issuer.get(), &delta);
      ApplyDeltaChecks(target.url, base.has_value() ? &base->info() : nullptr,
                       delta.has_value() ? &delta->info() : nullptr, target.issuer != nullptr,
                       &finding);
      if (delta.has_value()) TrackCrlNumber(delta->info(), ctx.now, &finding);
      findings.push_back(std::move(finding));
    }
  }
  return findings;
}

std::vector<std::string> CrlProbe::targets() const {
  std::vector<std::string> urls;
  urls.reserve(targets_.size());
  for (const Target& target : targets_) urls.push_back(target.url);
  return urls;
}

}  // namespace pkiwatch
