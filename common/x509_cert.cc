#include "common/x509_cert.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <climits>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/pkcs7_certs.h"
#include "common/utf8.h"

namespace pkiwatch {
namespace {

// ---- 1.3.6.1.4.1.311.21.7 as an OpenSSL ASN.1 template ----
// CertificateTemplate ::= SEQUENCE {
//   templateID OBJECT IDENTIFIER, templateMajorVersion INTEGER,
//   templateMinorVersion INTEGER OPTIONAL }
struct MsCertTemplate {
  ASN1_OBJECT* template_id;
  ASN1_INTEGER* major_version;
  ASN1_INTEGER* minor_version;
};

// clang-format off
ASN1_SEQUENCE(MsCertTemplate) = {
    ASN1_SIMPLE(MsCertTemplate, template_id, ASN1_OBJECT),
    ASN1_SIMPLE(MsCertTemplate, major_version, ASN1_INTEGER),
    ASN1_OPT(MsCertTemplate, minor_version, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(MsCertTemplate)
// clang-format on

struct MsCertTemplateDeleter {
  void operator()(MsCertTemplate* p) const {
    ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(p), ASN1_ITEM_rptr(MsCertTemplate));
  }
};
using MsCertTemplatePtr = std::unique_ptr<MsCertTemplate, MsCertTemplateDeleter>;

using Asn1TypePtr = std::unique_ptr<ASN1_TYPE, openssl_internal::Deleter<&ASN1_TYPE_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, openssl_internal::Deleter<&ASN1_OBJECT_free>>;

struct OpenSslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

std::string_view Bytes(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  const int len = ASN1_STRING_length(s);
  if (len <= 0) return {};
  return std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                          static_cast<size_t>(len));
}

std::string ObjectToText(const ASN1_OBJECT* obj) {
  if (obj == nullptr) return "";
  // Numeric form always; template OIDs are long (ADCS appends 8+ arcs).
  const int needed = OBJ_obj2txt(nullptr, 0, obj, 1);
  if (needed <= 0) {
    ERR_clear_error();
    return "";
  }
  std::string out(static_cast<size_t>(needed) + 1, '\0');
  const int written = OBJ_obj2txt(out.data(), needed + 1, obj, 1);
  if (written <= 0) {
    ERR_clear_error();
    return "";
  }
  out.resize(static_cast<size_t>(written));
  return out;
}

// UTF-8 of a string-typed ASN.1 value (BMPString is UTF-16BE on the wire).
absl::StatusOr<std::string> StringToUtf8(const ASN1_STRING* s, std::string_view what) {
  unsigned char* out = nullptr;
  const int len = ASN1_STRING_to_UTF8(&out, s);
  std::unique_ptr<unsigned char, OpenSslFree> owner(out);
  if (len < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": ASN1_STRING_to_UTF8 failed: ", OpenSslErrors()));
  }
  std::string text(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  if (!IsValidUtf8(text)) text = SanitizeUtf8(text, text.size() * 3);
  return text;
}

// Keeps a URI from a GENERAL_NAME when it is a URI and not absurdly long.
void CollectUri(const GENERAL_NAME* gn, std::string_view where, std::vector<std::string>* urls,
                std::vector<std::string>* problems) {
  if (gn == nullptr || gn->type != GEN_URI) return;
  std::string_view raw = Bytes(gn->d.uniformResourceIdentifier);
  if (raw.empty()) {
    problems->push_back(absl::StrCat(std::string(where), ": empty URI"));
    return;
  }
  if (raw.size() > kMaxCertUrlBytes) {
    problems->push_back(absl::StrFormat("%s: URI of %d bytes dropped (limit %d)",
                                        std::string(where), raw.size(), kMaxCertUrlBytes));
    return;
  }
  // IA5String is ASCII by definition; anything else is cleaned so that the
  // value can travel in protobuf strings.
  urls->push_back(SanitizeUtf8(raw, kMaxCertUrlBytes));
}

// NULL from X509_get_ext_d2i means "absent" (crit == -1), "duplicated"
// (crit == -2) or "present but undecodable" (crit >= 0).
template <typename T>
T* GetExt(X509* cert, int nid, std::vector<std::string>* problems) {
  int crit = -1;
  void* value = X509_get_ext_d2i(cert, nid, &crit, nullptr);
  if (value == nullptr) {
    if (crit == -2) {
      problems->push_back(absl::StrCat("extension ", OBJ_nid2sn(nid), " appears more than once"));
    } else if (crit >= 0) {
      problems->push_back(
          absl::StrCat("extension ", OBJ_nid2sn(nid), " does not decode: ", OpenSslErrors()));
    }
    ERR_clear_error();
  }
  return static_cast<T*>(value);
}

void ReadCdps(X509* cert, CertFacts* facts) {
  DistPointsPtr cdps(GetExt<CRL_DIST_POINTS>(cert, NID_crl_distribution_points, &facts->problems));
  if (cdps == nullptr) return;
  for (int i = 0; i < sk_DIST_POINT_num(cdps.get()); ++i) {
    const DIST_POINT* dp = sk_DIST_POINT_value(cdps.get(), i);
    if (dp == nullptr || dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
    const GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      CollectUri(sk_GENERAL_NAME_value(names, j), "crlDistributionPoints", &facts->cdp_urls,
                 &facts->problems);
    }
  }
}

void ReadAia(X509* cert, CertFacts* facts) {
  AuthorityInfoAccessPtr aia(
      GetExt<AUTHORITY_INFO_ACCESS>(cert, NID_info_access, &facts->problems));
  if (aia == nullptr) return;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
    if (ad == nullptr) continue;
    const int method = OBJ_obj2nid(ad->method);
    if (method == NID_ad_OCSP) {
      CollectUri(ad->location, "authorityInfoAccess OCSP", &facts->ocsp_urls, &facts->problems);
    } else if (method == NID_ad_ca_issuers) {
      CollectUri(ad->location, "authorityInfoAccess caIssuers", &facts->ca_issuers_urls,
                 &facts->problems);
    }
  }
}

// Every extension OpenSSL knows is decoded once more with its ASN.1 item so
// that undecodable values and trailing bytes (which X509_get_ext_d2i
// silently ignores) are reported.
void CheckKnownExtensions(X509* cert, CertFacts* facts) {
  const int count = X509_get_ext_count(cert);
  for (int i = 0; i < count; ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    const X509V3_EXT_METHOD* method = X509V3_EXT_get(ext);
    if (method == nullptr || method->it == nullptr) continue;
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    const unsigned char* p = ASN1_STRING_get0_data(data);
    const long len = ASN1_STRING_length(data);
    const unsigned char* end = p + len;
    ASN1_VALUE* value = ASN1_item_d2i(nullptr, &p, len, ASN1_ITEM_ptr(method->it));
    const std::string name = ObjectToText(X509_EXTENSION_get_object(ext));
    const char* sn = OBJ_nid2sn(method->ext_nid);
    if (value == nullptr) {
      facts->problems.push_back(absl::StrCat("extension ", sn != nullptr ? sn : "", " (", name,
                                             ") does not decode: ", OpenSslErrors()));
    } else {
      if (p != end) {
        facts->problems.push_back(absl::StrFormat("extension %s (%s): %d bytes of trailing data",
                                                  sn != nullptr ? sn : "", name,
                                                  static_cast<long>(end - p)));
      }
      ASN1_item_free(value, ASN1_ITEM_ptr(method->it));
    }
  }
  ERR_clear_error();
}

void ReadTemplate(X509* cert, CertFacts* facts) {
  Asn1ObjectPtr v2_oid(OBJ_txt2obj(kOidCertTemplateV2, 1));
  Asn1ObjectPtr name_oid(OBJ_txt2obj(kOidCertTemplateName, 1));
  if (v2_oid == nullptr || name_oid == nullptr) {
    facts->problems.push_back(absl::StrCat("OBJ_txt2obj failed: ", OpenSslErrors()));
    return;
  }
  auto decode_one = [&](const ASN1_OBJECT* oid, const char* oid_text, auto&& decode) {
    const int first = X509_get_ext_by_OBJ(cert, oid, -1);
    if (first < 0) return;
    if (X509_get_ext_by_OBJ(cert, oid, first) >= 0) {
      facts->problems.push_back(
          absl::StrCat("extension ", oid_text, " appears more than once; the first is used"));
    }
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, first));
    decode(Bytes(data));
  };
  decode_one(v2_oid.get(), kOidCertTemplateV2, [&](std::string_view der) {
    absl::StatusOr<CertTemplate> t = DecodeCertTemplateV2(der);
    if (!t.ok()) {
      facts->problems.push_back(
          absl::StrCat("extension ", kOidCertTemplateV2, ": ", t.status().message()));
      return;
    }
    facts->cert_template.oid = std::move(t->oid);
    facts->cert_template.major_version = t->major_version;
    facts->cert_template.minor_version = t->minor_version;
  });
  decode_one(name_oid.get(), kOidCertTemplateName, [&](std::string_view der) {
    absl::StatusOr<std::string> name = DecodeCertTemplateName(der);
    if (!name.ok()) {
      facts->problems.push_back(
          absl::StrCat("extension ", kOidCertTemplateName, ": ", name.status().message()));
      return;
    }
    facts->cert_template.name = *std::move(name);
  });
  ERR_clear_error();
}

std::optional<absl::Time> ReadTime(const ASN1_TIME* t, std::string_view what,
                                   std::vector<std::string>* problems) {
  absl::StatusOr<absl::Time> value = Asn1TimeToAbsl(t);
  if (!value.ok()) {
    problems->push_back(absl::StrCat(std::string(what), ": ", value.status().message()));
    return std::nullopt;
  }
  return *value;
}

bool NamesEqual(const X509_NAME* a, const X509_NAME* b) {
  if (a == nullptr || b == nullptr) return false;
  const int cmp = X509_NAME_cmp(a, b);
  ERR_clear_error();
  return cmp == 0;
}

}  // namespace

std::string CertTemplate::Label() const {
  if (!name.empty()) return name;
  if (oid.empty()) return "";
  if (!major_version.has_value()) return oid;
  if (!minor_version.has_value()) return absl::StrCat(oid, " v", *major_version);
  return absl::StrCat(oid, " v", *major_version, ".", *minor_version);
}

absl::StatusOr<CertTemplate> DecodeCertTemplateV2(std::string_view der) {
  if (der.empty() || der.size() > static_cast<size_t>(LONG_MAX)) {
    return absl::InvalidArgumentError("certificate template: empty value");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  MsCertTemplatePtr decoded(reinterpret_cast<MsCertTemplate*>(
      ASN1_item_d2i(nullptr, &p, static_cast<long>(der.size()), ASN1_ITEM_rptr(MsCertTemplate))));
  if (decoded == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate template: not a SEQUENCE { OID, INTEGER, INTEGER OPTIONAL }: ",
                     OpenSslErrors()));
  }
  if (p != end) {
    return absl::InvalidArgumentError(
        absl::StrFormat("certificate template: %d bytes of trailing data after the SEQUENCE",
                        static_cast<long>(end - p)));
  }
  CertTemplate out;
  out.oid = ObjectToText(decoded->template_id);
  if (out.oid.empty()) {
    return absl::InvalidArgumentError("certificate template: templateID is not a valid OID");
  }
  // TemplateVersion is INTEGER (0..4294967295) in Microsoft's definition.
  auto version = [](const ASN1_INTEGER* v, const char* what) -> absl::StatusOr<int64_t> {
    int64_t value = 0;
    if (ASN1_INTEGER_get_int64(&value, v) != 1 || value < 0 || value > 0xFFFFFFFFll) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("certificate template: ", what, " is out of range 0..4294967295"));
    }
    return value;
  };
  absl::StatusOr<int64_t> major = version(decoded->major_version, "majorVersion");
  if (!major.ok()) return major.status();
  out.major_version = *major;
  if (decoded->minor_version != nullptr) {
    absl::StatusOr<int64_t> minor = version(decoded->minor_version, "minorVersion");
    if (!minor.ok()) return minor.status();
    out.minor_version = *minor;
  }
  return out;
}

absl::StatusOr<std::string> DecodeCertTemplateName(std::string_view der) {
  if (der.empty() || der.size() > static_cast<size_t>(LONG_MAX)) {
    return absl::InvalidArgumentError("certificate template name: empty value");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  Asn1TypePtr value(d2i_ASN1_TYPE(nullptr, &p, static_cast<long>(der.size())));
  if (value == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate template name: not DER: ", OpenSslErrors()));
  }
  if (p != end) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "certificate template name: %d bytes of trailing data", static_cast<long>(end - p)));
  }
  switch (value->type) {
    case V_ASN1_BMPSTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_IA5STRING:
      return StringToUtf8(value->value.asn1_string, "certificate template name");
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("certificate template name: ASN.1 type %d (%s) is not a string type",
                          value->type, ASN1_tag2str(value->type)));
  }
}

std::string SubjectKeyIdHex(X509* cert) {
  if (cert == nullptr) return "";
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert);
  ERR_clear_error();
  return HexLower(Bytes(ski));
}

std::string AuthorityKeyIdHex(X509* cert) {
  if (cert == nullptr) return "";
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert);
  ERR_clear_error();
  return HexLower(Bytes(aki));
}

bool IsIssuedBy(X509* cert, X509* issuer) {
  if (cert == nullptr || issuer == nullptr) return false;
  if (!NamesEqual(X509_get_issuer_name(cert), X509_get_subject_name(issuer))) return false;
  const std::string aki = AuthorityKeyIdHex(cert);
  const std::string ski = SubjectKeyIdHex(issuer);
  if (!aki.empty() && !ski.empty() && aki != ski) return false;
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  const bool ok = key != nullptr && X509_verify(cert, key) == 1;
  ERR_clear_error();
  return ok;
}

absl::StatusOr<CertFacts> ReadCertFacts(X509* cert) {
  if (cert == nullptr) return absl::InvalidArgumentError("ReadCertFacts: no certificate");
  CertFacts facts;
  // Caches the extensions; EXFLAG_INVALID says one of the standard ones is bad.
  const uint32_t flags = X509_get_extension_flags(cert);
  ERR_clear_error();
  if ((flags & EXFLAG_INVALID) != 0) {
    facts.problems.push_back("OpenSSL marks a certificate extension as invalid (EXFLAG_INVALID)");
  }
  facts.subject = NameToString(X509_get_subject_name(cert));
  facts.issuer = NameToString(X509_get_issuer_name(cert));
  facts.serial_hex = Asn1IntegerToHex(X509_get0_serialNumber(cert));
  facts.thumbprint_sha1 = CertThumbprintSha1(cert);
  facts.not_before = ReadTime(X509_get0_notBefore(cert), "notBefore", &facts.problems);
  facts.not_after = ReadTime(X509_get0_notAfter(cert), "notAfter", &facts.problems);
  facts.subject_key_id_hex = SubjectKeyIdHex(cert);
  facts.authority_key_id_hex = AuthorityKeyIdHex(cert);
  facts.is_ca = (flags & EXFLAG_CA) != 0 && (flags & EXFLAG_BCONS) != 0;
  facts.self_issued = NamesEqual(X509_get_subject_name(cert), X509_get_issuer_name(cert));
  if (facts.self_issued) {
    EVP_PKEY* key = X509_get0_pubkey(cert);
    facts.self_signed = key != nullptr && X509_verify(cert, key) == 1;
    ERR_clear_error();
  }
  ReadCdps(cert, &facts);
  ReadAia(cert, &facts);
  ReadTemplate(cert, &facts);
  CheckKnownExtensions(cert, &facts);
  ERR_clear_error();
  return facts;
}

absl::StatusOr<std::vector<X509Ptr>> ParseCertificatesOrPkcs7(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("no data (0 bytes)");
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("input larger than 2 GiB");
  }
  absl::StatusOr<std::vector<X509Ptr>> certs = LoadCertificates(bytes);
  if (certs.ok()) return certs;
  ERR_clear_error();

  // PKCS#7 "certs-only": SignedData without signers, DER or PEM.
  absl::StatusOr<std::vector<X509Ptr>> p7 = ParsePkcs7Certificates(bytes);
  if (!p7.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("neither a certificate (",
                                                   certs.status().message(), ") nor PKCS#7 (",
                                                   p7.status().message(), ")"));
  }
  if (p7->empty()) {
    return absl::InvalidArgumentError("PKCS#7 SignedData holds no certificate");
  }
  return p7;
}

}  // namespace pkiwatch
