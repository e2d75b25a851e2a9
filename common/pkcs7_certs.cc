#include "common/pkcs7_certs.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include <climits>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pkiwatch {
namespace {

using Pkcs7Ptr = std::unique_ptr<PKCS7, openssl_internal::Deleter<&PKCS7_free>>;

struct OpenSslFreeDeleter {
  void operator()(void* p) const { OPENSSL_free(p); }
};

// DER of the first PKCS#7 PEM block. Other blocks (a CERTIFICATE before it,
// say) are skipped.
absl::StatusOr<std::string> PemPkcs7ToDer(std::string_view bytes) {
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (bio == nullptr) {
    return absl::ResourceExhaustedError("ParsePkcs7Certificates: BIO_new_mem_buf failed");
  }
  // Bounded: every iteration consumes one PEM block of the bounded input.
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    const int ok = PEM_read_bio(bio.get(), &name, &header, &data, &len);
    std::unique_ptr<char, OpenSslFreeDeleter> name_owner(name);
    std::unique_ptr<char, OpenSslFreeDeleter> header_owner(header);
    std::unique_ptr<unsigned char, OpenSslFreeDeleter> data_owner(data);
    if (ok == 0) {
      const unsigned long err = ERR_peek_last_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        return absl::InvalidArgumentError(
            "ParsePkcs7Certificates: no \"PKCS7\" or \"PKCS #7 SIGNED DATA\" block in PEM input");
      }
      return absl::InvalidArgumentError(
          absl::StrCat("ParsePkcs7Certificates: PEM_read_bio failed: ", OpenSslErrors()));
    }
    const std::string_view label(name);
    if (label == PEM_STRING_PKCS7 || label == PEM_STRING_PKCS7_SIGNED) {
      return std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
    }
  }
}

}  // namespace

absl::StatusOr<std::vector<X509Ptr>> ParsePkcs7Certificates(std::string_view der_or_pem) {
  if (der_or_pem.empty()) {
    return absl::InvalidArgumentError("ParsePkcs7Certificates: empty input");
  }
  if (der_or_pem.size() > kMaxPkcs7Bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ParsePkcs7Certificates: %d bytes exceed the limit of %d", der_or_pem.size(),
        kMaxPkcs7Bytes));
  }
  ERR_clear_error();
  std::string pem_der;
  std::string_view der = der_or_pem;
  // DER starts with a SEQUENCE tag; anything else is tried as PEM.
  if (static_cast<unsigned char>(der_or_pem[0]) != 0x30) {
    if (der_or_pem.find("-----BEGIN ") == std::string_view::npos) {
      return absl::InvalidArgumentError(
          "ParsePkcs7Certificates: neither DER (no SEQUENCE tag) nor PEM");
    }
    absl::StatusOr<std::string> decoded = PemPkcs7ToDer(der_or_pem);
    if (!decoded.ok()) return decoded.status();
    pem_der = std::move(*decoded);
    der = pem_der;
    if (der.empty()) return absl::InvalidArgumentError("ParsePkcs7Certificates: empty PEM block");
  }

  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* const begin = p;
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (p7 == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("ParsePkcs7Certificates: d2i_PKCS7 failed: ", OpenSslErrors()));
  }
  const size_t consumed = static_cast<size_t>(p - begin);
  if (consumed != der.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ParsePkcs7Certificates: %d bytes of trailing data after the %d-byte "
                        "PKCS#7 structure",
                        der.size() - consumed, consumed));
  }
  if (!PKCS7_type_is_signed(p7.get())) {
    const int nid = OBJ_obj2nid(p7->type);
    return absl::InvalidArgumentError(absl::StrCat(
        "ParsePkcs7Certificates: PKCS#7 content type is ",
        nid == NID_undef ? "unknown" : OBJ_nid2sn(nid), ", not signedData"));
  }
  std::vector<X509Ptr> certs;
  // d.sign is NULL when the content is absent ("[0] EXPLICIT" omitted).
  if (p7->d.sign == nullptr || p7->d.sign->cert == nullptr) return certs;
  STACK_OF(X509)* stack = p7->d.sign->cert;
  const int n = sk_X509_num(stack);
  certs.reserve(n > 0 ? static_cast<size_t>(n) : 0);
  for (int i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(stack, i);
    if (cert == nullptr) continue;
    if (X509_up_ref(cert) != 1) {
      return absl::InternalError(
          absl::StrCat("ParsePkcs7Certificates: X509_up_ref failed: ", OpenSslErrors()));
    }
    certs.emplace_back(cert);
  }
  ERR_clear_error();
  return certs;
}

}  // namespace pkiwatch
