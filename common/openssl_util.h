// OpenSSL ownership and conversion helpers. Feature code never calls
// X509_free & co. by hand: every object is held by one of these aliases.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pkiwatch {

namespace openssl_internal {
template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    if (p != nullptr) Fn(p);
  }
};
}  // namespace openssl_internal

using X509Ptr = std::unique_ptr<X509, openssl_internal::Deleter<&X509_free>>;
using X509CrlPtr =
    std::unique_ptr<X509_CRL, openssl_internal::Deleter<&X509_CRL_free>>;
using BioPtr = std::unique_ptr<BIO, openssl_internal::Deleter<&BIO_free_all>>;
using EvpPkeyPtr =
    std::unique_ptr<EVP_PKEY, openssl_internal::Deleter<&EVP_PKEY_free>>;
using X509StorePtr =
    std::unique_ptr<X509_STORE, openssl_internal::Deleter<&X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX,
                    openssl_internal::Deleter<&X509_STORE_CTX_free>>;
using X509NamePtr =
    std::unique_ptr<X509_NAME, openssl_internal::Deleter<&X509_NAME_free>>;
using Asn1IntegerPtr =
    std::unique_ptr<ASN1_INTEGER, openssl_internal::Deleter<&ASN1_INTEGER_free>>;
using Asn1TimePtr =
    std::unique_ptr<ASN1_TIME, openssl_internal::Deleter<&ASN1_TIME_free>>;
using Asn1OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING,
                    openssl_internal::Deleter<&ASN1_OCTET_STRING_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, openssl_internal::Deleter<&BN_free>>;
using AuthorityKeyIdPtr =
    std::unique_ptr<AUTHORITY_KEYID,
                    openssl_internal::Deleter<&AUTHORITY_KEYID_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, openssl_internal::Deleter<&GENERAL_NAMES_free>>;
using DistPointsPtr =
    std::unique_ptr<CRL_DIST_POINTS,
                    openssl_internal::Deleter<&CRL_DIST_POINTS_free>>;
using AuthorityInfoAccessPtr =
    std::unique_ptr<AUTHORITY_INFO_ACCESS,
                    openssl_internal::Deleter<&AUTHORITY_INFO_ACCESS_free>>;
using OcspRequestPtr =
    std::unique_ptr<OCSP_REQUEST, openssl_internal::Deleter<&OCSP_REQUEST_free>>;
using OcspResponsePtr =
    std::unique_ptr<OCSP_RESPONSE,
                    openssl_internal::Deleter<&OCSP_RESPONSE_free>>;
using OcspBasicRespPtr =
    std::unique_ptr<OCSP_BASICRESP,
                    openssl_internal::Deleter<&OCSP_BASICRESP_free>>;
using OcspCertIdPtr =
    std::unique_ptr<OCSP_CERTID, openssl_internal::Deleter<&OCSP_CERTID_free>>;

// Frees the stack and the certificates in it.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const;
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// Drains this thread's OpenSSL error queue into one line,
// "error:...:reason; error:...:reason"; "no OpenSSL error" when empty.
std::string OpenSslErrors();

// RFC 2253 form in UTF-8, most significant RDN last as RFC 2253 writes it
// ("CN=Issuing CA,DC=corp,DC=example"). "" for nullptr or on failure.
std::string NameToString(const X509_NAME* name);

// Lower-case hex of arbitrary bytes, no separators.
std::string HexLower(std::string_view bytes);

// ASN1_INTEGER as decimal ("" for nullptr or on failure); negative numbers
// carry a leading '-'.
std::string Asn1IntegerToDecimal(const ASN1_INTEGER* value);

// ASN1_INTEGER as lower-case hex of its magnitude, as certificate serial
// numbers are usually shown ("" for nullptr).
std::string Asn1IntegerToHex(const ASN1_INTEGER* value);

// UTCTime or GeneralizedTime to absl::Time. InvalidArgument for nullptr or a
// malformed time.
absl::StatusOr<absl::Time> Asn1TimeToAbsl(const ASN1_TIME* time);

// One block of PEM text: its label ("CERTIFICATE", "X509 CRL", ...) and the
// decoded bytes.
struct PemBlock {
  std::string name;
  std::string der;
};

// Every PEM block of `text`, in order; text around the blocks is skipped.
// InvalidArgument (prefixed with `api`) when a block is malformed.
absl::StatusOr<std::vector<PemBlock>> ReadPemBlocks(std::string_view text, std::string_view api);

// All certificates in `pem_or_der`: one DER certificate, or any number of PEM
// "CERTIFICATE" / "TRUSTED CERTIFICATE" / "X509 CERTIFICATE" blocks (other PEM
// blocks are skipped). InvalidArgument with OpenSSL's error text when nothing
// could be read; a PEM block that fails to parse is an error too.
absl::StatusOr<std::vector<X509Ptr>> LoadCertificates(std::string_view pem_or_der);

// First certificate of a PEM or DER file. NotFound when the file cannot be
// opened, InvalidArgument when it holds no certificate.
absl::StatusOr<X509Ptr> LoadCertificateFile(const std::string& path);

// Reads a whole file (bounded by max_bytes; ResourceExhausted beyond).
absl::StatusOr<std::string> ReadFileBytes(const std::string& path,
                                          size_t max_bytes = 64 << 20);

// SHA-1 of the DER encoding, lower-case hex (the Windows "thumbprint").
std::string CertThumbprintSha1(X509* cert);

}  // namespace pkiwatch
