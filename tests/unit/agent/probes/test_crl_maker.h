// CRLs made with the OpenSSL API at run time for the probe tests: v2 CRLs
// with number, optional delta indicator, FreshestCRL and a chosen authority
// key id, named after and signed by TestKeyCerts (test_pki.h). Header-only;
// a failing OpenSSL call fails the current test.
#pragma once

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch::testing {

inline bool PkiOk(int rc, const char* what) {
  if (rc == 1) return true;
  ADD_FAILURE() << what << " failed: " << OpenSslErrors();
  return false;
}

struct TestCrlSpec {
  absl::Time this_update;
  absl::Time next_update;
  long number = 42;
  std::vector<long> revoked_serials = {1001, 1002};
  long delta_base = -1;                  // >= 0: delta CRL on this base number
  std::string freshest_crl;              // FreshestCRL URI when set
  const TestKeyCert* aki_from = nullptr; // AKI of this cert instead of the issuer's
};

// DER CRL named after `ca` (issuer name, AKI) and signed with `signing_key`.
inline std::string MakeTestCrl(const TestKeyCert& ca, EVP_PKEY* signing_key,
                               const TestCrlSpec& spec) {
  X509CrlPtr crl(X509_CRL_new());
  PkiOk(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2), "X509_CRL_set_version");
  PkiOk(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.cert.get())),
        "X509_CRL_set_issuer_name");
  Asn1TimePtr last(ASN1_TIME_set(nullptr, absl::ToTimeT(spec.this_update)));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, absl::ToTimeT(spec.next_update)));
  PkiOk(X509_CRL_set1_lastUpdate(crl.get(), last.get()), "X509_CRL_set1_lastUpdate");
  PkiOk(X509_CRL_set1_nextUpdate(crl.get(), next.get()), "X509_CRL_set1_nextUpdate");
  for (long serial : spec.revoked_serials) {
    X509_REVOKED* entry = X509_REVOKED_new();
    Asn1IntegerPtr number(ASN1_INTEGER_new());
    ASN1_INTEGER_set(number.get(), serial);
    PkiOk(X509_REVOKED_set_serialNumber(entry, number.get()), "X509_REVOKED_set_serialNumber");
    PkiOk(X509_REVOKED_set_revocationDate(entry, last.get()), "X509_REVOKED_set_revocationDate");
    if (!PkiOk(X509_CRL_add0_revoked(crl.get(), entry), "X509_CRL_add0_revoked")) {
      X509_REVOKED_free(entry);
    }
  }
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  ASN1_INTEGER_set(number.get(), spec.number);
  PkiOk(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0),
        "X509_CRL_add1_ext_i2d(crlNumber)");
  if (spec.delta_base >= 0) {
    Asn1IntegerPtr base(ASN1_INTEGER_new());
    ASN1_INTEGER_set(base.get(), spec.delta_base);
    PkiOk(X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, base.get(), 1, 0),
          "X509_CRL_add1_ext_i2d(deltaCRLIndicator)");
  }
  const TestKeyCert& aki_cert = spec.aki_from != nullptr ? *spec.aki_from : ca;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, aki_cert.cert.get(), nullptr, nullptr, crl.get(), 0);
  X509_EXTENSION* aki =
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
  if (aki == nullptr) {
    ADD_FAILURE() << "AKI: " << OpenSslErrors();
  } else {
    PkiOk(X509_CRL_add_ext(crl.get(), aki, -1), "X509_CRL_add_ext(AKI)");
    X509_EXTENSION_free(aki);
  }
  if (!spec.freshest_crl.empty()) {
    const std::string value = "URI:" + spec.freshest_crl;
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, NID_freshest_crl, value.c_str());
    if (ext == nullptr) {
      ADD_FAILURE() << "freshestCRL: " << OpenSslErrors();
    } else {
      PkiOk(X509_CRL_add_ext(crl.get(), ext, -1), "X509_CRL_add_ext(freshestCRL)");
      X509_EXTENSION_free(ext);
    }
  }
  PkiOk(X509_CRL_sort(crl.get()), "X509_CRL_sort");
  if (X509_CRL_sign(crl.get(), signing_key, EVP_sha256()) <= 0) {
    ADD_FAILURE() << "X509_CRL_sign: " << OpenSslErrors();
    return "";
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_CRL(crl.get(), &der);
  if (len <= 0) {
    ADD_FAILURE() << "i2d_X509_CRL: " << OpenSslErrors();
    return "";
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

inline std::string SkiHexOf(X509* cert) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert);
  if (ski == nullptr) return "";
  return HexLower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                                   static_cast<size_t>(ASN1_STRING_length(ski))));
}

}  // namespace pkiwatch::testing
