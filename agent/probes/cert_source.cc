#include "agent/probes/cert_source.h"

#include <openssl/err.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/probe_budget.h"
#include "common/error_catalogue.h"
#include "common/utf8.h"

namespace pkiwatch {
namespace {

namespace fs = std::filesystem;

bool HasCertSuffix(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const char* suffix : kCertFileSuffixes) {
    if (absl::EndsWith(lower, suffix)) return true;
  }
  return false;
}

absl::StatusOr<std::vector<X509Ptr>> ReadCertFile(const std::string& path, size_t max_bytes) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path, max_bytes);
  if (!bytes.ok()) return bytes.status();
  return ParseCertificatesOrPkcs7(*bytes);
}

// ReadFileBytes: NotFound (open), ResourceExhausted (size), DataLoss (read);
// ParseCertificatesOrPkcs7: InvalidArgument.
uint32_t ProblemCode(const absl::Status& s) {
  if (absl::IsInvalidArgument(s)) return hr::kCryptEAsn1BadTag;
  if (absl::IsResourceExhausted(s)) return hr::kEFail;
  return hr::kErrorFileNotFound;
}

}  // namespace

std::string CertProbeOneLine(std::string_view s, size_t max_bytes) {
  std::string clean = SanitizeUtf8(s, max_bytes);
  for (char& c : clean) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return clean;
}

void SetProtoTime(absl::Time t, google::protobuf::Timestamp* out) {
  // ToUnixSeconds rounds towards the past, so nanos is in [0, 1e9).
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

void SetProtoDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

v1::Finding NewCertFinding(std::string_view probe, std::string target, const CertFacts& cert,
                           X509* issuer, absl::Time now) {
  v1::Finding f;
  f.set_probe(std::string(probe));
  f.set_target(CertProbeOneLine(target, kCertProbeMaxNameBytes));
  SetProtoTime(now, f.mutable_observed_at());
  v1::Dimensions* dims = f.mutable_dimensions();
  dims->set_ca(CertProbeOneLine(cert.issuer, kCertProbeMaxNameBytes));
  std::string key_id = cert.authority_key_id_hex;
  if (key_id.empty() && issuer != nullptr) key_id = SubjectKeyIdHex(issuer);
  dims->set_ca_key_id(CertProbeOneLine(key_id, kCertProbeMaxNameBytes));
  dims->set_template_name(CertProbeOneLine(cert.cert_template.name, kCertProbeMaxNameBytes));
  dims->set_template_oid(CertProbeOneLine(cert.cert_template.oid, kCertProbeMaxNameBytes));
  v1::TargetCert* tc = f.mutable_target_cert();
  tc->set_subject(CertProbeOneLine(cert.subject, kCertProbeMaxNameBytes));
  tc->set_thumbprint(cert.thumbprint_sha1);
  if (cert.not_after.has_value()) SetProtoTime(*cert.not_after, tc->mutable_not_after());
  return f;
}

v1::Finding BudgetSkippedCertFinding(const v1::Finding& base, absl::Duration budget) {
  const absl::Time observed = absl::FromUnixSeconds(base.observed_at().seconds()) +
                              absl::Nanoseconds(base.observed_at().nanos());
  v1::Finding f =
      MakeBudgetSkippedFinding(base.probe(), base.target(), observed, budget, base.dimensions());
  *f.mutable_target_cert() = base.target_cert();
  return f;
}

void SetCertFindingResult(v1::Status status, uint32_t hresult, std::string_view detail,
                          std::string_view summary_prefix, v1::Finding* f) {
  const std::string line = CertProbeOneLine(detail, kCertProbeMaxDetailBytes);
  f->set_status(status);
  if (hresult != 0) *f->mutable_error() = MakeErrorInfo(hresult, line);
  f->set_summary(
      CertProbeOneLine(absl::StrCat(std::string(summary_prefix), line), kCertProbeMaxDetailBytes));
}

X509* CertInventory::FindIssuer(X509* cert, absl::Time now) const {
  X509* best = nullptr;
  bool best_valid = false;
  absl::Time best_not_after = absl::InfinitePast();
  auto consider = [&](X509* candidate) {
    if (candidate == nullptr || candidate == cert || X509_cmp(candidate, cert) == 0) return;
    if (!IsIssuedBy(cert, candidate)) return;
    absl::StatusOr<absl::Time> nb = Asn1TimeToAbsl(X509_get0_notBefore(candidate));
    absl::StatusOr<absl::Time> na = Asn1TimeToAbsl(X509_get0_notAfter(candidate));
    const bool valid = nb.ok() && na.ok() && *nb <= now && now <= *na;
    const absl::Time not_after = na.ok() ? *na : absl::InfinitePast();
    if (best == nullptr || (valid && !best_valid) ||
        (valid == best_valid && not_after > best_not_after)) {
      best = candidate;
      best_valid = valid;
      best_not_after = not_after;
    }
  };
  for (const SourcedCert& c : certs) consider(c.cert.get());
  for (const X509Ptr& c : trust_bundle) consider(c.get());
  return best;
}

std::vector<X509*> CertInventory::TrustAnchors() const {
  std::vector<X509*> out;
  for (const SourcedCert& c : certs) {
    if (c.facts.self_signed) out.push_back(c.cert.get());
  }
  for (const X509Ptr& c : trust_bundle) out.push_back(c.get());
  return out;
}

std::vector<X509*> CertInventory::All() const {
  std::vector<X509*> out;
  out.reserve(certs.size() + trust_bundle.size());
  for (const SourcedCert& c : certs) out.push_back(c.cert.get());
  for (const X509Ptr& c : trust_bundle) out.push_back(c.get());
  return out;
}

absl::StatusOr<std::unique_ptr<CertSource>> CertSource::Create(CertSourceOptions options) {
  if (options.dirs.empty()) return absl::InvalidArgumentError("cert_dirs is empty");
  for (size_t i = 0; i < options.dirs.size(); ++i) {
    std::error_code ec;
    const fs::file_status st = fs::status(options.dirs[i], ec);
    if (ec || !fs::exists(st)) {
      return absl::NotFoundError(absl::StrFormat("cert_dirs[%d] \"%s\": %s", i, options.dirs[i],
                                                 ec ? ec.message() : "does not exist"));
    }
    if (!fs::is_directory(st)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("cert_dirs[%d] \"%s\" is not a directory", i, options.dirs[i]));
    }
  }
  if (!options.trust_bundle_file.empty()) {
    absl::StatusOr<std::vector<X509Ptr>> bundle =
        ReadCertFile(options.trust_bundle_file, options.max_file_bytes);
    if (!bundle.ok()) {
      return absl::Status(bundle.status().code(),
                          absl::StrCat("trust_bundle_file \"", options.trust_bundle_file,
                                       "\": ", bundle.status().message()));
    }
  }
  return std::unique_ptr<CertSource>(new CertSource(std::move(options)));
}

CertInventory CertSource::Load() const {
  CertInventory inv;
  std::set<std::string> seen;  // thumbprints
  size_t total = 0;
  for (const std::string& dir : options_.dirs) {
    std::vector<std::string> files;
    std::error_code ec;
    fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      inv.problems.push_back(
          {dir, absl::StrCat("opendir: ", ec.message()), hr::kErrorFileNotFound});
      continue;
    }
    bool truncated = false;
    for (const fs::directory_entry& entry : it) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name[0] == '.' || !HasCertSuffix(name)) continue;
      std::error_code type_ec;
      if (!entry.is_regular_file(type_ec)) continue;
      if (files.size() >= options_.max_files_per_dir) {
        truncated = true;
        break;
      }
      files.push_back(entry.path().string());
    }
    if (truncated) {
      inv.problems.push_back(
          {dir,
           absl::StrFormat("more than %d certificate files; the rest were skipped",
                           options_.max_files_per_dir),
           hr::kEFail});
    }
    std::sort(files.begin(), files.end());
    for (const std::string& path : files) {
      absl::StatusOr<std::vector<X509Ptr>> certs = ReadCertFile(path, options_.max_file_bytes);
      if (!certs.ok()) {
        inv.problems.push_back(
            {path, std::string(certs.status().message()), ProblemCode(certs.status())});
        continue;
      }
      for (X509Ptr& cert : *certs) {
        if (total >= options_.max_certs) {
          inv.problems.push_back(
              {path,
               absl::StrFormat("more than %d certificates in total; the rest were skipped",
                               options_.max_certs),
               hr::kEFail});
          ERR_clear_error();
          return inv;
        }
        absl::StatusOr<CertFacts> facts = ReadCertFacts(cert.get());
        if (!facts.ok()) continue;  // only for nullptr, which cannot happen here
        if (!seen.insert(facts->thumbprint_sha1).second) continue;
        ++total;
        inv.certs.push_back({std::move(cert), *std::move(facts), path});
      }
    }
  }
  if (!options_.trust_bundle_file.empty()) {
    absl::StatusOr<std::vector<X509Ptr>> bundle =
        ReadCertFile(options_.trust_bundle_file, options_.max_file_bytes);
    if (bundle.ok()) {
      inv.trust_bundle = *std::move(bundle);
    } else {
      inv.problems.push_back({options_.trust_bundle_file, std::string(bundle.status().message()),
                              ProblemCode(bundle.status())});
    }
  }
  ERR_clear_error();
  return inv;
}

}  // namespace pkiwatch
