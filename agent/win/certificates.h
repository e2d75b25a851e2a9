// Certificate stores, chain building with revocation checking, and the URLs
// CAPI2 fetches (CryptRetrieveObjectByUrlW, the same retrieval path as chain
// building). Raw data only: DER blobs, extension bytes, CERT_TRUST_* bits,
// HRESULTs. Decoding a template extension or judging a chain is portable
// code.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/win/status.h"

namespace pkiwatch::win {

enum class StoreLocation { kLocalMachine, kCurrentUser };

// "LocalMachine\My" style name.
std::string StoreDisplayName(StoreLocation location, std::string_view store);

struct StoreCertificate {
  std::vector<uint8_t> der;
  std::string thumbprint;          // SHA-1, upper-case hex, as Windows shows it
  std::string subject;             // CertNameToStr, X500 form
  std::string issuer;
  std::optional<int64_t> not_after_unix;
  bool archived = false;           // CERT_ARCHIVED_PROP_ID set
  bool has_private_key = false;    // a key provider is linked (CERT_KEY_PROV_INFO_PROP_ID)
  // Raw extnValue bytes (DER inside the OCTET STRING), empty when absent:
  // certificate template v2 (1.3.6.1.4.1.311.21.7) and v1 name
  // (1.3.6.1.4.1.311.20.2).
  std::vector<uint8_t> template_extension;
  std::vector<uint8_t> template_name_extension;
  // The same, decoded (agent/win/template_extension.h); empty/0 when
  // absent or malformed.
  std::string template_oid;
  uint32_t template_major_version = 0;
  uint32_t template_minor_version = 0;
  std::string template_name;
};

// Every certificate in a system store, archived ones included (opened with
// CERT_STORE_ENUM_ARCHIVED_FLAG, read-only). The store is opened with
// CERT_STORE_OPEN_EXISTING_FLAG: kNotFound when it does not exist.
StatusOr<std::vector<StoreCertificate>> EnumerateSystemStore(StoreLocation location,
                                                             std::string_view store);

struct ChainOptions {
  bool check_revocation = true;   // every certificate but the root
  // Bound for all URL retrievals of one chain together.
  std::chrono::milliseconds url_timeout{15000};
  bool cache_only = false;        // no network: what the URL cache holds
  bool machine_engine = true;     // HCCE_LOCAL_MACHINE (the machine's trust)
};

struct ChainElementStatus {
  std::string subject;
  uint32_t error_status = 0;      // CERT_TRUST_IS_REVOKED, ..._REVOCATION_STATUS_UNKNOWN, ...
  uint32_t info_status = 0;
  // dwRevocationResult of this element's revocation check (0 when checked
  // and good), nullopt when no check was made.
  std::optional<uint32_t> revocation_result;
};

struct ChainReport {
  uint32_t error_status = 0;      // CERT_TRUST_* error bits of the whole chain
  uint32_t info_status = 0;
  // CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_BASE): 0 or the
  // HRESULT Windows reports (CERT_E_UNTRUSTEDROOT, CRYPT_E_REVOKED,
  // CRYPT_E_REVOCATION_OFFLINE, CERT_E_EXPIRED, ...).
  uint32_t policy_status = 0;
  // The first non-zero revocation result in the chain (leaf first), or 0.
  uint32_t revocation_error = 0;
  std::vector<ChainElementStatus> elements;  // leaf first (first simple chain)
};

// Builds the chain of a DER certificate with CertGetCertificateChain. An
// error only when the chain cannot be built at all; trust and revocation
// problems are in the report.
StatusOr<ChainReport> VerifyChain(const std::vector<uint8_t>& der, const ChainOptions& options);

// The URLs in a certificate's extensions: CRL distribution points, AIA CA
// issuers and OCSP responders (CryptGetObjectUrl), in extension order.
struct CertificateUrls {
  std::vector<std::string> crl_distribution_points;
  std::vector<std::string> ca_issuers;
  std::vector<std::string> ocsp;
};
StatusOr<CertificateUrls> GetCertificateUrls(const std::vector<uint8_t>& der);

// Fetches `url` the way CAPI2 does (CryptRetrieveObjectByUrlW, raw blobs),
// bypassing the URL cache unless `allow_cache`. Bounded by `timeout`.
// Errors are the HRESULT CAPI2 itself would see (e.g. CRYPT_E_NOT_FOUND,
// ERROR_WINHTTP_CANNOT_CONNECT, ERROR_TIMEOUT); a retrieval that yields no
// bytes at all is CRYPT_E_NOT_FOUND.
StatusOr<std::vector<std::vector<uint8_t>>> RetrieveUrl(std::string_view url,
                                                        std::chrono::milliseconds timeout,
                                                        bool allow_cache = false);

}  // namespace pkiwatch::win
