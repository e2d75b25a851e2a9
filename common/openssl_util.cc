#include "common/openssl_util.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"

namespace pkiwatch {
namespace {

struct OpenSslFreeDeleter {
  void operator()(void* p) const { OPENSSL_free(p); }
};
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// BIO over caller memory; read-only, so no copy is made.
BioPtr MemBio(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return "";
  return std::string(data, static_cast<size_t>(len));
}

bool LooksLikePem(std::string_view bytes) {
  return bytes.substr(0, 64 * 1024).find("-----BEGIN ") !=
         std::string_view::npos;
}

}  // namespace

void X509StackDeleter::operator()(STACK_OF(X509) * s) const {
  sk_X509_pop_free(s, X509_free);
}

std::string OpenSslErrors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) out.append("; ");
    out.append(buf);
  }
  return out.empty() ? "no OpenSSL error" : out;
}

std::string NameToString(const X509_NAME* name) {
  if (name == nullptr) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return "";
  // RFC 2253 but with UTF-8 kept as UTF-8 instead of \XX escapes.
  constexpr unsigned long kFlags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (X509_NAME_print_ex(bio.get(), name, 0, kFlags) < 0) {
    ERR_clear_error();
    return "";
  }
  std::string out = BioContents(bio.get());
  // A BMPString or a malformed UTF8String can still yield invalid UTF-8;
  // protobuf string fields must not carry it.
  if (!IsValidUtf8(out)) out = SanitizeUtf8(out, out.size() * 3);
  return out;
}

std::string HexLower(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0x0F]);
  }
  return out;
}

std::string Asn1IntegerToDecimal(const ASN1_INTEGER* value) {
  if (value == nullptr) return "";
  BignumPtr bn(ASN1_INTEGER_to_BN(value, nullptr));
  if (bn == nullptr) {
    ERR_clear_error();
    return "";
  }
  std::unique_ptr<char, OpenSslFreeDeleter> dec(BN_bn2dec(bn.get()));
  if (dec == nullptr) {
    ERR_clear_error();
    return "";
  }
  return std::string(dec.get());
}

std::string Asn1IntegerToHex(const ASN1_INTEGER* value) {
  if (value == nullptr) return "";
  const unsigned char* data = ASN1_STRING_get0_data(value);
  int len = ASN1_STRING_length(value);
  if (len <= 0 || data == nullptr) return "00";
  return HexLower(std::string_view(reinterpret_cast<const char*>(data),
                                   static_cast<size_t>(len)));
}

absl::StatusOr<absl::Time> Asn1TimeToAbsl(const ASN1_TIME* time) {
  if (time == nullptr) {
    return absl::InvalidArgumentError("Asn1TimeToAbsl: no time given");
  }
  // ASN1_TIME_to_tm validates the UTCTime/GeneralizedTime syntax.
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (ASN1_TIME_check(time) != 1 || ASN1_TIME_to_tm(time, &tm) != 1) {
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(time)),
                     static_cast<size_t>(std::max(0, ASN1_STRING_length(time))));
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrFormat(
        "Asn1TimeToAbsl: malformed ASN.1 time \"%s\"",
        SanitizeUtf8(text, 64)));
  }
  absl::CivilSecond civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                          tm.tm_hour, tm.tm_min, tm.tm_sec);
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

absl::StatusOr<std::vector<PemBlock>> ReadPemBlocks(std::string_view text,
                                                   std::string_view api) {
  const std::string who(api);
  BioPtr bio = MemBio(text);
  if (bio == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": BIO_new_mem_buf failed"));
  }
  std::vector<PemBlock> blocks;
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
        return blocks;  // end of input
      }
      return absl::InvalidArgumentError(
          absl::StrCat(who, ": PEM_read_bio failed: ", OpenSslErrors()));
    }
    blocks.push_back({name, std::string(reinterpret_cast<const char*>(data),
                                        static_cast<size_t>(len))});
  }
}

absl::StatusOr<std::vector<X509Ptr>> LoadCertificates(
    std::string_view pem_or_der) {
  if (pem_or_der.empty()) {
    return absl::InvalidArgumentError("LoadCertificates: empty input");
  }
  ERR_clear_error();
  std::vector<X509Ptr> certs;
  if (!LooksLikePem(pem_or_der)) {
    const unsigned char* p =
        reinterpret_cast<const unsigned char*>(pem_or_der.data());
    if (pem_or_der.size() > static_cast<size_t>(LONG_MAX)) {
      return absl::InvalidArgumentError("LoadCertificates: input too large");
    }
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(pem_or_der.size())));
    if (cert == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "LoadCertificates: d2i_X509 failed: ", OpenSslErrors()));
    }
    certs.push_back(std::move(cert));
    return certs;
  }

  auto blocks = ReadPemBlocks(pem_or_der, "LoadCertificates");
  if (!blocks.ok()) return blocks.status();
  for (const PemBlock& block : *blocks) {
    const bool trusted = block.name == "TRUSTED CERTIFICATE";
    if (block.name != "CERTIFICATE" && block.name != "X509 CERTIFICATE" && !trusted) {
      continue;
    }
    const unsigned char* p = reinterpret_cast<const unsigned char*>(block.der.data());
    const long len = static_cast<long>(block.der.size());
    X509Ptr cert(trusted ? d2i_X509_AUX(nullptr, &p, len) : d2i_X509(nullptr, &p, len));
    if (cert == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("LoadCertificates: d2i_X509 of PEM block \"", block.name, "\" #",
                       certs.size() + 1, " failed: ", OpenSslErrors()));
    }
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        "LoadCertificates: no CERTIFICATE block in PEM input");
  }
  return certs;
}

absl::StatusOr<std::string> ReadFileBytes(const std::string& path,
                                          size_t max_bytes) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrFormat("fopen(%s): errno %d (%s)", path,
                                               errno, std::strerror(errno)));
  }
  std::string out;
  char buf[64 * 1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) {
    if (out.size() + n > max_bytes) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "ReadFileBytes(%s): larger than %d bytes", path, max_bytes));
    }
    out.append(buf, n);
  }
  if (std::ferror(f.get())) {
    return absl::DataLossError(absl::StrFormat("fread(%s) failed", path));
  }
  return out;
}

absl::StatusOr<X509Ptr> LoadCertificateFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::vector<X509Ptr>> certs = LoadCertificates(*bytes);
  if (!certs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", certs.status().message()));
  }
  return std::move(certs->front());
}

std::string CertThumbprintSha1(X509* cert) {
  if (cert == nullptr) return "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha1(), md, &len) != 1) {
    ERR_clear_error();
    return "";
  }
  return HexLower(std::string_view(reinterpret_cast<const char*>(md), len));
}

}  // namespace pkiwatch
