#include "agent/probes/ndes_probe.h"

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/probes/probe_budget.h"
#include "common/error_catalogue.h"
#include "common/openssl_util.h"
#include "common/pkcs7_certs.h"
#include "common/url.h"

namespace pkiwatch {
namespace {

constexpr size_t kMaxText = 1024;
constexpr size_t kMaxDetail = 2048;
// Microsoft certificate template extensions (DOMAIN.md section 2).
constexpr char kTemplateNameOid[] = "1.3.6.1.4.1.311.20.2";  // v1: BMPString name
constexpr char kTemplateInfoOid[] = "1.3.6.1.4.1.311.21.7";  // v2: SEQUENCE { OID, ... }

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, openssl_internal::Deleter<&ASN1_OBJECT_free>>;
using Asn1TypePtr = std::unique_ptr<ASN1_TYPE, openssl_internal::Deleter<&ASN1_TYPE_free>>;
struct Asn1SequenceAnyDeleter {
  void operator()(ASN1_SEQUENCE_ANY* s) const { sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free); }
};
using Asn1SequenceAnyPtr = std::unique_ptr<ASN1_SEQUENCE_ANY, Asn1SequenceAnyDeleter>;

// One check's verdict. The finding takes the worst.
struct Check {
  v1::Status status = v1::STATUS_OK;
  uint32_t hresult = 0;
  std::string text;
};

std::string AppendQuery(std::string_view url, std::string_view query) {
  const char sep = url.find('?') == std::string_view::npos ? '?' : '&';
  return absl::StrCat(std::string(url), std::string(1, sep), std::string(query));
}

// Media type without parameters, lower case.
std::string MediaType(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  absl::AsciiStrToLower(&t);
  return std::string(absl::StripAsciiWhitespace(t));
}

bool LooksLikeHtml(const HttpResult& r) {
  if (absl::StartsWith(MediaType(r.content_type), "text/html")) return true;
  std::string head = r.body.substr(0, 512);
  absl::AsciiStrToLower(&head);
  return absl::StrContains(head, "<html") || absl::StrContains(head, "<!doctype html");
}

std::string ExtensionUtf8(X509* cert, const char* oid) {
  Asn1ObjectPtr obj(OBJ_txt2obj(oid, /*no_name=*/1));
  if (obj == nullptr) return "";
  const int idx = X509_get_ext_by_OBJ(cert, obj.get(), -1);
  if (idx < 0) return "";
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
  if (data == nullptr) return "";
  const unsigned char* p = ASN1_STRING_get0_data(data);
  Asn1TypePtr value(d2i_ASN1_TYPE(nullptr, &p, ASN1_STRING_length(data)));
  if (value == nullptr) return "";
  switch (value->type) {
    case V_ASN1_BMPSTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_IA5STRING: {
      unsigned char* utf8 = nullptr;
      const int n = ASN1_STRING_to_UTF8(&utf8, value->value.asn1_string);
      if (n < 0) return "";
      std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
      OPENSSL_free(utf8);
      return out;
    }
    default:
      return "";
  }
}

std::string TemplateOid(X509* cert) {
  Asn1ObjectPtr obj(OBJ_txt2obj(kTemplateInfoOid, /*no_name=*/1));
  if (obj == nullptr) return "";
  const int idx = X509_get_ext_by_OBJ(cert, obj.get(), -1);
  if (idx < 0) return "";
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
  if (data == nullptr) return "";
  const unsigned char* p = ASN1_STRING_get0_data(data);
  Asn1SequenceAnyPtr seq(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, ASN1_STRING_length(data)));
  if (seq == nullptr || sk_ASN1_TYPE_num(seq.get()) < 1) return "";
  const ASN1_TYPE* first = sk_ASN1_TYPE_value(seq.get(), 0);
  if (first == nullptr || first->type != V_ASN1_OBJECT) return "";
  char buf[128];
  const int n = OBJ_obj2txt(buf, sizeof(buf), first->value.object, /*no_name=*/1);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return "";
  return std::string(buf, static_cast<size_t>(n));
}

struct CertFacts {
  X509* cert = nullptr;  // borrowed
  std::string subject;
  std::string issuer;
  std::string thumbprint;
  std::string ski_hex;
  std::optional<absl::Time> not_before;
  std::optional<absl::Time> not_after;
  bool is_ca = false;
  bool self_signed = false;
  std::string template_name;
  std::string template_oid;

  std::string Role() const {
    if (is_ca) return absl::StrCat("CA certificate ", subject);
    std::string role = absl::StrCat("RA certificate ", subject);
    if (!template_name.empty() || !template_oid.empty()) {
      absl::StrAppend(&role, " (template ", template_name.empty() ? template_oid : template_name,
                      ")");
    }
    return role;
  }
};

CertFacts Describe(X509* cert) {
  CertFacts f;
  f.cert = cert;
  f.subject = OneLine(NameToString(X509_get_subject_name(cert)), kMaxText);
  f.issuer = OneLine(NameToString(X509_get_issuer_name(cert)), kMaxText);
  f.thumbprint = CertThumbprintSha1(cert);
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert); ski != nullptr) {
    f.ski_hex = HexLower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                                          static_cast<size_t>(ASN1_STRING_length(ski))));
  }
  if (absl::StatusOr<absl::Time> t = Asn1TimeToAbsl(X509_get0_notBefore(cert)); t.ok()) {
    f.not_before = *t;
  }
  if (absl::StatusOr<absl::Time> t = Asn1TimeToAbsl(X509_get0_notAfter(cert)); t.ok()) {
    f.not_after = *t;
  }
  // X509_get_extension_flags caches the decoded extensions (EXFLAG_CA: cA
  // set in basicConstraints; EXFLAG_SS: subject == issuer and the AKI, if
  // any, matches the SKI).
  const uint32_t flags = X509_get_extension_flags(cert);
  f.is_ca = (flags & EXFLAG_CA) != 0;
  f.self_signed = (flags & EXFLAG_SS) != 0;
  f.template_name = OneLine(ExtensionUtf8(cert, kTemplateNameOid), kMaxText);
  f.template_oid = OneLine(TemplateOid(cert), 128);
  return f;
}

// Transport and HTTP status of a SCEP request. Returns false when the body
// cannot be used (the check says why).
bool CheckScepFetch(std::string_view operation, const HttpResult& r, Check* check) {
  if (r.curl_code != CURLE_OK) {
    const std::string text = absl::StrCat(std::string(operation), ": curl error ", r.curl_code,
                                          ": ", r.curl_error);
    if (IsLocalCurlFailure(r.curl_code)) {
      *check = {v1::STATUS_PROBE_ERROR,
                r.curl_code == CURLE_OUT_OF_MEMORY ? hr::kEOutOfMemory : hr::kEFail, text};
    } else {
      *check = {v1::STATUS_FAIL, WinHttpHresultForCurl(r.curl_code), text};
    }
    return false;
  }
  if (r.http_status == 401 || r.http_status == 403) {
    *check = {v1::STATUS_FAIL, hr::kEAccessDenied,
              absl::StrCat(std::string(operation), ": HTTP ", r.http_status, " from ",
                           OneLine(r.effective_url, kMaxText),
                           ": SCEP needs anonymous access to /certsrv/mscep (IIS authentication)")};
    return false;
  }
  if (r.http_status < 200 || r.http_status > 299) {
    std::string hint;
    if (r.http_status >= 500) {
      hint = ": NDES failed (application pool identity, NDES service account locked or "
             "password expired, CA unreachable from NDES)";
    } else if (r.http_status == 404) {
      hint = ": wrong URL, or mscep.dll not allowed in the ISAPI and CGI restrictions";
    }
    *check = {v1::STATUS_FAIL, hr::kEFail,
              absl::StrCat(std::string(operation), ": HTTP ", r.http_status, " from ",
                           OneLine(r.effective_url, kMaxText), hint)};
    return false;
  }
  return true;
}

}  // namespace

std::string NdesGetCaCapsUrl(std::string_view normalized_url) {
  return AppendQuery(normalized_url, "operation=GetCACaps");
}

std::string NdesGetCaCertUrl(std::string_view normalized_url) {
  return AppendQuery(normalized_url, "operation=GetCACert&message=ca");
}

std::string NdesAdminUrl(std::string_view normalized_url) {
  const size_t scheme_end = normalized_url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  const size_t path = normalized_url.find('/', scheme_end + 3);
  const std::string_view origin =
      path == std::string_view::npos ? normalized_url : normalized_url.substr(0, path);
  return absl::StrCat(std::string(origin), "/certsrv/mscep_admin/");
}

std::vector<std::string> ParseCaCaps(std::string_view body) {
  std::vector<std::string> caps;
  size_t pos = 0;
  while (pos < body.size() && static_cast<int>(caps.size()) < kNdesMaxCapabilities) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view line = body.substr(pos, end - pos);
    pos = end + 1;
    const absl::string_view trimmed =
        absl::StripAsciiWhitespace(absl::string_view(line.data(), line.size()));
    if (trimmed.empty()) continue;
    caps.push_back(OneLine(std::string_view(trimmed.data(), trimmed.size()), kNdesMaxCapabilityBytes));
  }
  return caps;
}

v1::Finding MakeNdesFinding(std::string_view normalized_url, const NdesFetches& fetches,
                            absl::Time now) {
  v1::Finding f;
  f.set_probe(std::string(kNdesProbeInfo.name));
  const std::string url = OneLine(normalized_url, kMaxUrlLength);
  f.set_target(url);
  SetTimestamp(now, f.mutable_observed_at());
  v1::Dimensions* dims = f.mutable_dimensions();
  dims->set_url(url);
  dims->set_url_kind(v1::URL_KIND_NDES);
  v1::NdesDetail* detail = f.mutable_ndes();

  std::vector<Check> checks;
  std::vector<std::string> overview;
  absl::Duration total_latency = fetches.get_ca_caps.latency;

  // --- GetCACaps ---
  const HttpResult& caps = fetches.get_ca_caps;
  detail->set_getcacaps_http_status(static_cast<uint32_t>(std::max(0L, caps.http_status)));
  {
    Check c;
    if (CheckScepFetch("GetCACaps", caps, &c)) {
      if (LooksLikeHtml(caps)) {
        c = {v1::STATUS_FAIL, hr::kErrorWinhttpInvalidServerResponse,
             absl::StrCat("GetCACaps: answered with an HTML page (content type \"",
                          OneLine(caps.content_type, 256),
                          "\"): a proxy, login or error page instead of NDES")};
      } else {
        for (std::string& cap : ParseCaCaps(caps.body)) detail->add_capabilities(std::move(cap));
        if (detail->capabilities_size() == 0) {
          c = {v1::STATUS_WARN, 0,
               "GetCACaps: no capabilities advertised (clients fall back to the weakest "
               "algorithms)"};
        }
      }
    }
    overview.push_back(caps.curl_code != CURLE_OK
                           ? "GetCACaps failed"
                           : absl::StrCat("GetCACaps HTTP ", caps.http_status, ", ",
                                          detail->capabilities_size(), " capabilities"));
    checks.push_back(std::move(c));
  }

  // --- GetCACert ---
  std::vector<X509Ptr> certs;
  std::vector<CertFacts> facts;
  if (fetches.get_ca_cert.has_value()) {
    const HttpResult& r = *fetches.get_ca_cert;
    total_latency += r.latency;
    detail->set_getcacert_http_status(static_cast<uint32_t>(std::max(0L, r.http_status)));
    detail->set_getcacert_content_type(OneLine(r.content_type, 256));
    Check c;
    if (CheckScepFetch("GetCACert", r, &c)) {
      const std::string type = MediaType(r.content_type);
      const bool ca_ra = type == "application/x-x509-ca-ra-cert";
      const bool ca_only = type == "application/x-x509-ca-cert";
      absl::StatusOr<std::vector<X509Ptr>> parsed =
          ca_only ? LoadCertificates(r.body) : ParsePkcs7Certificates(r.body);
      if (!parsed.ok() && !ca_ra && !ca_only) parsed = LoadCertificates(r.body);
      if (!parsed.ok()) {
        c = {v1::STATUS_FAIL, hr::kCryptEAsn1BadTag,
             absl::StrCat("GetCACert: neither PKCS#7 nor a certificate (", r.body.size(),
                          " bytes, content type \"", OneLine(r.content_type, 256),
                          "\"): ", parsed.status().message())};
      } else {
        certs = std::move(*parsed);
        for (const X509Ptr& cert : certs) facts.push_back(Describe(cert.get()));
        const bool any_ca =
            std::any_of(facts.begin(), facts.end(), [](const CertFacts& x) { return x.is_ca; });
        const int ra_count = static_cast<int>(
            std::count_if(facts.begin(), facts.end(), [](const CertFacts& x) { return !x.is_ca; }));
        if (facts.empty()) {
          c = {v1::STATUS_FAIL, hr::kCryptENotFound,
               "GetCACert: the answer holds no certificate"};
        } else if (!ca_ra && !ca_only) {
          c = {v1::STATUS_WARN, 0,
               absl::StrCat("GetCACert: unexpected content type \"", OneLine(r.content_type, 256),
                            "\" (SCEP uses application/x-x509-ca-ra-cert or "
                            "application/x-x509-ca-cert)")};
        } else if (!any_ca) {
          c = {v1::STATUS_WARN, 0, "GetCACert: no CA certificate (basicConstraints cA) in the answer"};
        } else if (ca_ra && ra_count == 0) {
          c = {v1::STATUS_WARN, 0,
               "GetCACert: no RA certificate: SCEP clients cannot encrypt their requests "
               "(NDES RA certificates missing?)"};
        }
      }
    }
    checks.push_back(std::move(c));
  } else if (caps.curl_code != CURLE_OK) {
    overview.push_back("GetCACert not tried");
  }

  // Issuing CA: the CA certificate that issued the RA certificates, else a
  // subordinate CA, else any CA certificate.
  const CertFacts* issuing = nullptr;
  for (const CertFacts& x : facts) {
    if (!x.is_ca) continue;
    const bool issued_ra = std::any_of(facts.begin(), facts.end(), [&](const CertFacts& y) {
      return !y.is_ca && y.issuer == x.subject;
    });
    if (issued_ra) {
      issuing = &x;
      break;
    }
  }
  for (const CertFacts& x : facts) {
    if (issuing == nullptr && x.is_ca && !x.self_signed) issuing = &x;
  }
  for (const CertFacts& x : facts) {
    if (issuing == nullptr && x.is_ca) issuing = &x;
  }
  if (issuing != nullptr) {
    dims->set_ca(issuing->subject);
    dims->set_ca_key_id(issuing->ski_hex);
  }

  // Validity of every certificate; the first to expire becomes target_cert.
  const CertFacts* first_expiry = nullptr;
  int ra_total = 0;
  int ca_total = 0;
  for (const CertFacts& x : facts) {
    (x.is_ca ? ca_total : ra_total) += 1;
    if (detail->certificates_size() < kNdesMaxCertificates) {
      v1::NdesCertificate* out = detail->add_certificates();
      out->set_subject(x.subject);
      out->set_issuer(x.issuer);
      out->set_thumbprint(x.thumbprint);
      if (x.not_after.has_value()) SetTimestamp(*x.not_after, out->mutable_not_after());
      out->set_is_ca(x.is_ca);
      out->set_template_name(x.template_name);
      out->set_template_oid(x.template_oid);
    }
    if (!x.not_after.has_value() || !x.not_before.has_value()) {
      checks.push_back({v1::STATUS_FAIL, hr::kCryptEAsn1Error,
                        absl::StrCat(x.Role(), ": unreadable validity period")});
      continue;
    }
    if (first_expiry == nullptr || *x.not_after < *first_expiry->not_after) first_expiry = &x;
    if (*x.not_after <= now) {
      checks.push_back({v1::STATUS_FAIL, hr::kCertEExpired,
                        absl::StrCat(x.Role(), " expired ", HumanDuration(now - *x.not_after),
                                     " ago (", Rfc3339(*x.not_after), ")")});
    } else if (*x.not_before > now) {
      checks.push_back({v1::STATUS_FAIL, hr::kCertEExpired,
                        absl::StrCat(x.Role(), " not valid before ", Rfc3339(*x.not_before),
                                     " (clock skew?)")});
    } else if (*x.not_after - now <= kNdesCertExpiryWarn) {
      checks.push_back({v1::STATUS_WARN, 0,
                        absl::StrCat(x.Role(), " expires in ", HumanDuration(*x.not_after - now),
                                     " (", Rfc3339(*x.not_after), ")")});
    }
  }
  if (first_expiry != nullptr) {
    v1::TargetCert* tc = f.mutable_target_cert();
    tc->set_subject(first_expiry->subject);
    tc->set_thumbprint(first_expiry->thumbprint);
    SetTimestamp(*first_expiry->not_after, tc->mutable_not_after());
  }
  if (fetches.get_ca_cert.has_value()) {
    std::string text = fetches.get_ca_cert->curl_code != CURLE_OK
                           ? "GetCACert failed"
                           : absl::StrCat("GetCACert HTTP ", fetches.get_ca_cert->http_status);
    if (!facts.empty()) {
      absl::StrAppend(&text, ": ", ca_total, " CA + ", ra_total, " RA");
      if (issuing != nullptr) absl::StrAppend(&text, " of ", issuing->subject);
      if (first_expiry != nullptr) {
        absl::StrAppend(&text, ", first expiry ", Rfc3339(*first_expiry->not_after), " (",
                        first_expiry->is_ca ? "CA" : "RA", ")");
      }
    }
    overview.push_back(std::move(text));
  }

  // --- mscep_admin ---
  if (fetches.admin_requested) {
    detail->set_admin_url(OneLine(fetches.admin_url, kMaxText));
    if (!fetches.admin.has_value()) {
      overview.push_back("admin page not tried");
    } else {
      const HttpResult& r = *fetches.admin;
      total_latency += r.latency;
      detail->set_admin_http_status(static_cast<uint32_t>(std::max(0L, r.http_status)));
      Check c;
      std::string body_lower = r.body.substr(0, 64 * 1024);
      absl::AsciiStrToLower(&body_lower);
      if (r.curl_code != CURLE_OK) {
        const std::string text =
            absl::StrCat("mscep_admin: curl error ", r.curl_code, ": ", r.curl_error);
        c = IsLocalCurlFailure(r.curl_code)
                ? Check{v1::STATUS_PROBE_ERROR, hr::kEFail, text}
                : Check{v1::STATUS_FAIL, WinHttpHresultForCurl(r.curl_code), text};
        overview.push_back("admin page failed");
      } else {
        std::string note;
        if (r.http_status >= 500) {
          c = {v1::STATUS_FAIL, hr::kEFail,
               absl::StrCat("mscep_admin: HTTP ", r.http_status, " from ",
                            OneLine(r.effective_url, kMaxText),
                            ": NDES application pool or service account broken (account "
                            "locked, password expired, not in IIS_IUSRS)")};
        } else if (r.http_status == 401) {
          note = " (asks for credentials: healthy)";
        } else if (r.http_status == 403) {
          note = " (access denied to the agent: protected, answering)";
        } else if (r.http_status >= 200 && r.http_status <= 299) {
          if (absl::StrContains(body_lower, "password cache is full")) {
            c = {v1::STATUS_WARN, 0,
                 "mscep_admin: the password cache is full; no new enrollment passwords until "
                 "older ones are used or expire"};
          } else if (absl::StrContains(body_lower, "password")) {
            note = " (password page)";
          } else {
            note = " (page without a password)";
          }
        } else if (r.http_status == 404) {
          c = {v1::STATUS_WARN, 0,
               absl::StrCat("mscep_admin: HTTP 404 from ", OneLine(r.effective_url, kMaxText),
                            ": no NDES admin page at this server")};
        } else {
          c = {v1::STATUS_WARN, 0,
               absl::StrCat("mscep_admin: unexpected HTTP ", r.http_status, " from ",
                            OneLine(r.effective_url, kMaxText))};
        }
        overview.push_back(absl::StrCat("admin HTTP ", r.http_status, note));
      }
      checks.push_back(std::move(c));
    }
  }
  SetDuration(total_latency, f.mutable_duration());

  // The worst check decides; its first occurrence supplies the error.
  const Check* worst = nullptr;
  for (const Check& c : checks) {
    if (worst == nullptr || StatusSeverity(c.status) > StatusSeverity(worst->status)) worst = &c;
  }
  const std::string overview_text = absl::StrJoin(overview, "; ");
  if (worst == nullptr || worst->status == v1::STATUS_OK) {
    f.set_status(v1::STATUS_OK);
    f.set_summary(OneLine(absl::StrCat("NDES healthy: ", overview_text), kMaxText));
    return f;
  }
  f.set_status(worst->status);
  const std::string text = OneLine(worst->text, kMaxDetail);
  if (worst->hresult != 0) *f.mutable_error() = MakeErrorInfo(worst->hresult, text);
  int problems = 0;
  for (const Check& c : checks) problems += c.status != v1::STATUS_OK ? 1 : 0;
  f.set_summary(OneLine(
      absl::StrCat(text, problems > 1 ? absl::StrCat(" (+", problems - 1, " more)") : "", " | ",
                   overview_text),
      kMaxText));
  return f;
}

absl::StatusOr<std::unique_ptr<NdesProbe>> NdesProbe::Create(
    std::vector<v1::NdesEndpoint> endpoints, HttpOptions http, absl::Duration budget) {
  std::vector<Target> targets;
  std::set<std::string> seen;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const std::string where = absl::StrFormat("ndes[%d].url", i);
    absl::StatusOr<std::string> url = NormalizeUrl(endpoints[i].url());
    if (!url.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " \"", OneLine(endpoints[i].url(), kMaxText), "\": ", url.status().message()));
    }
    if (!absl::StartsWith(*url, "http://") && !absl::StartsWith(*url, "https://")) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " \"", OneLine(*url, kMaxText), "\": SCEP runs over http or https"));
    }
    if (!seen.insert(*url).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " \"", OneLine(*url, kMaxText), "\": duplicate of an earlier endpoint"));
    }
    targets.push_back({std::move(*url), endpoints[i].check_admin()});
  }
  return std::unique_ptr<NdesProbe>(new NdesProbe(std::move(targets), std::move(http), budget));
}

std::vector<v1::Finding> NdesProbe::Run(const ProbeContext& ctx) {
  std::vector<v1::Finding> findings;
  findings.reserve(targets_.size());
  const RunBudget budget(budget_);
  for (const Target& target : targets_) {
    const absl::Time at = ctx.now + budget.Elapsed();
    if (budget.Spent()) {
      v1::Dimensions dims;
      dims.set_url(target.url);
      dims.set_url_kind(v1::URL_KIND_NDES);
      findings.push_back(
          MakeBudgetSkippedFinding(kNdesProbeInfo.name, target.url, at, budget.budget(), dims));
      continue;
    }
    NdesFetches fetches;
    fetches.get_ca_caps = HttpGet(NdesGetCaCapsUrl(target.url), http_);
    // Name not resolved, refused, timed out: the server is out of reach and
    // the other requests would only repeat that at the cost of more timeouts.
    const int code = fetches.get_ca_caps.curl_code;
    const bool server_unreachable = code == CURLE_COULDNT_RESOLVE_HOST ||
                                    code == CURLE_COULDNT_RESOLVE_PROXY ||
                                    code == CURLE_COULDNT_CONNECT ||
                                    code == CURLE_OPERATION_TIMEDOUT;
    fetches.admin_requested = target.check_admin;
    fetches.admin_url = NdesAdminUrl(target.url);
    if (!server_unreachable) {
      fetches.get_ca_cert = HttpGet(NdesGetCaCertUrl(target.url), http_);
      if (target.check_admin) fetches.admin = HttpGet(fetches.admin_url, http_);
    }
    findings.push_back(MakeNdesFinding(target.url, fetches, at));
  }
  return findings;
}

std::vector<std::string> NdesProbe::targets() const {
  std::vector<std::string> urls;
  urls.reserve(targets_.size());
  for (const Target& t : targets_) urls.push_back(t.url);
  return urls;
}

}  // namespace pkiwatch
