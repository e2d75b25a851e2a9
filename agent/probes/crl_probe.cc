#include "agent/probes/crl_probe.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/error_catalogue.h"
#include "common/url.h"
#include "common/utf8.h"

namespace pkiwatch {
namespace {

constexpr absl::Duration kDefaultExpiryWarn = absl::Hours(24);

// Outside text becomes one line of valid UTF-8 of bounded size: control
// characters (CR/LF from servers or OpenSSL) would break log lines and the
// one-line summary.
std::string OneLine(std::string_view s, size_t max_bytes) {
  std::string clean = SanitizeUtf8(s, max_bytes);
  for (char& c : clean) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return clean;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  // ToUnixSeconds rounds towards the past, so nanos is in [0, 1e9).
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  // Same sign for seconds and nanos, as google.protobuf.Duration requires.
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

// Failures of the agent itself, not of the CDP: they say nothing about the
// target's health.
bool IsLocalCurlFailure(int code) {
  switch (code) {
    case CURLE_FAILED_INIT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_NOT_BUILT_IN:
      return true;
    default:
      return false;
  }
}

void SetFailure(v1::Finding& f, v1::Status status, uint32_t hresult, std::string native_detail,
                const char* summary_prefix) {
  native_detail = OneLine(native_detail, kCrlProbeMaxDetailBytes);
  f.set_status(status);
  f.set_summary(OneLine(absl::StrCat(summary_prefix, native_detail), kCrlProbeMaxNameBytes));
  *f.mutable_error() = MakeErrorInfo(hresult, std::move(native_detail));
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

}  // namespace

v1::Finding MakeCrlFinding(std::string_view normalized_url, const HttpResult& fetch,
                           const CrlCheckOptions& check) {
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
                                     info.issuer, ": ", verdict_detail),
                        kCrlProbeMaxNameBytes));
  return f;
}

absl::StatusOr<std::unique_ptr<CrlProbe>> CrlProbe::Create(std::vector<v1::CrlWatch> watches,
                                                           const v1::CrlSettings& settings,
                                                           HttpOptions http) {
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
  return std::unique_ptr<CrlProbe>(new CrlProbe(std::move(targets), expiry_warn, std::move(http)));
}

std::vector<v1::Finding> CrlProbe::Run(const ProbeContext& ctx) {
  std::vector<v1::Finding> findings;
  findings.reserve(targets_.size());
  const auto run_start = std::chrono::steady_clock::now();
  for (const Target& target : targets_) {
    const auto start = std::chrono::steady_clock::now();
    // Stamped and judged at the time of this fetch, measured from the run's
    // scheduled time with the monotonic clock (robust to clock steps).
    CrlCheckOptions check;
    check.now = ctx.now + absl::FromChrono(start - run_start);
    check.expiry_warn = expiry_warn_;
    check.issuer = target.issuer.get();
    const HttpResult fetch = HttpGet(target.url, http_);
    v1::Finding finding = MakeCrlFinding(target.url, fetch, check);
    SetDuration(absl::FromChrono(std::chrono::steady_clock::now() - start),
                finding.mutable_duration());
    findings.push_back(std::move(finding));
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
