#include "common/ocsp.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/error_catalogue.h"
#include "common/openssl_util.h"
#include "common/x509_cert.h"

namespace pkiwatch {
namespace {

std::string_view Bytes(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  const int len = ASN1_STRING_length(s);
  if (len <= 0) return {};
  return std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                          static_cast<size_t>(len));
}

std::string ObjectText(const ASN1_OBJECT* obj) {
  char buf[128];
  const int n = OBJ_obj2txt(buf, sizeof(buf), obj, 1);
  if (n <= 0) {
    ERR_clear_error();
    return "?";
  }
  return std::string(buf, static_cast<size_t>(std::min<int>(n, sizeof(buf) - 1)));
}

std::string UtcText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string FormatOptTime(const std::optional<absl::Time>& t) {
  return t.has_value() ? UtcText(*t) : std::string("?");
}

std::optional<absl::Time> ToTime(const ASN1_TIME* t) {
  if (t == nullptr) return std::nullopt;
  absl::StatusOr<absl::Time> value = Asn1TimeToAbsl(t);
  if (!value.ok()) return std::nullopt;
  return *value;
}

// RFC 6960 spelling (OCSP_response_status_str says e.g. "trylater").
std::string ResponseStatusName(int status) {
  switch (status) {
    case OCSP_RESPONSE_STATUS_SUCCESSFUL:
      return "successful";
    case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
      return "malformedRequest";
    case OCSP_RESPONSE_STATUS_INTERNALERROR:
      return "internalError";
    case OCSP_RESPONSE_STATUS_TRYLATER:
      return "tryLater";
    case OCSP_RESPONSE_STATUS_SIGREQUIRED:
      return "sigRequired";
    case OCSP_RESPONSE_STATUS_UNAUTHORIZED:
      return "unauthorized";
    default:
      return absl::StrCat("undefined(", status, ")");
  }
}

// Extensions a client may meet marked critical and still act on: it either
// processes them (nonce) or they do not change a status answer (CRL
// references, archive cutoff, invalidity date, CT SCTs). RFC 6960 §4.4.
bool IsKnownResponseExtension(std::string_view oid) {
  return oid == "1.3.6.1.5.5.7.48.1.2"      // id-pkix-ocsp-nonce
         || oid == "1.3.6.1.5.5.7.48.1.9"   // id-pkix-ocsp-extended-revoke
         || oid == "1.3.6.1.5.5.7.48.1.6";  // id-pkix-ocsp-archive-cutoff
}

bool IsKnownSingleExtension(std::string_view oid) {
  return oid == "1.3.6.1.5.5.7.48.1.3"         // id-pkix-ocsp-crl (CrlID)
         || oid == "1.3.6.1.5.5.7.48.1.6"      // archive cutoff
         || oid == "2.5.29.24"                 // invalidityDate
         || oid == "2.5.29.21"                 // reasonCode
         || oid == "1.3.6.1.4.1.11129.2.4.5";  // CT SCT list
}

// OID of the first critical extension `known` rejects; "" when none.
template <typename T>
std::string UnknownCritical(T* obj, int (*count)(T*), X509_EXTENSION* (*get)(T*, int),
                            bool (*known)(std::string_view)) {
  const int n = count(obj);
  for (int i = 0; i < n; ++i) {
    X509_EXTENSION* ext = get(obj, i);
    if (ext == nullptr || X509_EXTENSION_get_critical(ext) <= 0) continue;
    std::string oid = ObjectText(X509_EXTENSION_get_object(ext));
    if (!known(oid)) return oid;
  }
  return "";
}

bool SameKey(X509* a, X509* b) {
  EVP_PKEY* ka = X509_get0_pubkey(a);
  EVP_PKEY* kb = X509_get0_pubkey(b);
  const bool same = ka != nullptr && kb != nullptr && EVP_PKEY_eq(ka, kb) == 1;
  ERR_clear_error();
  return same;
}

bool SameName(const X509_NAME* a, const X509_NAME* b) {
  const bool same = a != nullptr && b != nullptr && X509_NAME_cmp(a, b) == 0;
  ERR_clear_error();
  return same;
}

// Worse statuses rank higher: one revoked answer outweighs a good one.
int StatusRank(int status) {
  switch (status) {
    case V_OCSP_CERTSTATUS_REVOKED:
      return 3;
    case V_OCSP_CERTSTATUS_UNKNOWN:
      return 2;
    case V_OCSP_CERTSTATUS_GOOD:
      return 1;
    default:
      return 0;
  }
}

const char* CertStatusName(int status) {
  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      return "good";
    case V_OCSP_CERTSTATUS_REVOKED:
      return "revoked";
    case V_OCSP_CERTSTATUS_UNKNOWN:
      return "unknown";
    default:
      return "";
  }
}

class Evaluation {
 public:
  Evaluation(const OcspCheckOptions& options, OcspVerdict* verdict) : o_(options), v_(*verdict) {}

  // Applies the rules in order; returns after the first that decides.
  void Run(std::string_view der);

 private:
  void Fail(uint32_t hresult, std::string detail) {
    v_.status = v1::STATUS_FAIL;
    v_.hresult = hresult;
    v_.detail = std::move(detail);
  }
  std::string SignerText() const {
    return v_.responder_kind == OcspResponder::kIssuer
               ? std::string("signed by the issuing CA")
               : absl::StrCat("signed by delegated responder \"", v_.responder, "\"");
  }

  bool CheckSigner(OCSP_BASICRESP* bs);
  bool CheckNonce(OCSP_BASICRESP* bs);
  // The decisive matching SingleResponse, or nullptr after Fail().
  OCSP_SINGLERESP* FindSingle(OCSP_BASICRESP* bs);
  void CheckStatusAndTimes(OCSP_SINGLERESP* single);

  const OcspCheckOptions& o_;
  OcspVerdict& v_;
  std::optional<absl::Time> signer_not_after_;  // delegated responders only
};

bool Evaluation::CheckSigner(OCSP_BASICRESP* bs) {
  // Rule 5: candidates are the certificates the responderID names, in the
  // order a client looks (the response's own, the issuer, then the extra
  // ones). Several may match (a renewed responder certificate under the same
  // name): the first whose key verifies the signature is the signer.
  const ASN1_OCTET_STRING* key_hash = nullptr;
  const X509_NAME* name = nullptr;
  if (OCSP_resp_get0_id(bs, &key_hash, &name) != 1) {
    ERR_clear_error();
    Fail(hr::kCryptEAsn1BadTag, "the response has no usable responderID");
    return false;
  }
  auto matches = [&](X509* c) {
    if (name != nullptr) return SameName(X509_get_subject_name(c), name);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    // byKey is the SHA-1 of the subjectPublicKey BIT STRING (RFC 6960 §4.2.1).
    const bool ok = X509_pubkey_digest(c, EVP_sha1(), md, &len) == 1 &&
                    Bytes(key_hash) == std::string_view(reinterpret_cast<char*>(md), len);
    ERR_clear_error();
    return ok;
  };
  std::vector<X509*> candidates;
  const STACK_OF(X509)* included = OCSP_resp_get0_certs(bs);
  for (int i = 0; i < sk_X509_num(included); ++i) {
    X509* c = sk_X509_value(included, i);
    if (c != nullptr && matches(c)) candidates.push_back(c);
  }
  if (matches(o_.issuer)) candidates.push_back(o_.issuer);
  for (X509* c : o_.extra_certs) {
    if (c != nullptr && matches(c)) candidates.push_back(c);
  }
  if (candidates.empty()) {
    const std::string rid = name != nullptr ? absl::StrCat("byName \"", NameToString(name), "\"")
                                            : absl::StrCat("byKey ", HexLower(Bytes(key_hash)));
    Fail(cert_hr::kCryptESignerNotFound,
         absl::StrCat("responder certificate not found: responderID ", rid,
                      " matches neither the issuing CA nor a certificate in the response"));
    return false;
  }

  // Rule 6: the signature over tbsResponseData.
  X509* signer = nullptr;
  std::string verify_error;
  for (X509* c : candidates) {
    EVP_PKEY* key = X509_get0_pubkey(c);
    if (key != nullptr &&
        ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(bs),
                         OCSP_resp_get0_signature(bs), OCSP_resp_get0_respdata(bs), key) == 1) {
      signer = c;
      break;
    }
    if (verify_error.empty()) verify_error = OpenSslErrors();
    ERR_clear_error();
  }
  if (signer == nullptr) {
    v_.responder = NameToString(X509_get_subject_name(candidates.front()));
    Fail(hr::kNteBadSignature,
         absl::StrCat("response signature does not verify with the key of \"", v_.responder, "\"",
                      candidates.size() > 1 ? " (nor of other certificates of that name)" : "",
                      ": ", verify_error));
    return false;
  }
  ERR_clear_error();
  v_.responder = NameToString(X509_get_subject_name(signer));
  const bool is_issuer =
      X509_cmp(signer, o_.issuer) == 0 ||
      (SameName(X509_get_subject_name(signer), X509_get_subject_name(o_.issuer)) &&
       SameKey(signer, o_.issuer));
  v_.responder_kind = is_issuer ? OcspResponder::kIssuer : OcspResponder::kDelegated;
  v_.signature_verified = true;
  if (is_issuer) return true;

  // Rules 7-9: a delegated responder must be issued directly by the CA that
  // issued the certificate (RFC 6960 §4.2.2.2) and carry id-kp-OCSPSigning.
  if (!SameName(X509_get_issuer_name(signer), X509_get_subject_name(o_.issuer))) {
    Fail(hr::kCertEIssuerChaining,
         absl::StrCat("delegated responder \"", v_.responder, "\" was issued by \"",
                      NameToString(X509_get_issuer_name(signer)), "\", not by the issuing CA \"",
                      NameToString(X509_get_subject_name(o_.issuer)), "\""));
    return false;
  }
  const std::string aki = AuthorityKeyIdHex(signer);
  const std::string ski = SubjectKeyIdHex(o_.issuer);
  if (!aki.empty() && !ski.empty() && aki != ski) {
    Fail(hr::kCertEIssuerChaining,
         absl::StrCat("delegated responder \"", v_.responder, "\" names CA key ", aki,
                      " but the issuing CA's key is ", ski));
    return false;
  }
  EVP_PKEY* issuer_key = X509_get0_pubkey(o_.issuer);
  if (issuer_key == nullptr || X509_verify(signer, issuer_key) != 1) {
    Fail(cert_hr::kTrustECertSignature,
         absl::StrCat("the signature on delegated responder certificate \"", v_.responder,
                      "\" does not verify with the issuing CA's key: ", OpenSslErrors()));
    return false;
  }
  const uint32_t flags = X509_get_extension_flags(signer);
  const bool ocsp_signing =
      (flags & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) != 0;
  ERR_clear_error();
  if (!ocsp_signing) {
    Fail(hr::kCertEWrongUsage,
         absl::StrCat("delegated responder \"", v_.responder,
                      "\" lacks extended key usage id-kp-OCSPSigning (1.3.6.1.5.5.7.3.9)"));
    return false;
  }
  const std::optional<absl::Time> nb = ToTime(X509_get0_notBefore(signer));
  const std::optional<absl::Time> na = ToTime(X509_get0_notAfter(signer));
  if (!nb.has_value() || !na.has_value() || o_.now < *nb - o_.clock_tolerance ||
      o_.now > *na + o_.clock_tolerance) {
    Fail(hr::kCertEExpired, absl::StrCat("delegated responder certificate \"", v_.responder,
                                         "\" is outside its validity (", FormatOptTime(nb), " .. ",
                                         FormatOptTime(na), ") at ", UtcText(o_.now)));
    return false;
  }
  signer_not_after_ = na;
  return true;
}

bool Evaluation::CheckNonce(OCSP_BASICRESP* bs) {
  const int loc = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1);
  X509_EXTENSION* ext = loc >= 0 ? OCSP_BASICRESP_get_ext(bs, loc) : nullptr;
  ERR_clear_error();
  const bool sent = !o_.nonce_ext_value.empty();
  if (!sent) {
    v_.nonce = ext != nullptr ? "unsolicited" : "not sent";
    return true;
  }
  if (ext == nullptr) {
    v_.nonce = "absent";
    if (o_.require_nonce) {
      // A response without our nonce may be a replay of an old answer.
      Fail(hr::kCertERevocationFailure,
           "the response does not echo the request's nonce (nonce required by configuration)");
      return false;
    }
    return true;
  }
  if (Bytes(X509_EXTENSION_get_data(ext)) != o_.nonce_ext_value) {
    v_.nonce = "mismatch";
    Fail(hr::kCertERevocationFailure,
         "the response's nonce differs from the request's (replayed or misrouted answer)");
    return false;
  }
  v_.nonce = "matched";
  return true;
}

OCSP_SINGLERESP* Evaluation::FindSingle(OCSP_BASICRESP* bs) {
  // The response may hash CertIDs with any digest; build ours with the same
  // one (OCSP_id_cmp compares the algorithm, the hashes and the serial).
  std::map<int, OcspCertIdPtr> ours;  // by digest NID
  OCSP_SINGLERESP* best = nullptr;
  int best_rank = -1;
  const int count = OCSP_resp_count(bs);
  for (int i = 0; i < count; ++i) {
    OCSP_SINGLERESP* single = OCSP_resp_get0(bs, i);
    const OCSP_CERTID* id = single != nullptr ? OCSP_SINGLERESP_get0_id(single) : nullptr;
    if (id == nullptr) continue;
    ASN1_OBJECT* md_obj = nullptr;
    if (OCSP_id_get0_info(nullptr, &md_obj, nullptr, nullptr, const_cast<OCSP_CERTID*>(id)) != 1 ||
        md_obj == nullptr) {
      continue;
    }
    const int md_nid = OBJ_obj2nid(md_obj);
    auto it = ours.find(md_nid);
    if (it == ours.end()) {
      const EVP_MD* md = EVP_get_digestbynid(md_nid);
      OcspCertIdPtr mine(md != nullptr ? OCSP_cert_to_id(md, o_.cert, o_.issuer) : nullptr);
      it = ours.emplace(md_nid, std::move(mine)).first;
    }
    if (it->second == nullptr || OCSP_id_cmp(it->second.get(), id) != 0) continue;
    int reason = -1;
    const int status = OCSP_single_get0_status(single, &reason, nullptr, nullptr, nullptr);
    if (StatusRank(status) > best_rank) {
      best_rank = StatusRank(status);
      best = single;
    }
  }
  ERR_clear_error();
  if (best == nullptr) {
    Fail(hr::kCryptENoRevocationCheck,
         absl::StrFormat("the response has no answer for this certificate (serial %s; %d "
                         "SingleResponse(s) for other CertIDs)",
                         Asn1IntegerToHex(X509_get0_serialNumber(o_.cert)), count));
  }
  return best;
}

void Evaluation::CheckStatusAndTimes(OCSP_SINGLERESP* single) {
  // Rule 12.
  const std::string critical = UnknownCritical<OCSP_SINGLERESP>(
      single, &OCSP_SINGLERESP_get_ext_count, &OCSP_SINGLERESP_get_ext, &IsKnownSingleExtension);
  if (!critical.empty()) {
    Fail(hr::kCertECritical,
         absl::StrCat("unknown critical extension ", critical, " in the SingleResponse"));
    return;
  }

  int reason = -1;
  ASN1_GENERALIZEDTIME* revtime = nullptr;
  ASN1_GENERALIZEDTIME* thisupd = nullptr;
  ASN1_GENERALIZEDTIME* nextupd = nullptr;
  const int status = OCSP_single_get0_status(single, &reason, &revtime, &thisupd, &nextupd);
  v_.cert_status = CertStatusName(status);
  v_.this_update = ToTime(thisupd);
  v_.next_update = ToTime(nextupd);
  ERR_clear_error();

  // Rules 13-14. A revocation is final, whatever the response's age.
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    v_.revocation_time = ToTime(revtime);
    if (reason >= 0) v_.revocation_reason = OCSP_crl_reason_str(reason);
    Fail(hr::kCryptERevoked,
         absl::StrCat(
             "revoked at ", FormatOptTime(v_.revocation_time),
             v_.revocation_reason.empty() ? "" : absl::StrCat(" (", v_.revocation_reason, ")"),
             "; ", SignerText()));
    return;
  }
  if (status != V_OCSP_CERTSTATUS_GOOD) {
    Fail(hr::kCryptENoRevocationCheck,
         absl::StrCat("the responder does not know this certificate (certStatus unknown); ",
                      SignerText()));
    return;
  }

  if (!v_.this_update.has_value()) {
    Fail(hr::kCryptEAsn1BadTag, "thisUpdate is not a valid GeneralizedTime");
    return;
  }
  const absl::Time now = o_.now;
  const absl::Duration tol = o_.clock_tolerance;
  // Rule 15: answers from the future are not valid yet (a clock is wrong:
  // this host's or the responder's).
  if (*v_.this_update > now + tol) {
    Fail(hr::kCryptERevocationOffline,
         absl::StrCat("thisUpdate ", UtcText(*v_.this_update), " is in the future (now ",
                      UtcText(now), "): clock skew on this host or the responder"));
    return;
  }
  if (v_.produced_at.has_value() && *v_.produced_at > now + tol) {
    Fail(hr::kCryptERevocationOffline,
         absl::StrCat("producedAt ", UtcText(*v_.produced_at), " is in the future (now ",
                      UtcText(now), "): clock skew on this host or the responder"));
    return;
  }
  // Rules 16-17: a stale answer is no answer, as with an expired CRL.
  if (v_.next_update.has_value() && *v_.next_update < now - tol) {
    Fail(hr::kCryptERevocationOffline,
         absl::StrCat("response expired: nextUpdate ", UtcText(*v_.next_update),
                      " has passed (now ", UtcText(now), ")"));
    return;
  }
  if (!v_.next_update.has_value() && *v_.this_update < now - o_.max_age) {
    Fail(hr::kCryptERevocationOffline,
         absl::StrCat("response is stale: no nextUpdate and thisUpdate ", UtcText(*v_.this_update),
                      " is older than ", absl::FormatDuration(o_.max_age)));
    return;
  }

  const std::string validity =
      absl::StrCat("thisUpdate ", UtcText(*v_.this_update), ", nextUpdate ",
                   v_.next_update.has_value() ? UtcText(*v_.next_update) : std::string("none"),
                   "; ", SignerText());
  // Rules 18-20: suspicious but usable.
  const std::optional<absl::Time> cert_nb = ToTime(X509_get0_notBefore(o_.cert));
  if (v_.produced_at.has_value() && cert_nb.has_value() && *v_.produced_at < *cert_nb - tol) {
    v_.status = v1::STATUS_WARN;
    v_.detail = absl::StrCat("good, but producedAt ", UtcText(*v_.produced_at),
                             " is before the certificate's notBefore ", UtcText(*cert_nb),
                             " (responder clock or cached answer); ", validity);
    return;
  }
  if (signer_not_after_.has_value() && *signer_not_after_ - now < o_.signer_expiry_warn) {
    v_.status = v1::STATUS_WARN;
    v_.detail = absl::StrCat("good, but the delegated responder certificate expires ",
                             UtcText(*signer_not_after_), "; ", validity);
    return;
  }
  if (o_.next_update_warn > absl::ZeroDuration() && v_.next_update.has_value() &&
      *v_.next_update - now < o_.next_update_warn) {
    v_.status = v1::STATUS_WARN;
    v_.detail = absl::StrCat("good, but nextUpdate is close; ", validity);
    return;
  }
  v_.status = v1::STATUS_OK;
  v_.hresult = 0;
  v_.detail = absl::StrCat("good; ", validity);
}

void Evaluation::Run(std::string_view der) {
  // Rule 1.
  if (der.empty() || der.size() > kMaxOcspResponseBytes) {
    Fail(hr::kCryptEAsn1BadTag,
         absl::StrFormat("response of %d bytes is not an OCSPResponse (limit %d bytes)", der.size(),
                         kMaxOcspResponseBytes));
    return;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (response == nullptr) {
    Fail(hr::kCryptEAsn1BadTag,
         absl::StrCat("d2i_OCSP_RESPONSE failed: ", OpenSslErrors(), " (", der.size(), " bytes)"));
    return;
  }
  // Rule 2.
  const int response_status = OCSP_response_status(response.get());
  v_.response_status = ResponseStatusName(response_status);
  if (absl::StartsWith(v_.response_status, "undefined")) {
    // Not one of RFC 6960's values (4 is reserved): a malformed response.
    Fail(hr::kCryptEAsn1BadTag,
         absl::StrCat("OCSP responseStatus ", response_status, " is not defined by RFC 6960"));
    return;
  }
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    const bool transient = response_status == OCSP_RESPONSE_STATUS_TRYLATER ||
                           response_status == OCSP_RESPONSE_STATUS_INTERNALERROR;
    Fail(transient ? hr::kCryptERevocationOffline : hr::kCryptENoRevocationCheck,
         absl::StrCat("OCSP responseStatus ", v_.response_status, " (", response_status, ")"));
    return;
  }
  // Rule 3.
  OcspBasicRespPtr bs(OCSP_response_get1_basic(response.get()));
  if (bs == nullptr) {
    Fail(hr::kCryptEAsn1BadTag,
         absl::StrCat("OCSP_response_get1_basic failed (not a decodable id-pkix-ocsp-basic "
                      "response): ",
                      OpenSslErrors()));
    return;
  }
  v_.produced_at = ToTime(OCSP_resp_get0_produced_at(bs.get()));
  // Rule 4.
  const std::string critical = UnknownCritical<OCSP_BASICRESP>(
      bs.get(), &OCSP_BASICRESP_get_ext_count, &OCSP_BASICRESP_get_ext, &IsKnownResponseExtension);
  if (!critical.empty()) {
    Fail(hr::kCertECritical,
         absl::StrCat("unknown critical extension ", critical, " in the response data"));
    return;
  }
  // Rules 5-9, 10, 11, then the status and times.
  if (!CheckSigner(bs.get())) return;
  if (!CheckNonce(bs.get())) return;
  OCSP_SINGLERESP* single = FindSingle(bs.get());
  if (single == nullptr) return;
  CheckStatusAndTimes(single);
}

}  // namespace

absl::StatusOr<OcspRequest> BuildOcspRequest(X509* cert, X509* issuer,
                                             const OcspRequestOptions& options) {
  if (cert == nullptr || issuer == nullptr) {
    return absl::InvalidArgumentError("BuildOcspRequest: certificate and issuer are required");
  }
  OcspRequestPtr req(OCSP_REQUEST_new());
  if (req == nullptr) {
    return absl::InternalError(absl::StrCat("OCSP_REQUEST_new: ", OpenSslErrors()));
  }
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  if (id == nullptr) {
    return absl::InternalError(absl::StrCat("OCSP_cert_to_id: ", OpenSslErrors()));
  }
  if (OCSP_request_add0_id(req.get(), id.get()) == nullptr) {
    return absl::InternalError(absl::StrCat("OCSP_request_add0_id: ", OpenSslErrors()));
  }
  id.release();  // owned by the request now
  OcspRequest out;
  if (options.nonce) {
    // NULL value: OpenSSL fills 16 random bytes.
    if (OCSP_request_add1_nonce(req.get(), nullptr, 16) != 1) {
      return absl::InternalError(absl::StrCat("OCSP_request_add1_nonce: ", OpenSslErrors()));
    }
    const int loc = OCSP_REQUEST_get_ext_by_NID(req.get(), NID_id_pkix_OCSP_Nonce, -1);
    X509_EXTENSION* ext = loc >= 0 ? OCSP_REQUEST_get_ext(req.get(), loc) : nullptr;
    if (ext == nullptr) {
      return absl::InternalError("BuildOcspRequest: nonce extension missing after adding it");
    }
    out.nonce_ext_value = std::string(Bytes(X509_EXTENSION_get_data(ext)));
  }
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(req.get(), &der);
  if (len <= 0 || der == nullptr) {
    return absl::InternalError(absl::StrCat("i2d_OCSP_REQUEST: ", OpenSslErrors()));
  }
  out.der.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string OcspGetUrl(std::string_view base_url, std::string_view request_der) {
  std::string b64;
  absl::Base64Escape(absl::string_view(request_der.data(), request_der.size()), &b64);
  std::string url(base_url);
  if (url.empty() || url.back() != '/') url.push_back('/');
  for (char c : b64) {
    switch (c) {
      case '+':
        url += "%2B";
        break;
      case '/':
        url += "%2F";
        break;
      case '=':
        url += "%3D";
        break;
      default:
        url.push_back(c);
    }
  }
  return url;
}

OcspVerdict EvaluateOcspResponse(std::string_view response, const OcspCheckOptions& options) {
  OcspVerdict verdict;
  if (options.cert == nullptr || options.issuer == nullptr) {
    verdict.status = v1::STATUS_PROBE_ERROR;
    verdict.hresult = hr::kEInvalidArg;
    verdict.detail = "EvaluateOcspResponse: certificate and issuer are required";
    return verdict;
  }
  // CertIDs hash the certificate's issuer name with the issuer's key: with
  // the wrong issuer every answer would look like "not for this cert".
  if (!SameName(X509_get_issuer_name(options.cert), X509_get_subject_name(options.issuer))) {
    verdict.status = v1::STATUS_PROBE_ERROR;
    verdict.hresult = hr::kEInvalidArg;
    verdict.detail = absl::StrCat("EvaluateOcspResponse: the issuer given (\"",
                                  NameToString(X509_get_subject_name(options.issuer)),
                                  "\") is not the certificate's issuer (\"",
                                  NameToString(X509_get_issuer_name(options.cert)), "\")");
    return verdict;
  }
  ERR_clear_error();
  Evaluation(options, &verdict).Run(response);
  ERR_clear_error();
  return verdict;
}

}  // namespace pkiwatch
