#include "agent/probes/chain_probe.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/probes/probe_budget.h"
#include "common/error_catalogue.h"
#include "common/x509_cert.h"

namespace pkiwatch {
namespace {

// Chain depth is small in practice (leaf, one or two CAs, root); every round
// may add one missing level from AIA.
constexpr int kMaxAiaRounds = 5;
constexpr size_t kMaxErrorsPerChain = 16;

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

bool IsHttpUrl(const std::string& url) {
  const std::string lower = absl::AsciiStrToLower(url.substr(0, 8));
  return absl::StartsWith(lower, "http://") || absl::StartsWith(lower, "https://");
}

struct ChainError {
  int code = 0;
  int depth = 0;
  std::string subject;   // of the certificate the error is about
  X509* cert = nullptr;  // borrowed (inventory, fetched certificates or store)
};

struct Collector {
  std::vector<ChainError> errors;
};

// Records every verification error and lets OpenSSL go on, so that one run
// reports all problems of a chain (a missing issuer and an expired leaf).
int CollectErrors(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  const int code = X509_STORE_CTX_get_error(ctx);
  if (code == X509_V_ERR_OUT_OF_MEM) return 0;
  auto* collector = static_cast<Collector*>(X509_STORE_CTX_get_app_data(ctx));
  if (collector != nullptr && collector->errors.size() < kMaxErrorsPerChain) {
    X509* cert = X509_STORE_CTX_get_current_cert(ctx);
    collector->errors.push_back({code, X509_STORE_CTX_get_error_depth(ctx),
                                 cert != nullptr ? NameToString(X509_get_subject_name(cert)) : "",
                                 cert});
  }
  return 1;
}

struct Mapped {
  int rank;  // lower wins
  uint32_t hresult;
};

// Windows' base chain policy reports signature problems first, then an
// untrusted root, then a partial chain, then time validity.
Mapped MapVerifyError(int code) {
  switch (code) {
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return {0, cert_hr::kTrustECertSignature};
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return {1, hr::kCertEUntrustedRoot};
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return {2, hr::kCertEChaining};
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
      return {3, hr::kCertEExpired};
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
      return {4, cert_hr::kCertEInvalidName};
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_INVALID_NON_CA:
      return {5, cert_hr::kCertERole};
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED:
      return {6, cert_hr::kCertEPathLenConst};
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
      return {7, hr::kCertECritical};
    case X509_V_ERR_INVALID_PURPOSE:
      return {8, hr::kCertEWrongUsage};
    default:
      return {9, cert_hr::kCertEMalformed};
  }
}

std::string DescribeError(const ChainError& e) {
  return absl::StrFormat("%s (X509_V_ERR %d) at \"%s\"", X509_verify_cert_error_string(e.code),
                         e.code, e.subject);
}

// The state of one run: trust store, the growing pool of intermediates
// (folders plus AIA downloads) and the AIA URLs already tried.
class ChainRun {
 public:
  ChainRun(const CertInventory& inventory, absl::Time now, const ChainProbeOptions& options,
           const IssuerFetcher& fetcher)
      : inventory_(inventory),
        now_(now),
        options_(options),
        fetcher_(fetcher),
        fetches_left_(options.max_aia_fetches) {}

  absl::Status Init();
  v1::Finding Evaluate(const SourcedCert& target);

 private:
  bool Contains(X509* cert) const;
  // Fetches the caIssuers URLs of `cert`; true when new certificates came.
  bool TryAia(X509* cert, std::vector<std::string>* notes);

  const CertInventory& inventory_;
  const absl::Time now_;
  const ChainProbeOptions& options_;
  const IssuerFetcher& fetcher_;
  int fetches_left_;
  X509StorePtr store_;
  X509StackPtr untrusted_;
  std::vector<X509Ptr> fetched_;
  std::set<std::string> tried_urls_;
  std::map<std::string, std::string> url_outcome_;  // for notes of later certificates
};

absl::Status ChainRun::Init() {
  store_.reset(X509_STORE_new());
  untrusted_.reset(sk_X509_new_null());
  if (store_ == nullptr || untrusted_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("X509_STORE_new: ", OpenSslErrors()));
  }
  for (X509* anchor : inventory_.TrustAnchors()) {
    if (X509_STORE_add_cert(store_.get(), anchor) != 1) ERR_clear_error();  // duplicates
  }
  for (const SourcedCert& c : inventory_.certs) {
    if (c.facts.self_signed) continue;
    if (X509_up_ref(c.cert.get()) != 1) continue;
    if (sk_X509_push(untrusted_.get(), c.cert.get()) <= 0) X509_free(c.cert.get());
  }
  return absl::OkStatus();
}

bool ChainRun::Contains(X509* cert) const {
  for (int i = 0; i < sk_X509_num(untrusted_.get()); ++i) {
    if (X509_cmp(sk_X509_value(untrusted_.get(), i), cert) == 0) return true;
  }
  for (X509* anchor : inventory_.TrustAnchors()) {
    if (X509_cmp(anchor, cert) == 0) return true;
  }
  return false;
}

bool ChainRun::TryAia(X509* cert, std::vector<std::string>* notes) {
  absl::StatusOr<CertFacts> facts = ReadCertFacts(cert);
  if (!facts.ok()) return false;
  const std::string who = CertProbeOneLine(facts->subject, kCertProbeMaxNameBytes);
  if (facts->ca_issuers_urls.empty()) {
    notes->push_back(absl::StrCat("\"", who, "\" has no AIA caIssuers URL"));
    return false;
  }
  bool added = false;
  for (const std::string& url : facts->ca_issuers_urls) {
    if (!IsHttpUrl(url)) {
      notes->push_back(absl::StrCat("AIA ", url, ": not fetched (only http and https)"));
      continue;
    }
    if (!tried_urls_.insert(url).second) {
      notes->push_back(absl::StrCat("AIA ", url, ": ", url_outcome_[url]));
      continue;
    }
    if (fetches_left_ <= 0) {
      notes->push_back(
          absl::StrCat("AIA ", url, ": not fetched (max_aia_fetches per run reached)"));
      url_outcome_[url] = "not fetched (max_aia_fetches per run reached)";
      continue;
    }
    --fetches_left_;
    absl::StatusOr<std::vector<X509Ptr>> certs = fetcher_(url);
    if (!certs.ok()) {
      url_outcome_[url] = std::string(certs.status().message());
      notes->push_back(absl::StrCat("AIA ", url, ": ", certs.status().message()));
      continue;
    }
    int fresh = 0;
    for (X509Ptr& c : *certs) {
      if (Contains(c.get())) continue;
      if (X509_up_ref(c.get()) != 1) continue;
      if (sk_X509_push(untrusted_.get(), c.get()) <= 0) {
        X509_free(c.get());
        continue;
      }
      fetched_.push_back(std::move(c));
      ++fresh;
    }
    url_outcome_[url] = absl::StrFormat("%d certificate(s), %d new", certs->size(), fresh);
    notes->push_back(absl::StrCat("AIA ", url, ": ", url_outcome_[url]));
    if (fresh > 0) added = true;
  }
  return added;
}

v1::Finding ChainRun::Evaluate(const SourcedCert& target) {
  const CertFacts& facts = target.facts;
  std::vector<std::string> notes;
  std::vector<ChainError> errors;
  std::vector<std::string> chain_subjects;
  X509* issuer = nullptr;      // chain[1], for the CA key id fallback
  std::string expiry_warning;  // WARN text when the chain is otherwise fine
  std::string internal_error;

  for (int round = 0; round < kMaxAiaRounds; ++round) {
    errors.clear();
    chain_subjects.clear();
    issuer = nullptr;
    expiry_warning.clear();
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (ctx == nullptr ||
        X509_STORE_CTX_init(ctx.get(), store_.get(), target.cert.get(), untrusted_.get()) != 1) {
      internal_error = absl::StrCat("X509_STORE_CTX_init: ", OpenSslErrors());
      break;
    }
    Collector collector;
    X509_STORE_CTX_set_app_data(ctx.get(), &collector);
    X509_STORE_CTX_set_verify_cb(ctx.get(), &CollectErrors);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now_));
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CHECK_SS_SIGNATURE);
    const int rc = X509_verify_cert(ctx.get());
    errors = std::move(collector.errors);
    if (rc != 1 && errors.empty()) {
      internal_error = absl::StrCat(
          "X509_verify_cert: ", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())),
          "; ", OpenSslErrors());
      break;
    }
    const STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    absl::Time earliest = absl::InfiniteFuture();
    std::string earliest_subject;
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      X509* c = sk_X509_value(chain, i);
      chain_subjects.push_back(NameToString(X509_get_subject_name(c)));
      if (i == 1) issuer = c;
      absl::StatusOr<absl::Time> na = Asn1TimeToAbsl(X509_get0_notAfter(c));
      if (na.ok() && *na < earliest) {
        earliest = *na;
        earliest_subject = i == 0 ? std::string() : chain_subjects.back();
      }
    }
    if (earliest - now_ < options_.expiry_warn && earliest >= now_) {
      const int64_t days = (absl::ToInt64Hours(earliest - now_) + 12) / 24;  // nearest
      expiry_warning = earliest_subject.empty()
                           ? absl::StrFormat("expires %s (in %d days)", Day(earliest), days)
                           : absl::StrFormat(
                                 "CA certificate \"%s\" in the chain expires %s (in "
                                 "%d days)",
                                 earliest_subject, Day(earliest), days);
    }
    // A missing issuer: try its AIA caIssuers URLs, then build again.
    X509* missing_issuer_of = nullptr;
    for (const ChainError& e : errors) {
      if (e.code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
          e.code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) {
        missing_issuer_of = e.cert;
        break;
      }
    }
    if (missing_issuer_of == nullptr) break;
    if (!fetcher_ || !options_.fetch_aia) {
      notes.push_back("AIA fetching is off");
      break;
    }
    // `missing_issuer_of` belongs to the inventory, the store or fetched_,
    // all alive beyond `ctx`.
    if (!TryAia(missing_issuer_of, &notes)) break;
  }
  ERR_clear_error();

  v1::Finding f = NewCertFinding(kChainProbeInfo.name, facts.thumbprint_sha1, facts, issuer, now_);
  const std::string prefix = absl::StrCat(facts.subject, ": ");
  if (!internal_error.empty()) {
    SetCertFindingResult(v1::STATUS_PROBE_ERROR, hr::kEFail, internal_error, prefix, &f);
    return f;
  }
  const std::string chain_text = absl::StrCat(
      chain_subjects.size(),
      " certificate(s): ", absl::StrJoin(chain_subjects.begin(), chain_subjects.end(), " <- "));
  std::string tail;
  if (!notes.empty()) absl::StrAppend(&tail, "; ", absl::StrJoin(notes, "; "));
  if (!facts.problems.empty()) {
    absl::StrAppend(&tail, "; certificate problems: ", absl::StrJoin(facts.problems, "; "));
  }

  if (errors.empty()) {
    const std::string what =
        facts.self_signed ? "trust anchor (self-signed)" : absl::StrCat("chain OK, ", chain_text);
    if (!expiry_warning.empty()) {
      SetCertFindingResult(v1::STATUS_WARN, 0, absl::StrCat(expiry_warning, "; ", what, tail),
                           prefix, &f);
    } else {
      SetCertFindingResult(
          v1::STATUS_OK, 0,
          absl::StrCat(what, "; expires ",
                       facts.not_after.has_value() ? Day(*facts.not_after) : std::string("?"),
                       tail),
          prefix, &f);
    }
    return f;
  }

  // The most important error decides the code; all are listed.
  const ChainError* primary = &errors.front();
  for (const ChainError& e : errors) {
    if (MapVerifyError(e.code).rank < MapVerifyError(primary->code).rank) primary = &e;
  }
  std::vector<std::string> described;
  std::set<int> seen;
  described.push_back(DescribeError(*primary));
  seen.insert(primary->code);
  for (const ChainError& e : errors) {
    if (seen.insert(e.code).second) described.push_back(DescribeError(e));
  }
  SetCertFindingResult(
      v1::STATUS_FAIL, MapVerifyError(primary->code).hresult,
      absl::StrCat(absl::StrJoin(described, "; also "), "; built ", chain_text, tail), prefix, &f);
  return f;
}

}  // namespace

IssuerFetcher HttpIssuerFetcher(HttpOptions http) {
  return [http = std::move(http)](const std::string& url) -> absl::StatusOr<std::vector<X509Ptr>> {
    if (!IsHttpUrl(url)) {
      return absl::UnimplementedError("only http and https caIssuers URLs are fetched");
    }
    const HttpResult r = HttpGet(url, http);
    if (r.curl_code != 0) {
      return absl::UnavailableError(absl::StrCat("curl error ", r.curl_code, ": ", r.curl_error));
    }
    if (!r.ok()) {
      return absl::UnavailableError(
          absl::StrCat("HTTP ", r.http_status, " from ", r.effective_url));
    }
    absl::StatusOr<std::vector<X509Ptr>> certs = ParseCertificatesOrPkcs7(r.body);
    if (!certs.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("response is not a certificate: ", certs.status().message()));
    }
    return certs;
  };
}

absl::StatusOr<std::unique_ptr<ChainProbe>> ChainProbe::Create(std::unique_ptr<CertSource> source,
                                                               ChainProbeOptions options,
                                                               IssuerFetcher fetcher,
                                                               absl::Duration budget) {
  if (source == nullptr) return absl::InvalidArgumentError("ChainProbe: no certificate source");
  if (options.expiry_warn < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("chain: expiry_warn must not be negative");
  }
  if (options.max_aia_fetches < 0) options.max_aia_fetches = 0;
  return std::unique_ptr<ChainProbe>(
      new ChainProbe(std::move(source), options, std::move(fetcher), budget));
}

std::vector<v1::Finding> ChainProbe::Run(const ProbeContext& ctx) {
  const auto start = std::chrono::steady_clock::now();
  const CertInventory inventory = source_->Load();
  std::vector<v1::Finding> findings;
  findings.reserve(inventory.certs.size() + inventory.problems.size());
  ChainRun run(inventory, ctx.now, options_, fetcher_);
  const absl::Status init = run.Init();
  RunBudget budget(budget_);
  for (const SourcedCert& cert : inventory.certs) {
    const auto one_start = std::chrono::steady_clock::now();
    v1::Finding f;
    if (budget.Spent()) {
      f = BudgetSkippedCertFinding(NewCertFinding(kChainProbeInfo.name, cert.facts.thumbprint_sha1,
                                                  cert.facts, nullptr, ctx.now),
                                   budget.budget());
    } else if (init.ok()) {
      f = run.Evaluate(cert);
    } else {
      f = NewCertFinding(kChainProbeInfo.name, cert.facts.thumbprint_sha1, cert.facts, nullptr,
                         ctx.now);
      SetCertFindingResult(v1::STATUS_PROBE_ERROR, hr::kEOutOfMemory, std::string(init.message()),
                           "chain probe could not run: ", &f);
    }
    SetProtoDuration(absl::FromChrono(std::chrono::steady_clock::now() - one_start),
                     f.mutable_duration());
    findings.push_back(std::move(f));
  }
  for (const CertSourceProblem& p : inventory.problems) {
    v1::Finding f;
    f.set_probe(std::string(kChainProbeInfo.name));
    f.set_target(CertProbeOneLine(p.path, kCertProbeMaxNameBytes));
    SetProtoTime(ctx.now, f.mutable_observed_at());
    SetProtoDuration(absl::FromChrono(std::chrono::steady_clock::now() - start),
                     f.mutable_duration());
    SetCertFindingResult(v1::STATUS_PROBE_ERROR, p.hresult, p.error,
                         absl::StrCat("cannot read certificates from ", p.path, ": "), &f);
    findings.push_back(std::move(f));
  }
  return findings;
}

}  // namespace pkiwatch
