// Certificates out of a PKCS#7 SignedData, typically the "degenerate"
// certs-only form (no content, no signers) that SCEP GetCACert returns as
// application/x-x509-ca-ra-cert and that .p7b files hold.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/openssl_util.h"

namespace pkiwatch {

// Longest input accepted by ParsePkcs7Certificates.
inline constexpr size_t kMaxPkcs7Bytes = 16u << 20;

// Parses DER (BER is accepted, as OpenSSL reads it), or the first PEM block
// labelled "PKCS7" or "PKCS #7 SIGNED DATA" (text around it is ignored), and
// returns the certificates of its SignedData in their stored order. A
// SignedData with signers is accepted too (only its certificates are read).
// An empty certificate set is returned as an empty vector.
// Errors (InvalidArgument, message names the OpenSSL call and its error
// text): empty or oversized input, not PKCS#7, a PKCS#7 type other than
// signedData, trailing bytes after the DER structure. Never crashes on
// arbitrary bytes. Thread-safe.
absl::StatusOr<std::vector<X509Ptr>> ParsePkcs7Certificates(std::string_view der_or_pem);

}  // namespace pkiwatch
