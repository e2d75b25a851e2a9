// Certificate facts the probes and the dimensions need (names, key ids,
// validity, CDP/OCSP/AIA URLs, the Microsoft certificate template), read
// from an X509 with OpenSSL. Outside input: malformed extensions are reported
// in CertFacts::problems, never crash and never fail the whole read.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"

namespace pkiwatch {

// Microsoft extension OIDs (ADCS).
inline constexpr char kOidCertTemplateV2[] = "1.3.6.1.4.1.311.21.7";    // certificateTemplate
inline constexpr char kOidCertTemplateName[] = "1.3.6.1.4.1.311.20.2";  // enrollCertTypeExtension

// Longest URL or name kept from a certificate; longer values are recorded as
// a problem and dropped (a URL cut short would point somewhere else).
inline constexpr size_t kMaxCertUrlBytes = 8 * 1024;

struct CertTemplate {
  // From 1.3.6.1.4.1.311.21.7 (v2 and later templates): SEQUENCE
  // { templateID OID, majorVersion INTEGER, minorVersion INTEGER OPTIONAL }.
  std::string oid;  // dotted; "" when absent
  std::optional<int64_t> major_version;
  std::optional<int64_t> minor_version;
  // From 1.3.6.1.4.1.311.20.2 (v1 templates): the template name (a BMPString
  // in practice; UTF8String, PrintableString and IA5String are accepted).
  std::string name;  // UTF-8; "" when absent

  bool empty() const { return oid.empty() && name.empty(); }
  // Name when known, else the OID (and version), else "".
  std::string Label() const;
};

struct CertFacts {
  std::string subject;  // RFC 2253, UTF-8 (NameToString)
  std::string issuer;
  std::string serial_hex;                // lower-case hex of the magnitude
  std::string thumbprint_sha1;           // lower-case hex (Windows thumbprint)
  std::optional<absl::Time> not_before;  // nullopt when the time is malformed
  std::optional<absl::Time> not_after;
  std::string subject_key_id_hex;    // "" when absent
  std::string authority_key_id_hex;  // keyIdentifier of the AKI; "" when absent
  bool is_ca = false;                // basicConstraints cA = TRUE
  bool self_issued = false;          // subject == issuer (name comparison)
  bool self_signed = false;          // self-issued and its signature verifies with its own key
  // URIs in certificate order, every scheme (http, ldap, file, ...), as
  // written in the certificate (not normalized).
  std::vector<std::string> cdp_urls;         // CRL distribution points (fullName URIs)
  std::vector<std::string> ocsp_urls;        // AIA id-ad-ocsp
  std::vector<std::string> ca_issuers_urls;  // AIA id-ad-caIssuers
  CertTemplate cert_template;
  // One line per problem found while reading, e.g.
  // "extension 1.3.6.1.4.1.311.21.7: trailing data after the SEQUENCE".
  std::vector<std::string> problems;
};

// Reads every fact of `cert` (borrowed). InvalidArgument only for nullptr;
// malformed parts are listed in problems and leave their field empty.
// Thread-safe for distinct certificates; also for one certificate once its
// extensions were cached (any earlier read does that).
absl::StatusOr<CertFacts> ReadCertFacts(X509* cert);

// Decodes the extnValue contents of 1.3.6.1.4.1.311.21.7 (the DER SEQUENCE).
// InvalidArgument naming what is wrong (not a SEQUENCE, bad OID, version out
// of range, trailing data). Fills oid and the versions only.
absl::StatusOr<CertTemplate> DecodeCertTemplateV2(std::string_view der);

// Decodes the extnValue contents of 1.3.6.1.4.1.311.20.2 to UTF-8.
// InvalidArgument for other ASN.1 types, bad encodings or trailing data.
absl::StatusOr<std::string> DecodeCertTemplateName(std::string_view der);

// Certificates in `bytes`: a DER certificate, PEM certificate blocks (a
// bundle), or a PKCS#7 SignedData ("certs-only", .p7b/.p7c) in DER or PEM,
// as AIA caIssuers URLs and certificate folders hold them. InvalidArgument
// naming the formats tried and OpenSSL's text when nothing was found.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificatesOrPkcs7(std::string_view bytes);

// Hex of the SKI of `cert` ("" when absent or on failure).
std::string SubjectKeyIdHex(X509* cert);
// Hex of the AKI keyIdentifier of `cert` ("" when absent or on failure).
std::string AuthorityKeyIdHex(X509* cert);

// True when `issuer` plausibly issued `cert`: the issuer name matches
// `issuer`'s subject, key identifiers agree when both are present, and
// `cert`'s signature verifies with `issuer`'s public key. Never throws;
// clears the OpenSSL error queue.
bool IsIssuedBy(X509* cert, X509* issuer);

// HRESULTs the certificate probes emit that common/error_catalogue.h has no
// constant for; each is checked against the catalogue by name in
// x509_cert_test.cc.
namespace cert_hr {
inline constexpr uint32_t kCryptESignerNotFound = 0x8009100E;  // CRYPT_E_SIGNER_NOT_FOUND
inline constexpr uint32_t kTrustECertSignature = 0x80096004;   // TRUST_E_CERT_SIGNATURE
inline constexpr uint32_t kCertERole = 0x800B0103;             // CERT_E_ROLE
inline constexpr uint32_t kCertEPathLenConst = 0x800B0104;     // CERT_E_PATHLENCONST
inline constexpr uint32_t kCertEMalformed = 0x800B0108;        // CERT_E_MALFORMED
inline constexpr uint32_t kCertEInvalidName = 0x800B0114;      // CERT_E_INVALID_NAME
}  // namespace cert_hr

}  // namespace pkiwatch
