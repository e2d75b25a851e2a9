// CRL parsing and the health rules a Windows client applies to a CRL
// (expired -> the revocation server counts as offline, signature, issuer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/x509.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

// Longest CRL accepted by Crl::Parse (large ADCS CRLs reach tens of MB).
inline constexpr size_t kMaxCrlBytes = 256u << 20;

struct CrlInfo {
  std::string issuer;                 // RFC 2253, UTF-8
  std::string authority_key_id_hex;   // keyIdentifier of the AKI, or ""
  absl::Time this_update;
  std::optional<absl::Time> next_update;
  std::string crl_number;             // decimal, or "" when absent
  bool is_delta = false;              // deltaCRLIndicator present
  std::string base_crl_number;        // decimal; delta CRLs only
  uint64_t entry_count = 0;
  std::vector<std::string> freshest_crl_urls;  // delta CDPs (FreshestCRL ext)
  size_t der_size = 0;
  bool indirect = false;              // IDP says indirectCRL
  std::vector<std::string> idp_urls;  // URIs of the IssuingDistributionPoint
  std::vector<std::string> unknown_critical_extensions;  // OIDs
};

class Crl {
 public:
  // Parses DER, or PEM "X509 CRL" / "CRL". Errors: InvalidArgument with
  // OpenSSL's error text ("Crl::Parse: d2i_X509_CRL failed: ..."); callers map
  // it to CRYPT_E_ASN1_BADTAG. Never crashes on arbitrary bytes.
  static absl::StatusOr<Crl> Parse(std::string_view bytes);

  Crl(Crl&&) = default;
  Crl& operator=(Crl&&) = default;
  Crl(const Crl&) = delete;
  Crl& operator=(const Crl&) = delete;

  const CrlInfo& info() const { return info_; }
  // Borrowed; valid as long as this Crl.
  X509_CRL* get() const { return crl_.get(); }

  // True when `serial` is listed. For an indirect CRL an entry may belong to
  // another issuer: use IsRevoked(cert) which checks the certificate issuer.
  bool IsRevoked(const ASN1_INTEGER* serial) const;
  // Serial and (for indirect CRLs) certificate issuer of `cert`.
  bool IsRevoked(X509* cert) const;

 private:
  Crl(X509CrlPtr crl, CrlInfo info)
      : crl_(std::move(crl)), info_(std::move(info)) {}

  X509CrlPtr crl_;
  CrlInfo info_;
};

struct CrlCheckOptions {
  absl::Time now;
  absl::Duration expiry_warn = absl::Hours(24);
  // When set: issuer name must match, signature must verify with its key and
  // (if it has keyUsage) it must allow cRLSign. Borrowed.
  X509* issuer = nullptr;
  // thisUpdate this far in the future is tolerated (clock skew).
  absl::Duration future_tolerance = absl::Minutes(5);
};

struct CrlVerdict {
  v1::Status status = v1::STATUS_UNSPECIFIED;
  uint32_t hresult = 0;  // 0 when OK or WARN
  std::string detail;    // one human line
  bool signature_verified = false;
};

// Applies the rules in order (the first failure wins):
//  1. unknown critical CRL extension      -> FAIL CERT_E_CRITICAL
//  2. issuer name mismatch                -> FAIL CERT_E_ISSUERCHAINING
//  3. issuer keyUsage lacks cRLSign       -> FAIL CERT_E_WRONG_USAGE
//  4. signature does not verify           -> FAIL NTE_BAD_SIGNATURE
//  5. nextUpdate passed                   -> FAIL CRYPT_E_REVOCATION_OFFLINE
//  6. thisUpdate > now + tolerance        -> WARN (clock skew?)
//  7. nextUpdate within expiry_warn       -> WARN
//  8. no nextUpdate                       -> OK, noted in detail
// Pure function; thread-safe for distinct or const inputs.
CrlVerdict EvaluateCrl(const Crl& crl, const CrlCheckOptions& options);

}  // namespace pkiwatch
