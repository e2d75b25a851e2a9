// A test PKI made at run time with the OpenSSL API (certificates with the
// extensions the probes read, OCSP responses) and `openssl ocsp` as a real
// responder process. POSIX only (the responder is a child process). No
// GoogleTest dependency (benchmarks use it too): everything returns
// absl::Status(Or) and nothing asserts.
#pragma once

#include <openssl/ocsp.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"

namespace pkiwatch::testing {

struct TestKeyCert {
  EvpPkeyPtr key;
  X509Ptr cert;
};

struct TestCertSpec {
  std::string common_name;
  int64_t serial = 1;
  absl::Time not_before;
  absl::Time not_after;
  bool is_ca = false;
  // OpenSSL config syntax, e.g. "critical,keyCertSign,cRLSign"; empty: no
  // extension.
  std::string key_usage;
  std::string extended_key_usage;
  std::vector<std::string> cdp_urls;
  std::vector<std::string> ocsp_urls;
  std::vector<std::string> ca_issuers_urls;
  // Certificate template (1.3.6.1.4.1.311.21.7, v2) when the OID is set;
  // template name (1.3.6.1.4.1.311.20.2, v1, BMPString) when the name is set.
  std::string template_oid;
  int64_t template_major = 100;
  std::optional<int64_t> template_minor = 4;
  std::string template_name;
  // Extra extensions: OID -> DER value (not critical).
  std::vector<std::pair<std::string, std::string>> raw_extensions;
  // subjectKeyIdentifier (hash) and authorityKeyIdentifier (keyid:always).
  bool key_ids = true;
};

// DER of the v2 template extension value: SEQUENCE { OID, major [, minor] }.
std::string EncodeCertTemplateV2(std::string_view oid, int64_t major, std::optional<int64_t> minor);

// DER BMPString of an ASCII text (the v1 template name extension value).
std::string EncodeBmpString(std::string_view ascii);

// A fresh P-256 key and a certificate for it, signed by `issuer` (its key and
// subject) or self-signed when `issuer` is null.
absl::StatusOr<TestKeyCert> MakeTestCert(const TestCertSpec& spec,
                                         const TestKeyCert* issuer = nullptr);

// As MakeTestCert, with the given key (e.g. to reuse a key across a renewal).
absl::StatusOr<TestKeyCert> MakeTestCertWithKey(const TestCertSpec& spec, EvpPkeyPtr key,
                                                const TestKeyCert* issuer = nullptr);

// A two-level CA: "Test Root CA" (self-signed, serial 1) and "Test Issuing
// CA" (serial 2, issued by the root, AIA caIssuers `issuing_aia_url` when
// set), both valid from now - 1 year to now + 10 years, keyCertSign+cRLSign.
struct TestHierarchy {
  TestKeyCert root;
  TestKeyCert issuing;
};
absl::StatusOr<TestHierarchy> MakeTestHierarchy(absl::Time now, std::string issuing_aia_url = "");

std::string CertDer(X509* cert);
std::string CertPem(X509* cert);
std::string KeyPem(EVP_PKEY* key);

// A degenerate certs-only PKCS#7 SignedData, DER ("" on failure).
std::string CertsOnlyPkcs7Der(const std::vector<X509*>& certs);

absl::Status WriteFile(const std::string& path, std::string_view bytes);

struct TestOcspResponseSpec {
  X509* cert = nullptr;                 // the certificate asked about
  X509* issuer = nullptr;               // its issuer (for the CertID)
  const TestKeyCert* signer = nullptr;  // signs the response
  // Re-sign with this key instead (a bad signature).
  EVP_PKEY* wrong_signing_key = nullptr;
  bool include_signer_cert = true;
  bool responder_id_by_key = false;
  int cert_status = V_OCSP_CERTSTATUS_GOOD;
  absl::Time revocation_time;
  int revocation_reason = OCSP_REVOKED_STATUS_NOSTATUS;
  absl::Time this_update;
  std::optional<absl::Time> next_update;
  std::optional<absl::Time> produced_at;  // overrides the signing time
  std::string nonce_ext_value;            // DER of the nonce extension value
  // Not SUCCESSFUL: an error response without a body.
  int response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
  // OID of a critical responseExtension nobody knows, when set.
  std::string critical_response_extension;
};

// DER OCSPResponse made from `spec`.
absl::StatusOr<std::string> MakeOcspResponse(const TestOcspResponseSpec& spec);

// One line of an `openssl ca` index.txt for `cert`: valid, or revoked at
// `revoked_at`, as `openssl ocsp -index` reads it.
std::string OpenSslIndexLine(X509* cert, std::optional<absl::Time> revoked_at = std::nullopt);
// The same for a certificate not made yet (its OCSP URL may need the
// responder's port): `subject` in OpenSSL's one-line form ("/O=x/CN=y").
std::string OpenSslIndexLine(int64_t serial, absl::Time not_after, std::string_view subject,
                             std::optional<absl::Time> revoked_at = std::nullopt);

// `openssl ocsp` serving an index on an ephemeral port (the port is read
// from its "ACCEPT" log line, so there is no race for it). OpenSSL 3.0 has
// no bind address option: it listens on all interfaces; tests connect to
// 127.0.0.1 only. Stopped (SIGTERM, then SIGKILL) on destruction.
class OcspResponderProcess {
 public:
  struct Options {
    std::string index_file;
    std::string ca_file;
    std::string signer_cert_file;
    std::string signer_key_file;
    std::string log_file;
    int next_update_minutes = 60;
  };

  // Starts the responder and waits (at most 10 s) until it listens.
  static absl::StatusOr<std::unique_ptr<OcspResponderProcess>> Start(const Options& options);

  ~OcspResponderProcess() { Stop(); }
  OcspResponderProcess(const OcspResponderProcess&) = delete;
  OcspResponderProcess& operator=(const OcspResponderProcess&) = delete;

  int port() const { return port_; }
  std::string Url() const;
  // Idempotent.
  void Stop();

 private:
  OcspResponderProcess(pid_t pid, int port) : pid_(pid), port_(port) {}
  pid_t pid_;
  int port_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (0 on failure).
int UnusedLoopbackPort();

}  // namespace pkiwatch::testing
