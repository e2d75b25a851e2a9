#include "tests/unit/agent/probes/test_pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace pkiwatch::testing {
namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, openssl_internal::Deleter<&ASN1_OBJECT_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, openssl_internal::Deleter<&PKCS7_free>>;
using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, openssl_internal::Deleter<&X509_EXTENSION_free>>;

absl::Status OpenSslError(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", OpenSslErrors()));
}

// DER length octets.
std::string DerLength(size_t len) {
  if (len < 0x80) return std::string(1, static_cast<char>(len));
  std::string bytes;
  for (size_t n = len; n > 0; n >>= 8) bytes.insert(bytes.begin(), static_cast<char>(n & 0xFF));
  return std::string(1, static_cast<char>(0x80 | bytes.size())) + bytes;
}

std::string DerTlv(unsigned char tag, std::string_view content) {
  return std::string(1, static_cast<char>(tag)) + DerLength(content.size()) + std::string(content);
}

template <typename T, int (*I2d)(const T*, unsigned char**)>
std::string ToDer(const T* value) {
  unsigned char* out = nullptr;
  const int len = I2d(value, &out);
  if (len <= 0 || out == nullptr) return "";
  std::string der(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return der;
}

absl::Status AddConfExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (ext == nullptr) {
    return OpenSslError(absl::StrCat("X509V3_EXT_nconf_nid(", OBJ_nid2sn(nid), ", ", value, ")"));
  }
  if (X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("X509_add_ext");
  return absl::OkStatus();
}

absl::Status AddRawExt(X509* cert, const std::string& oid, std::string_view der) {
  Asn1ObjectPtr obj(OBJ_txt2obj(oid.c_str(), 1));
  if (obj == nullptr) return OpenSslError(absl::StrCat("OBJ_txt2obj(", oid, ")"));
  Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
  if (value == nullptr ||
      ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<int>(der.size())) != 1) {
    return OpenSslError("ASN1_OCTET_STRING_set");
  }
  X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 0, value.get()));
  if (ext == nullptr) return OpenSslError("X509_EXTENSION_create_by_OBJ");
  if (X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("X509_add_ext");
  return absl::OkStatus();
}

absl::Status SetTime(absl::Time t, int (*setter)(X509*, const ASN1_TIME*), X509* cert) {
  Asn1TimePtr value(ASN1_TIME_set(nullptr, absl::ToTimeT(t)));
  if (value == nullptr || setter(cert, value.get()) != 1) return OpenSslError("ASN1_TIME_set");
  return absl::OkStatus();
}

// Re-signs a basic response after its tbsResponseData was changed (or with
// another key). OpenSSL exposes the parts only as const; they belong to `bs`,
// which this test helper owns, so casting const away is safe here.
absl::Status Resign(OCSP_BASICRESP* bs, EVP_PKEY* key) {
  auto* alg = const_cast<X509_ALGOR*>(OCSP_resp_get0_tbs_sigalg(bs));
  auto* sig = const_cast<ASN1_OCTET_STRING*>(OCSP_resp_get0_signature(bs));
  auto* data = const_cast<OCSP_RESPDATA*>(OCSP_resp_get0_respdata(bs));
  if (ASN1_item_sign(ASN1_ITEM_rptr(OCSP_RESPDATA), alg, nullptr, sig, data, key, EVP_sha256()) <=
      0) {
    return OpenSslError("ASN1_item_sign(OCSP_RESPDATA)");
  }
  return absl::OkStatus();
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string IndexTime(absl::Time t) {
  // openssl ca writes UTCTime (YYMMDDHHMMSSZ) up to 2049.
  return absl::FormatTime("%y%m%d%H%M%SZ", t, absl::UTCTimeZone());
}

}  // namespace

std::string EncodeCertTemplateV2(std::string_view oid, int64_t major,
                                 std::optional<int64_t> minor) {
  Asn1ObjectPtr obj(OBJ_txt2obj(std::string(oid).c_str(), 1));
  if (obj == nullptr) return "";
  std::string content = ToDer<ASN1_OBJECT, i2d_ASN1_OBJECT>(obj.get());
  auto integer = [](int64_t v) {
    Asn1IntegerPtr i(ASN1_INTEGER_new());
    if (i == nullptr || ASN1_INTEGER_set_int64(i.get(), v) != 1) return std::string();
    return ToDer<ASN1_INTEGER, i2d_ASN1_INTEGER>(i.get());
  };
  content += integer(major);
  if (minor.has_value()) content += integer(*minor);
  return DerTlv(0x30, content);
}

std::string EncodeBmpString(std::string_view ascii) {
  std::string utf16;
  for (char c : ascii) {
    utf16.push_back('\0');
    utf16.push_back(c);
  }
  return DerTlv(0x1E, utf16);
}

absl::StatusOr<TestKeyCert> MakeTestCert(const TestCertSpec& spec, const TestKeyCert* issuer) {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("EVP_EC_gen(P-256)");
  return MakeTestCertWithKey(spec, std::move(key), issuer);
}

absl::StatusOr<TestKeyCert> MakeTestCertWithKey(const TestCertSpec& spec, EvpPkeyPtr key,
                                                const TestKeyCert* issuer) {
  if (key == nullptr) return absl::InvalidArgumentError("MakeTestCertWithKey: no key");
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("X509_set_version");
  if (ASN1_INTEGER_set_int64(X509_get_serialNumber(cert.get()), spec.serial) != 1) {
    return OpenSslError("ASN1_INTEGER_set_int64");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("pkiwatch test"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                 -1, -1, 0) != 1) {
    return OpenSslError("X509_NAME_add_entry_by_txt");
  }
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert.get();
  EVP_PKEY* signing_key = issuer != nullptr ? issuer->key.get() : key.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1) {
    return OpenSslError("X509_set_issuer_name");
  }
  if (absl::Status s = SetTime(spec.not_before, &X509_set1_notBefore, cert.get()); !s.ok())
    return s;
  if (absl::Status s = SetTime(spec.not_after, &X509_set1_notAfter, cert.get()); !s.ok()) return s;
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return OpenSslError("X509_set_pubkey");

  std::vector<std::pair<int, std::string>> conf;
  conf.push_back({NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"});
  if (!spec.key_usage.empty()) conf.push_back({NID_key_usage, spec.key_usage});
  if (!spec.extended_key_usage.empty())
    conf.push_back({NID_ext_key_usage, spec.extended_key_usage});
  if (spec.key_ids) {
    conf.push_back({NID_subject_key_identifier, "hash"});
    conf.push_back({NID_authority_key_identifier, "keyid:always"});
  }
  auto uris = [](const std::vector<std::string>& urls, const char* prefix) {
    std::vector<std::string> parts;
    for (const std::string& u : urls) parts.push_back(absl::StrCat(prefix, "URI:", u));
    return absl::StrJoin(parts, ",");
  };
  if (!spec.cdp_urls.empty())
    conf.push_back({NID_crl_distribution_points, uris(spec.cdp_urls, "")});
  std::vector<std::string> aia;
  if (!spec.ocsp_urls.empty()) aia.push_back(uris(spec.ocsp_urls, "OCSP;"));
  if (!spec.ca_issuers_urls.empty()) aia.push_back(uris(spec.ca_issuers_urls, "caIssuers;"));
  if (!aia.empty()) conf.push_back({NID_info_access, absl::StrJoin(aia, ",")});
  for (const auto& [nid, value] : conf) {
    if (absl::Status s = AddConfExt(cert.get(), issuer_cert, nid, value); !s.ok()) return s;
  }
  if (!spec.template_oid.empty()) {
    const std::string der =
        EncodeCertTemplateV2(spec.template_oid, spec.template_major, spec.template_minor);
    if (der.empty()) return absl::InvalidArgumentError("bad template OID " + spec.template_oid);
    if (absl::Status s = AddRawExt(cert.get(), "1.3.6.1.4.1.311.21.7", der); !s.ok()) return s;
  }
  if (!spec.template_name.empty()) {
    if (absl::Status s =
            AddRawExt(cert.get(), "1.3.6.1.4.1.311.20.2", EncodeBmpString(spec.template_name));
        !s.ok()) {
      return s;
    }
  }
  for (const auto& [oid, der] : spec.raw_extensions) {
    if (absl::Status s = AddRawExt(cert.get(), oid, der); !s.ok()) return s;
  }
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0) return OpenSslError("X509_sign");
  return TestKeyCert{std::move(key), std::move(cert)};
}

absl::StatusOr<TestHierarchy> MakeTestHierarchy(absl::Time now, std::string issuing_aia_url) {
  TestCertSpec spec;
  spec.common_name = "Test Root CA";
  spec.serial = 1;
  spec.is_ca = true;
  spec.key_usage = "critical,keyCertSign,cRLSign,digitalSignature";
  spec.not_before = now - absl::Hours(24 * 365);
  spec.not_after = now + absl::Hours(24 * 3650);
  absl::StatusOr<TestKeyCert> root = MakeTestCert(spec, nullptr);
  if (!root.ok()) return root.status();
  spec.common_name = "Test Issuing CA";
  spec.serial = 2;
  if (!issuing_aia_url.empty()) spec.ca_issuers_urls = {std::move(issuing_aia_url)};
  absl::StatusOr<TestKeyCert> issuing = MakeTestCert(spec, &*root);
  if (!issuing.ok()) return issuing.status();
  return TestHierarchy{*std::move(root), *std::move(issuing)};
}

std::string CertDer(X509* cert) { return ToDer<X509, i2d_X509>(cert); }

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return "";
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string CertsOnlyPkcs7Der(const std::vector<X509*>& certs) {
  Pkcs7Ptr p7(PKCS7_new());
  if (p7 == nullptr || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1) {
    return "";
  }
  for (X509* c : certs) {
    if (PKCS7_add_certificate(p7.get(), c) != 1) return "";
  }
  return ToDer<PKCS7, i2d_PKCS7>(p7.get());
}

absl::Status WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> MakeOcspResponse(const TestOcspResponseSpec& spec) {
  if (spec.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    OcspResponsePtr resp(OCSP_response_create(spec.response_status, nullptr));
    if (resp == nullptr) return OpenSslError("OCSP_response_create");
    return ToDer<OCSP_RESPONSE, i2d_OCSP_RESPONSE>(resp.get());
  }
  if (spec.cert == nullptr || spec.issuer == nullptr || spec.signer == nullptr) {
    return absl::InvalidArgumentError("MakeOcspResponse: cert, issuer and signer are required");
  }
  OcspBasicRespPtr bs(OCSP_BASICRESP_new());
  if (bs == nullptr) return OpenSslError("OCSP_BASICRESP_new");
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), spec.cert, spec.issuer));
  if (id == nullptr) return OpenSslError("OCSP_cert_to_id");
  Asn1TimePtr this_update(ASN1_GENERALIZEDTIME_set(nullptr, absl::ToTimeT(spec.this_update)));
  Asn1TimePtr next_update(spec.next_update.has_value()
                              ? ASN1_GENERALIZEDTIME_set(nullptr, absl::ToTimeT(*spec.next_update))
                              : nullptr);
  Asn1TimePtr rev_time(spec.cert_status == V_OCSP_CERTSTATUS_REVOKED
                           ? ASN1_GENERALIZEDTIME_set(nullptr, absl::ToTimeT(spec.revocation_time))
                           : nullptr);
  if (OCSP_basic_add1_status(bs.get(), id.get(), spec.cert_status, spec.revocation_reason,
                             rev_time.get(), this_update.get(), next_update.get()) == nullptr) {
    return OpenSslError("OCSP_basic_add1_status");
  }
  if (!spec.nonce_ext_value.empty()) {
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    if (value == nullptr ||
        ASN1_OCTET_STRING_set(value.get(),
                              reinterpret_cast<const unsigned char*>(spec.nonce_ext_value.data()),
                              static_cast<int>(spec.nonce_ext_value.size())) != 1) {
      return OpenSslError("ASN1_OCTET_STRING_set(nonce)");
    }
    X509ExtensionPtr ext(
        X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_Nonce, 0, value.get()));
    if (ext == nullptr || OCSP_BASICRESP_add_ext(bs.get(), ext.get(), -1) != 1) {
      return OpenSslError("OCSP_BASICRESP_add_ext(nonce)");
    }
  }
  if (!spec.critical_response_extension.empty()) {
    Asn1ObjectPtr obj(OBJ_txt2obj(spec.critical_response_extension.c_str(), 1));
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    static const unsigned char kNull[] = {0x05, 0x00};
    if (obj == nullptr || value == nullptr ||
        ASN1_OCTET_STRING_set(value.get(), kNull, sizeof(kNull)) != 1) {
      return OpenSslError("critical extension value");
    }
    X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 1, value.get()));
    if (ext == nullptr || OCSP_BASICRESP_add_ext(bs.get(), ext.get(), -1) != 1) {
      return OpenSslError("OCSP_BASICRESP_add_ext(critical)");
    }
  }
  unsigned long flags = 0;
  if (!spec.include_signer_cert) flags |= OCSP_NOCERTS;
  if (spec.responder_id_by_key) flags |= OCSP_RESPID_KEY;
  if (OCSP_basic_sign(bs.get(), spec.signer->cert.get(), spec.signer->key.get(), EVP_sha256(),
                      nullptr, flags) != 1) {
    return OpenSslError("OCSP_basic_sign");
  }
  if (spec.produced_at.has_value()) {
    auto* produced = const_cast<ASN1_GENERALIZEDTIME*>(OCSP_resp_get0_produced_at(bs.get()));
    if (ASN1_GENERALIZEDTIME_set(produced, absl::ToTimeT(*spec.produced_at)) == nullptr) {
      return OpenSslError("ASN1_GENERALIZEDTIME_set(producedAt)");
    }
  }
  if (spec.produced_at.has_value() || spec.wrong_signing_key != nullptr) {
    EVP_PKEY* key =
        spec.wrong_signing_key != nullptr ? spec.wrong_signing_key : spec.signer->key.get();
    if (absl::Status s = Resign(bs.get(), key); !s.ok()) return s;
  }
  OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
  if (resp == nullptr) return OpenSslError("OCSP_response_create");
  return ToDer<OCSP_RESPONSE, i2d_OCSP_RESPONSE>(resp.get());
}

namespace {

// `openssl ocsp` looks serials up as BN_bn2hex prints them.
std::string IndexSerial(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  std::string out = "00";
  if (bn != nullptr && !BN_is_zero(bn.get())) {
    char* hex = BN_bn2hex(bn.get());
    if (hex != nullptr) out = hex;
    OPENSSL_free(hex);
  }
  return out;
}

std::string IndexLine(const std::string& serial, absl::Time not_after, std::string_view subject,
                      std::optional<absl::Time> revoked_at) {
  return absl::StrCat(revoked_at.has_value() ? "R" : "V", "\t", IndexTime(not_after), "\t",
                      revoked_at.has_value() ? IndexTime(*revoked_at) : std::string(), "\t", serial,
                      "\tunknown\t", std::string(subject), "\n");
}

}  // namespace

std::string OpenSslIndexLine(X509* cert, std::optional<absl::Time> revoked_at) {
  absl::StatusOr<absl::Time> not_after = Asn1TimeToAbsl(X509_get0_notAfter(cert));
  char subject[512];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  return IndexLine(IndexSerial(X509_get0_serialNumber(cert)),
                   not_after.ok() ? *not_after : absl::UnixEpoch(), subject, revoked_at);
}

std::string OpenSslIndexLine(int64_t serial, absl::Time not_after, std::string_view subject,
                             std::optional<absl::Time> revoked_at) {
  Asn1IntegerPtr value(ASN1_INTEGER_new());
  if (value == nullptr || ASN1_INTEGER_set_int64(value.get(), serial) != 1) return "";
  return IndexLine(IndexSerial(value.get()), not_after, subject, revoked_at);
}

absl::StatusOr<std::unique_ptr<OcspResponderProcess>> OcspResponderProcess::Start(
    const Options& options) {
  const std::string nmin = absl::StrCat(options.next_update_minutes);
  std::vector<std::string> args = {"openssl",    "ocsp",
                                   "-index",     options.index_file,
                                   "-port",      "0",
                                   "-rsigner",   options.signer_cert_file,
                                   "-rkey",      options.signer_key_file,
                                   "-CA",        options.ca_file,
                                   "-nmin",      nmin,
                                   "-ignore_err"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("posix_spawnp(openssl ocsp): error ", rc));
  }
  std::unique_ptr<OcspResponderProcess> process(new OcspResponderProcess(pid, 0));

  // "ACCEPT [::]:PORT PID=..." is printed once the socket listens.
  for (int i = 0; i < 1000; ++i) {
    const std::string log = ReadWholeFile(options.log_file);
    const size_t accept = log.find("ACCEPT ");
    if (accept != std::string::npos) {
      const size_t eol = log.find_first_of(" \n", accept + 7);
      if (eol != std::string::npos) {
        const std::string addr = log.substr(accept + 7, eol - accept - 7);
        const size_t colon = addr.rfind(':');
        int port = 0;
        if (colon != std::string::npos && absl::SimpleAtoi(addr.substr(colon + 1), &port) &&
            port > 0) {
          process->port_ = port;
          return process;
        }
      }
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      process->pid_ = -1;
      return absl::InternalError(
          absl::StrCat("openssl ocsp exited early (status ", status, "): ", log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "openssl ocsp did not report its port within 10 s: ", ReadWholeFile(options.log_file)));
}

std::string OcspResponderProcess::Url() const {
  return absl::StrCat("http://127.0.0.1:", port_, "/");
}

void OcspResponderProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int UnusedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace pkiwatch::testing
