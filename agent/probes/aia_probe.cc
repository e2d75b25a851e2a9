#include "agent/probes/aia_probe.h"

#include <curl/curl.h>
#include <openssl/err.h>

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/probe_budget.h"
#include "common/error_catalogue.h"
#include "common/url.h"
#include "common/x509_cert.h"

namespace pkiwatch {
namespace {

bool IsHttpUrl(std::string_view url) {
  const absl::string_view u(url.data(), url.size());
  return absl::StartsWith(u, "http://") || absl::StartsWith(u, "https://");
}

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

// Why `candidate` did not issue `cert`, "" when it did.
std::string WhyNotIssuer(X509* cert, const CertFacts& facts, X509* candidate) {
  const std::string subject = NameToString(X509_get_subject_name(candidate));
  if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(candidate)) != 0) {
    ERR_clear_error();
    return absl::StrCat("served \"", subject, "\", but the certificate's issuer is \"",
                        facts.issuer, "\"");
  }
  const std::string ski = SubjectKeyIdHex(candidate);
  if (!facts.authority_key_id_hex.empty() && !ski.empty() && ski != facts.authority_key_id_hex) {
    return absl::StrCat("served \"", subject, "\" with key id ", ski,
                        ", but the certificate names issuer key id ", facts.authority_key_id_hex,
                        " (an older or newer CA key?)");
  }
  EVP_PKEY* key = X509_get0_pubkey(candidate);
  const bool verified = key != nullptr && X509_verify(cert, key) == 1;
  ERR_clear_error();
  if (!verified) {
    return absl::StrCat("served \"", subject,
                        "\", but the certificate's signature does not verify with its key");
  }
  return "";
}

}  // namespace

v1::Finding MakeAiaFinding(X509* cert, const CertFacts& facts, std::string_view normalized_url,
                           const HttpResult& fetch, absl::Time now, absl::Duration expiry_warn) {
  const std::string url = CertProbeOneLine(normalized_url, kMaxUrlLength);
  v1::Finding f = NewCertFinding(kAiaProbeInfo.name, absl::StrCat(facts.thumbprint_sha1, " ", url),
                                 facts, nullptr, now);
  SetProtoDuration(fetch.latency, f.mutable_duration());
  f.mutable_dimensions()->set_url(url);
  f.mutable_dimensions()->set_url_kind(v1::URL_KIND_AIA);
  const std::string prefix = absl::StrCat("AIA ", url, " for ", facts.subject, ": ");

  if (fetch.curl_code != CURLE_OK) {
    const std::string text = absl::StrCat("curl error ", fetch.curl_code, ": ", fetch.curl_error);
    if (IsLocalCurlFailure(fetch.curl_code)) {
      SetCertFindingResult(v1::STATUS_PROBE_ERROR,
                           fetch.curl_code == CURLE_OUT_OF_MEMORY ? hr::kEOutOfMemory : hr::kEFail,
                           text, prefix, &f);
    } else {
      SetCertFindingResult(v1::STATUS_FAIL, hr::kCertEChaining, text, prefix, &f);
    }
    return f;
  }
  if (!fetch.ok()) {
    SetCertFindingResult(
        v1::STATUS_FAIL, hr::kCertEChaining,
        absl::StrCat("HTTP ", fetch.http_status, " from ",
                     CertProbeOneLine(fetch.effective_url, kCertProbeMaxNameBytes)),
        prefix, &f);
    return f;
  }
  absl::StatusOr<std::vector<X509Ptr>> served = ParseCertificatesOrPkcs7(fetch.body);
  if (!served.ok()) {
    SetCertFindingResult(
        v1::STATUS_FAIL, hr::kCryptEAsn1BadTag,
        absl::StrCat(served.status().message(), " (", fetch.body.size(), " bytes, Content-Type \"",
                     CertProbeOneLine(fetch.content_type, kCertProbeMaxNameBytes), "\")"),
        prefix, &f);
    return f;
  }

  X509* issuer = nullptr;
  std::string why;
  for (X509Ptr& candidate : *served) {
    std::string reason = WhyNotIssuer(cert, facts, candidate.get());
    if (reason.empty()) {
      issuer = candidate.get();
      break;
    }
    if (why.empty()) why = std::move(reason);
  }
  if (issuer == nullptr) {
    if (served->size() > 1) absl::StrAppend(&why, " (and ", served->size() - 1, " more)");
    SetCertFindingResult(v1::STATUS_FAIL, hr::kCertEIssuerChaining, why, prefix, &f);
    return f;
  }
  if (facts.authority_key_id_hex.empty()) {
    f.mutable_dimensions()->set_ca_key_id(SubjectKeyIdHex(issuer));
  }
  absl::StatusOr<CertFacts> issuer_facts = ReadCertFacts(issuer);
  if (!issuer_facts.ok()) {
    SetCertFindingResult(v1::STATUS_PROBE_ERROR, hr::kEFail,
                         std::string(issuer_facts.status().message()), prefix, &f);
    return f;
  }
  const std::string who = absl::StrCat("issuer \"", issuer_facts->subject, "\"");
  if (!issuer_facts->is_ca) {
    SetCertFindingResult(v1::STATUS_FAIL, cert_hr::kCertERole,
                         absl::StrCat("served ", who, " is not a CA (basicConstraints cA)"), prefix,
                         &f);
    return f;
  }
  if (!issuer_facts->not_before.has_value() || !issuer_facts->not_after.has_value() ||
      now < *issuer_facts->not_before || now > *issuer_facts->not_after) {
    SetCertFindingResult(
        v1::STATUS_FAIL, hr::kCertEExpired,
        absl::StrCat(
            "served ", who, " is outside its validity (",
            issuer_facts->not_before.has_value() ? Day(*issuer_facts->not_before) : "?", " .. ",
            issuer_facts->not_after.has_value() ? Day(*issuer_facts->not_after) : "?", ")"),
        prefix, &f);
    return f;
  }
  if (*issuer_facts->not_after - now < expiry_warn) {
    SetCertFindingResult(
        v1::STATUS_WARN, 0,
        absl::StrFormat("served %s expires %s (in %d days)", who, Day(*issuer_facts->not_after),
                        (absl::ToInt64Hours(*issuer_facts->not_after - now) + 12) / 24),
        prefix, &f);
    return f;
  }
  SetCertFindingResult(
      v1::STATUS_OK, 0,
      absl::StrCat("serves the ", who, " (key id ", issuer_facts->subject_key_id_hex,
                   "), valid until ", Day(*issuer_facts->not_after)),
      prefix, &f);
  return f;
}

absl::StatusOr<std::unique_ptr<AiaProbe>> AiaProbe::Create(std::unique_ptr<CertSource> source,
                                                           AiaProbeOptions options,
                                                           HttpOptions http,
                                                           absl::Duration budget) {
  if (source == nullptr) return absl::InvalidArgumentError("AiaProbe: no certificate source");
  if (options.expiry_warn < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("aia: expiry_warn must not be negative");
  }
  return std::unique_ptr<AiaProbe>(
      new AiaProbe(std::move(source), options, std::move(http), budget));
}

std::vector<v1::Finding> AiaProbe::Run(const ProbeContext& ctx) {
  const auto run_start = std::chrono::steady_clock::now();
  const CertInventory inventory = source_->Load();
  std::vector<v1::Finding> findings;
  RunBudget budget(budget_);
  for (const SourcedCert& sc : inventory.certs) {
    if (sc.facts.self_signed) continue;
    for (const std::string& raw_url : sc.facts.ca_issuers_urls) {
      absl::StatusOr<std::string> normalized = NormalizeUrl(raw_url);
      const std::string url = normalized.ok() ? *normalized : raw_url;
      if (!IsHttpUrl(url)) continue;
      const auto start = std::chrono::steady_clock::now();
      if (budget.Spent()) {
        v1::Finding base =
            NewCertFinding(kAiaProbeInfo.name, absl::StrCat(sc.facts.thumbprint_sha1, " ", url),
                           sc.facts, nullptr, ctx.now + absl::FromChrono(start - run_start));
        base.mutable_dimensions()->set_url(CertProbeOneLine(url, kMaxUrlLength));
        base.mutable_dimensions()->set_url_kind(v1::URL_KIND_AIA);
        findings.push_back(BudgetSkippedCertFinding(base, budget.budget()));
        continue;
      }
      const HttpResult fetch = HttpGet(url, http_);
      v1::Finding f =
          MakeAiaFinding(sc.cert.get(), sc.facts, url, fetch,
                         ctx.now + absl::FromChrono(start - run_start), options_.expiry_warn);
      SetProtoDuration(absl::FromChrono(std::chrono::steady_clock::now() - start),
                       f.mutable_duration());
      findings.push_back(std::move(f));
    }
  }
  return findings;
}

}  // namespace pkiwatch
