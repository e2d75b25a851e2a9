// The certificates the portable chain/OCSP/AIA probes watch: PEM, DER and
// PKCS#7 files in configured folders (the Linux stand-in for the Windows
// certificate stores), plus an optional trust bundle file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "common/x509_cert.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

struct SourcedCert {
  X509Ptr cert;
  CertFacts facts;
  std::string path;  // the file it was read from
};

struct CertSourceProblem {
  std::string path;   // file or directory
  std::string error;  // one line, names the failing call
  // ERROR_FILE_NOT_FOUND (cannot open or read), CRYPT_E_ASN1_BADTAG (no
  // certificate in it) or E_FAIL (a limit was hit).
  uint32_t hresult = 0;
};

// One reading of the folders. Movable, not copyable.
struct CertInventory {
  // Unique by SHA-1 thumbprint (first occurrence kept). Order: folders in
  // configuration order, files by name, certificates in file order.
  std::vector<SourcedCert> certs;
  // Certificates of the trust bundle file, in file order.
  std::vector<X509Ptr> trust_bundle;
  // Unreadable folders and files, files without certificates; reading goes
  // on past them.
  std::vector<CertSourceProblem> problems;

  // A certificate among `certs` and `trust_bundle` that issued `cert`
  // (IsIssuedBy: name, key ids, signature). Among several candidates (a
  // renewed CA certificate with the same key) the one valid at `now` with
  // the latest notAfter wins. nullptr when none. Borrowed from this.
  X509* FindIssuer(X509* cert, absl::Time now) const;

  // Self-signed certificates of `certs` plus every trust bundle certificate.
  std::vector<X509*> TrustAnchors() const;
  // Every certificate of `certs` and `trust_bundle`, borrowed.
  std::vector<X509*> All() const;
};

struct CertSourceOptions {
  // Initialized so that designated initializers may leave them out.
  std::vector<std::string> dirs = {};
  std::string trust_bundle_file = {};  // "" for none
  // Limits that keep one run bounded whatever lands in the folders.
  size_t max_files_per_dir = 4096;
  size_t max_file_bytes = 4u << 20;
  size_t max_certs = 20000;
};

// File names (case-insensitive suffix) read from the folders; others are
// skipped without a problem (keys, READMEs, ...).
inline constexpr const char* kCertFileSuffixes[] = {".pem", ".crt", ".cer", ".der",
                                                    ".p7b", ".p7c", ".cert"};

class CertSource {
 public:
  // Checks that every folder is an existing directory and that the trust
  // bundle (when set) holds at least one certificate. Errors name the
  // setting: InvalidArgument ("cert_dirs is empty", "cert_dirs[1] ... is not
  // a directory") or NotFound.
  static absl::StatusOr<std::unique_ptr<CertSource>> Create(CertSourceOptions options);

  // Reads the folders and the bundle now (not recursive; files of
  // kCertFileSuffixes only). Never fails: problems are listed in the
  // inventory. Thread-safe (the object is immutable).
  CertInventory Load() const;

  const CertSourceOptions& options() const { return options_; }

 private:
  explicit CertSource(CertSourceOptions options) : options_(std::move(options)) {}
  const CertSourceOptions options_;
};

// ---- Finding helpers shared by the chain, OCSP and AIA probes ----

inline constexpr size_t kCertProbeMaxDetailBytes = 2048;  // error native detail, summary
inline constexpr size_t kCertProbeMaxNameBytes = 1024;    // names, URLs

// `s` as one line of valid UTF-8 of at most `max_bytes` (control characters
// become spaces).
std::string CertProbeOneLine(std::string_view s, size_t max_bytes);
void SetProtoTime(absl::Time t, google::protobuf::Timestamp* out);
void SetProtoDuration(absl::Duration d, google::protobuf::Duration* out);

// probe, target, observed_at = now, dimensions ca (issuer name) / ca_key_id
// (AKI, else `issuer`'s SKI when given) / template_name / template_oid, and
// target_cert {subject, thumbprint, not_after} from `cert`.
v1::Finding NewCertFinding(std::string_view probe, std::string target, const CertFacts& cert,
                           X509* issuer, absl::Time now);

// `base` (a NewCertFinding with its dimensions) as the PROBE_ERROR
// ERROR_TIMEOUT finding of a target not started because the run's budget
// was spent (MakeBudgetSkippedFinding), keeping target_cert.
v1::Finding BudgetSkippedCertFinding(const v1::Finding& base, absl::Duration budget);

// status, error (MakeErrorInfo(hresult, detail) unless hresult is 0) and
// summary = `summary_prefix` + detail, all bounded.
void SetCertFindingResult(v1::Status status, uint32_t hresult, std::string_view detail,
                          std::string_view summary_prefix, v1::Finding* f);

}  // namespace pkiwatch
