#include "common/crl.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/error_catalogue.h"

namespace pkiwatch {
namespace {

struct OpenSslFreeDeleter {
  void operator()(void* p) const { OPENSSL_free(p); }
};
using Asn1IntPtr = Asn1IntegerPtr;
using IssuingDistPointPtr =
    std::unique_ptr<ISSUING_DIST_POINT,
                    openssl_internal::Deleter<&ISSUING_DIST_POINT_free>>;

std::string ObjectText(const ASN1_OBJECT* obj) {
  char buf[128];
  int n = OBJ_obj2txt(buf, sizeof(buf), obj, /*no_name=*/1);
  if (n <= 0) return "?";
  return std::string(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// "3d4h", "5h12m", "42m", "17s": short and readable in a one-line detail.
std::string HumanDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = -d;
  int64_t secs = absl::ToInt64Seconds(d);
  int64_t days = secs / 86400, hours = (secs % 86400) / 3600,
          mins = (secs % 3600) / 60;
  if (days > 0) return absl::StrFormat("%dd%dh", days, hours);
  if (hours > 0) return absl::StrFormat("%dh%dm", hours, mins);
  if (mins > 0) return absl::StrFormat("%dm", mins);
  return absl::StrFormat("%ds", secs);
}

void AppendUris(const GENERAL_NAMES* names, std::vector<std::string>* out) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn == nullptr || gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = gn->d.uniformResourceIdentifier;
    const unsigned char* data = ASN1_STRING_get0_data(uri);
    int len = ASN1_STRING_length(uri);
    if (data == nullptr || len <= 0) continue;
    out->emplace_back(reinterpret_cast<const char*>(data),
                      static_cast<size_t>(len));
  }
}

void AppendDistPointNameUris(const DIST_POINT_NAME* dpn,
                             std::vector<std::string>* out) {
  if (dpn != nullptr && dpn->type == 0) AppendUris(dpn->name.fullname, out);
}

// X509_CRL_get_ext_d2i: NULL with crit == -1 means absent; any other crit
// with NULL means present but undecodable (-2: more than once).
template <typename T>
absl::StatusOr<T*> DecodeExtension(X509_CRL* crl, int nid, const char* what) {
  int crit = -1;
  void* ext = X509_CRL_get_ext_d2i(crl, nid, &crit, nullptr);
  if (ext == nullptr && crit != -1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrFormat(
        "Crl::Parse: %s extension %s", what,
        crit == -2 ? "appears more than once" : "is malformed"));
  }
  return static_cast<T*>(ext);
}

bool IsKnownCrlExtension(int nid) {
  switch (nid) {
    case NID_authority_key_identifier:
    case NID_issuer_alt_name:
    case NID_crl_number:
    case NID_delta_crl:
    case NID_issuing_distribution_point:
    case NID_freshest_crl:
      return true;
    default:
      return false;
  }
}

bool IsKnownEntryExtension(int nid) {
  switch (nid) {
    case NID_crl_reason:
    case NID_invalidity_date:
    case NID_certificate_issuer:
    case NID_hold_instruction_code:
      return true;
    default:
      return false;
  }
}

// Extracts the CRL's source bytes: DER as given, or the first "X509 CRL" /
// "CRL" PEM block (other blocks and text around them are skipped).
absl::StatusOr<std::string> PemCrlToDer(std::string_view bytes) {
  auto blocks = ReadPemBlocks(bytes, "Crl::Parse");
  if (!blocks.ok()) return blocks.status();
  for (PemBlock& block : *blocks) {
    if (block.name == "X509 CRL" || block.name == "CRL") return std::move(block.der);
  }
  return absl::InvalidArgumentError("Crl::Parse: no \"X509 CRL\" or \"CRL\" block in PEM input");
}

}  // namespace

absl::StatusOr<Crl> Crl::Parse(std::string_view bytes) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError("Crl::Parse: empty input");
  }
  if (bytes.size() > kMaxCrlBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Crl::Parse: %d bytes exceed the limit of %d", bytes.size(),
        kMaxCrlBytes));
  }
  ERR_clear_error();
  // DER starts with a SEQUENCE tag; anything else is tried as PEM.
  std::string pem_der;
  std::string_view der = bytes;
  if (static_cast<unsigned char>(bytes[0]) != 0x30 &&
      bytes.find("-----BEGIN ") != std::string_view::npos) {
    absl::StatusOr<std::string> decoded = PemCrlToDer(bytes);
    if (!decoded.ok()) return decoded.status();
    pem_der = std::move(*decoded);
    der = pem_der;
  }
  if (der.empty()) {
    return absl::InvalidArgumentError("Crl::Parse: empty CRL block");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* const begin = p;
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (crl == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("Crl::Parse: d2i_X509_CRL failed: ", OpenSslErrors()));
  }
  size_t consumed = static_cast<size_t>(p - begin);
  if (consumed != der.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Crl::Parse: %d bytes of trailing data after the %d-byte CRL",
        der.size() - consumed, consumed));
  }

  CrlInfo info;
  info.der_size = consumed;

  // RFC 5280 5.1.2.1: v1 (absent) or v2; extensions need v2.
  long version = X509_CRL_get_version(crl.get());
  if (version != 0 && version != 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Crl::Parse: unsupported CRL version value %d (only v1 and v2 exist)",
        version));
  }
  info.issuer = NameToString(X509_CRL_get_issuer(crl.get()));

  absl::StatusOr<absl::Time> this_update =
      Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl.get()));
  if (!this_update.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Crl::Parse: thisUpdate: ", this_update.status().message()));
  }
  info.this_update = *this_update;
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get())) {
    absl::StatusOr<absl::Time> next_update = Asn1TimeToAbsl(next);
    if (!next_update.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Crl::Parse: nextUpdate: ", next_update.status().message()));
    }
    info.next_update = *next_update;
  }

  int ext_count = X509_CRL_get_ext_count(crl.get());
  if (version == 0 && ext_count > 0) {
    return absl::InvalidArgumentError(
        "Crl::Parse: v1 CRL carries crlExtensions (they require v2)");
  }
  for (int i = 0; i < ext_count; ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl.get(), i);
    if (ext == nullptr || !X509_EXTENSION_get_critical(ext)) continue;
    const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
    if (!IsKnownCrlExtension(OBJ_obj2nid(obj))) {
      info.unknown_critical_extensions.push_back(ObjectText(obj));
    }
  }

  absl::StatusOr<AUTHORITY_KEYID*> aki = DecodeExtension<AUTHORITY_KEYID>(
      crl.get(), NID_authority_key_identifier, "authorityKeyIdentifier");
  if (!aki.ok()) return aki.status();
  AuthorityKeyIdPtr aki_owner(*aki);
  if (aki_owner != nullptr && aki_owner->keyid != nullptr) {
    const ASN1_OCTET_STRING* id = aki_owner->keyid;
    info.authority_key_id_hex = HexLower(std::string_view(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(id)),
        static_cast<size_t>(ASN1_STRING_length(id))));
  }

  absl::StatusOr<ASN1_INTEGER*> number =
      DecodeExtension<ASN1_INTEGER>(crl.get(), NID_crl_number, "cRLNumber");
  if (!number.ok()) return number.status();
  Asn1IntPtr number_owner(*number);
  info.crl_number = Asn1IntegerToDecimal(number_owner.get());

  absl::StatusOr<ASN1_INTEGER*> delta = DecodeExtension<ASN1_INTEGER>(
      crl.get(), NID_delta_crl, "deltaCRLIndicator");
  if (!delta.ok()) return delta.status();
  Asn1IntPtr delta_owner(*delta);
  if (delta_owner != nullptr) {
    info.is_delta = true;
    info.base_crl_number = Asn1IntegerToDecimal(delta_owner.get());
  }

  absl::StatusOr<CRL_DIST_POINTS*> freshest = DecodeExtension<CRL_DIST_POINTS>(
      crl.get(), NID_freshest_crl, "freshestCRL");
  if (!freshest.ok()) return freshest.status();
  DistPointsPtr freshest_owner(*freshest);
  for (int i = 0; i < sk_DIST_POINT_num(freshest_owner.get()); ++i) {
    const DIST_POINT* dp = sk_DIST_POINT_value(freshest_owner.get(), i);
    if (dp != nullptr) {
      AppendDistPointNameUris(dp->distpoint, &info.freshest_crl_urls);
    }
  }

  absl::StatusOr<ISSUING_DIST_POINT*> idp =
      DecodeExtension<ISSUING_DIST_POINT>(
          crl.get(), NID_issuing_distribution_point, "issuingDistributionPoint");
  if (!idp.ok()) return idp.status();
  IssuingDistPointPtr idp_owner(*idp);
  if (idp_owner != nullptr) {
    // RFC 5280 5.2.5: at most one of the "only contains" flags.
    int only = (idp_owner->onlyuser > 0) + (idp_owner->onlyCA > 0) +
               (idp_owner->onlyattr > 0);
    if (only > 1) {
      return absl::InvalidArgumentError(
          "Crl::Parse: issuingDistributionPoint sets more than one of "
          "onlyContainsUserCerts/onlyContainsCACerts/onlyContainsAttributeCerts");
    }
    // RFC 5280 5.2.5: the extension must not be an empty SEQUENCE.
    if (idp_owner->distpoint == nullptr && only == 0 &&
        idp_owner->onlysomereasons == nullptr && idp_owner->indirectCRL <= 0) {
      return absl::InvalidArgumentError(
          "Crl::Parse: issuingDistributionPoint is an empty SEQUENCE");
    }
    info.indirect = idp_owner->indirectCRL > 0;
    AppendDistPointNameUris(idp_owner->distpoint, &info.idp_urls);
  }

  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  int entries = sk_X509_REVOKED_num(revoked);
  info.entry_count = entries > 0 ? static_cast<uint64_t>(entries) : 0;
  for (int i = 0; i < entries; ++i) {
    const X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    const STACK_OF(X509_EXTENSION)* exts = X509_REVOKED_get0_extensions(r);
    int n = sk_X509_EXTENSION_num(exts);
    if (n > 0 && version == 0) {
      return absl::InvalidArgumentError(
          "Crl::Parse: v1 CRL carries crlEntryExtensions (they require v2)");
    }
    for (int j = 0; j < n; ++j) {
      X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, j);
      if (ext == nullptr || !X509_EXTENSION_get_critical(ext)) continue;
      const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
      if (!IsKnownEntryExtension(OBJ_obj2nid(obj))) {
        info.unknown_critical_extensions.push_back(absl::StrCat(
            ObjectText(obj), " (entry for serial ",
            Asn1IntegerToHex(X509_REVOKED_get0_serialNumber(r)), ")"));
      }
    }
  }
  ERR_clear_error();
  return Crl(std::move(crl), std::move(info));
}

bool Crl::IsRevoked(const ASN1_INTEGER* serial) const {
  if (serial == nullptr || crl_ == nullptr) return false;
  X509_REVOKED* entry = nullptr;
  // 1: listed; 2: listed with reason removeFromCRL (a delta CRL un-revoking
  // a certificate on hold), which means "not revoked".
  return X509_CRL_get0_by_serial(crl_.get(), &entry, serial) == 1;
}

bool Crl::IsRevoked(X509* cert) const {
  if (cert == nullptr || crl_ == nullptr) return false;
  X509_REVOKED* entry = nullptr;
  return X509_CRL_get0_by_cert(crl_.get(), &entry, cert) == 1;
}

CrlVerdict EvaluateCrl(const Crl& crl, const CrlCheckOptions& options) {
  const CrlInfo& info = crl.info();
  CrlVerdict verdict;
  auto fail = [&](uint32_t hresult, std::string detail) {
    verdict.status = v1::STATUS_FAIL;
    verdict.hresult = hresult;
    verdict.detail = std::move(detail);
    return verdict;
  };

  // The signature is checked first so that signature_verified is true
  // whenever it holds, even when a later rule fails the CRL.
  bool name_matches = true;
  bool crl_sign_allowed = true;
  std::string signature_error;
  if (options.issuer != nullptr) {
    ERR_clear_error();
    name_matches = X509_NAME_cmp(X509_get_subject_name(options.issuer),
                                 X509_CRL_get_issuer(crl.get())) == 0;
    // X509_get_key_usage: UINT32_MAX when the extension is absent.
    uint32_t ku = X509_get_key_usage(options.issuer);
    crl_sign_allowed = ku == UINT32_MAX || (ku & KU_CRL_SIGN) != 0;
    EVP_PKEY* key = X509_get0_pubkey(options.issuer);
    if (key == nullptr) {
      signature_error = absl::StrCat("issuer public key unusable: ",
                                     OpenSslErrors());
    } else if (X509_CRL_verify(crl.get(), key) == 1) {
      verdict.signature_verified = true;
    } else {
      // OpenSSL's queue says why ("invalid padding", "crl signature
      // algorithm mismatch", ...); keep it for whoever reads the finding.
      signature_error = absl::StrCat(
          "X509_CRL_verify: signature does not verify with the key of ",
          NameToString(X509_get_subject_name(options.issuer)), " (",
          OpenSslErrors(), ")");
    }
    ERR_clear_error();
  }

  // 1. A critical extension we cannot process makes the CRL unusable
  //    (RFC 5280 5.2); CERT_E_CRITICAL is the catalogue's code for exactly
  //    that condition.
  if (!info.unknown_critical_extensions.empty()) {
    return fail(hr::kCertECritical,
                absl::StrCat("CRL has unknown critical extension(s): ",
                             absl::StrJoin(info.unknown_critical_extensions,
                                           ", ")));
  }
  if (options.issuer != nullptr) {
    // 2. CERT_E_ISSUERCHAINING: the presumed issuer did not issue this
    //    object. CERT_E_CHAINING would claim no chain could be built at all,
    //    which is not what a name mismatch says.
    if (!name_matches) {
      return fail(hr::kCertEIssuerChaining,
                  absl::StrCat("CRL issuer \"", info.issuer,
                               "\" does not match the CA subject \"",
                               NameToString(X509_get_subject_name(options.issuer)),
                               "\""));
    }
    // 3. A CA key that may not sign CRLs cannot vouch for this one.
    if (!crl_sign_allowed) {
      return fail(hr::kCertEWrongUsage,
                  absl::StrCat("keyUsage of the CA certificate ",
                               NameToString(X509_get_subject_name(options.issuer)),
                               " lacks cRLSign"));
    }
    // 4.
    if (!verdict.signature_verified) {
      return fail(hr::kNteBadSignature, signature_error);
    }
  }

  std::string signed_note =
      verdict.signature_verified ? ", signature verified" : "";
  // 5. A Windows client treats an expired CRL like an unreachable one.
  if (info.next_update.has_value() && *info.next_update <= options.now) {
    return fail(hr::kCryptERevocationOffline,
                absl::StrCat("CRL expired: nextUpdate ",
                             Rfc3339(*info.next_update), " passed ",
                             HumanDuration(options.now - *info.next_update),
                             " ago"));
  }
  // 6.
  if (info.this_update > options.now + options.future_tolerance) {
    verdict.status = v1::STATUS_WARN;
    verdict.detail = absl::StrCat(
        "thisUpdate in the future: clock skew? thisUpdate ",
        Rfc3339(info.this_update), " is ",
        HumanDuration(info.this_update - options.now), " ahead", signed_note);
    return verdict;
  }
  // 7.
  if (info.next_update.has_value() &&
      *info.next_update - options.now <= options.expiry_warn) {
    verdict.status = v1::STATUS_WARN;
    verdict.detail = absl::StrCat(
        "CRL expires soon: nextUpdate ", Rfc3339(*info.next_update), " in ",
        HumanDuration(*info.next_update - options.now), signed_note);
    return verdict;
  }
  verdict.status = v1::STATUS_OK;
  if (!info.next_update.has_value()) {
    verdict.detail = absl::StrCat(
        "CRL has no nextUpdate (valid until superseded); thisUpdate ",
        Rfc3339(info.this_update), signed_note);
  } else {
    verdict.detail = absl::StrCat(
        "CRL valid until ", Rfc3339(*info.next_update), " (",
        HumanDuration(*info.next_update - options.now), " left), ",
        info.entry_count, " entries", signed_note);
  }
  return verdict;
}

}  // namespace pkiwatch
