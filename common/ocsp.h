// OCSP (RFC 6960) with OpenSSL: building the request a Windows client would
// send for a certificate, and judging a response the way a careful client
// does before it trusts it (response status, responder identity and
// authorization, signature, CertID, certificate status, freshness, nonce),
// mapped to the HRESULT a Windows client would report.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

// Longest response EvaluateOcspResponse parses (responses with a few
// certificates are a few KB; ADCS ones well under 16 KB).
inline constexpr size_t kMaxOcspResponseBytes = 1u << 20;
// RFC 5019 §5: GET is for requests whose DER is at most 255 bytes.
inline constexpr size_t kMaxOcspGetRequestBytes = 255;

struct OcspRequestOptions {
  // Adds an id-pkix-ocsp-nonce extension with 16 random bytes.
  bool nonce = false;
};

struct OcspRequest {
  std::string der;  // DER OCSPRequest (one CertID, SHA-1 hashes)
  // extnValue of the nonce extension as sent ("" without a nonce); the
  // response must echo it byte for byte (what OCSP_check_nonce compares).
  std::string nonce_ext_value;
};

// One-certificate request for `cert` issued by `issuer` (both borrowed).
// CertID hashes are SHA-1, as Windows and most responders use. Errors:
// InvalidArgument for a null certificate, Internal with OpenSSL's text.
// Thread-safe.
absl::StatusOr<OcspRequest> BuildOcspRequest(X509* cert, X509* issuer,
                                             const OcspRequestOptions& options);

// The GET form of RFC 6960 appendix A.1: `base_url`, a '/' unless it already
// ends with one, then the URL-encoded standard base64 of the request DER.
// (Standard base64 with %2B %2F %3D, not base64url: that is what the RFC
// says and what ADCS and OpenSSL responders decode.)
std::string OcspGetUrl(std::string_view base_url, std::string_view request_der);

struct OcspCheckOptions {
  absl::Time now;
  // The certificate asked about and its issuer; both required, borrowed.
  X509* cert = nullptr;
  X509* issuer = nullptr;
  // Extra certificates where the responder certificate may be found when
  // the response does not include it (e.g. the agent's certificate folders).
  std::vector<X509*> extra_certs;
  // OcspRequest::nonce_ext_value of the request; "" when no nonce was sent.
  std::string nonce_ext_value;
  // A response without the nonce fails (otherwise it is noted only: many
  // responders, CDNs and pre-generated ADCS answers never echo nonces).
  bool require_nonce = false;
  // Clock skew tolerated on thisUpdate/nextUpdate/producedAt.
  absl::Duration clock_tolerance = absl::Minutes(5);
  // Responses without nextUpdate are stale when thisUpdate is older.
  absl::Duration max_age = absl::Hours(24 * 7);
  // WARN when nextUpdate is closer than this; zero: never.
  absl::Duration next_update_warn = absl::ZeroDuration();
  // WARN when a delegated responder certificate expires within this.
  absl::Duration signer_expiry_warn = absl::Hours(48);
};

enum class OcspResponder {
  kUnknown,    // not identified (or evaluation stopped before)
  kIssuer,     // signed by the issuing CA's own key
  kDelegated,  // signed by a certificate the CA issued for OCSP signing
};

struct OcspVerdict {
  v1::Status status = v1::STATUS_UNSPECIFIED;
  uint32_t hresult = 0;  // 0 when OK or WARN
  std::string detail;    // one human line

  // Facts, filled as far as the evaluation got.
  std::string response_status;  // "successful", "tryLater", ...; "" when unparsable
  std::string cert_status;      // "good", "revoked", "unknown"; "" when no match
  std::optional<absl::Time> produced_at;
  std::optional<absl::Time> this_update;
  std::optional<absl::Time> next_update;
  std::optional<absl::Time> revocation_time;
  std::string revocation_reason;  // e.g. "keyCompromise"; "" when absent
  std::string responder;          // signer subject (RFC 2253) when found
  OcspResponder responder_kind = OcspResponder::kUnknown;
  bool signature_verified = false;
  // "not sent", "matched", "absent" (sent, not echoed), "mismatch",
  // "unsolicited" (not sent, present in the response).
  std::string nonce;
};

// Judges the DER `response` to a request for options.cert. Rules, in order;
// the first that is not OK decides:
//   1. not a DER OCSPResponse, or a responseStatus
//      RFC 6960 does not define                    FAIL CRYPT_E_ASN1_BADTAG
//   2. responseStatus tryLater / internalError     FAIL CRYPT_E_REVOCATION_OFFLINE
//      malformedRequest / sigRequired /
//      unauthorized                                FAIL CRYPT_E_NO_REVOCATION_CHECK
//   3. not a basic response, or it does not decode FAIL CRYPT_E_ASN1_BADTAG
//   4. unknown critical responseExtension          FAIL CERT_E_CRITICAL
//   5. responderID matches neither the issuer, nor a certificate in the
//      response, nor extra_certs                   FAIL CRYPT_E_SIGNER_NOT_FOUND
//   6. signature does not verify with the signer   FAIL NTE_BAD_SIGNATURE
//   7. delegated signer not issued by the issuer:
//      names or key ids differ                     FAIL CERT_E_ISSUERCHAINING
//      its signature does not verify               FAIL TRUST_E_CERT_SIGNATURE
//   8. delegated signer without id-kp-OCSPSigning  FAIL CERT_E_WRONG_USAGE
//   9. delegated signer outside its validity       FAIL CERT_E_EXPIRED
//  10. nonce mismatch, or absent when required     FAIL CERT_E_REVOCATION_FAILURE
//  11. no SingleResponse for the certificate       FAIL CRYPT_E_NO_REVOCATION_CHECK
//  12. unknown critical singleExtension            FAIL CERT_E_CRITICAL
//  13. revoked (any matching SingleResponse)       FAIL CRYPT_E_REVOKED
//  14. unknown                                     FAIL CRYPT_E_NO_REVOCATION_CHECK
//  15. thisUpdate or producedAt after now + tolerance
//                                                  FAIL CRYPT_E_REVOCATION_OFFLINE
//  16. nextUpdate before now - tolerance           FAIL CRYPT_E_REVOCATION_OFFLINE
//  17. no nextUpdate, thisUpdate older than max_age
//                                                  FAIL CRYPT_E_REVOCATION_OFFLINE
//  18. producedAt before the certificate's notBefore       WARN
//  19. delegated signer expires within signer_expiry_warn  WARN
//  20. nextUpdate within next_update_warn                  WARN
// Otherwise OK ("good"). A caller error (no cert or issuer, or an issuer
// whose subject is not the certificate's issuer name) is PROBE_ERROR
// E_INVALIDARG. Pure function: never throws, thread-safe, leaves the
// OpenSSL error queue empty.
OcspVerdict EvaluateOcspResponse(std::string_view response, const OcspCheckOptions& options);

}  // namespace pkiwatch
