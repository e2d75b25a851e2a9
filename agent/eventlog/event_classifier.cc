#include "agent/eventlog/event_classifier.h"

#include <cstddef>
#include <iterator>
#include <utility>

#include "agent/eventlog/error_text.h"
#include "agent/eventlog/message_template.h"

namespace pkiwatch::eventlog {
namespace {

constexpr std::string_view kCapi2Provider = "Microsoft-Windows-CAPI2";
constexpr std::string_view kCertEnrollProvider =
    "Microsoft-Windows-CertificateServicesClient-CertEnroll";
constexpr std::string_view kAutoEnrollmentProvider =
    "Microsoft-Windows-CertificateServicesClient-AutoEnrollment";
constexpr std::string_view kCscProvider = "Microsoft-Windows-CertificateServicesClient";
constexpr std::string_view kCaProvider = "Microsoft-Windows-CertificationAuthority";

// One message-table entry: the inserts' field names in order (%1, %2, ...;
// also the order of unnamed <Data> in classic records) and the template.
// Several rows may share an id (older Windows wording); the first row is the
// current one and names positional <Data>.
struct MessageSpec {
  uint32_t event_id;
  EventStatus status;
  std::string_view fields;     // comma-separated
  std::string_view message;    // message-table template; may be empty
};

using S = EventStatus;

// Microsoft-Windows-CAPI2, classic Application-log events. Templates from
// crypt32.dll's message table (fixtures/manifests/libyal-winevt-kb/
// MessageFile-crypt32.dll.md; the same texts as the nasbench CSV). Event 11
// is the pre-Vista number of the 4107 text (MicrosoftDocs article in
// fixtures/events/docs).
constexpr MessageSpec kCapi2Classic[] = {
    {11, S::kFail, "Url,ErrorText",
     "Failed extract of third-party root list from auto update cab at: <%1> with error: %2."},
    {4097, S::kOk, "Subject,Thumbprint",
     "Successful auto update of third-party root certificate:: Subject: <%1> Sha1 thumbprint: "
     "<%2>."},
    {4098, S::kOk, "Url",
     "Successful auto update retrieval of third-party root list cab from: <%1>."},
    {4099, S::kFail, "Url,ErrorText",
     "Failed auto update retrieval of third-party root list cab from: <%1> with error: %2."},
    {4100, S::kOk, "Url",
     "Successful auto update retrieval of third-party root certificate from: <%1>."},
    {4101, S::kFail, "Url,ErrorText",
     "Failed auto update retrieval of third-party root certificate from: <%1> with error: %2."},
    {4102, S::kWarn, "Threshold,Minutes",
     "Reached crypt32 threshold of %1 events and will suspend logging for %2 minutes."},
    {4103, S::kOk, "Url",
     "Successful auto update retrieval of third-party root list sequence number from: <%1>."},
    {4104, S::kFail, "Url,ErrorText",
     "Failed auto update retrieval of third-party root list sequence number from: <%1> with "
     "error: %2."},
    {4105, S::kWarn, "Subject,Thumbprint",
     "Untrusted root certificate:: Subject: <%1> Sha1 thumbprint: <%2>."},
    {4106, S::kWarn, "Issuer,Thumbprint",
     "Partial Chain:: Issuer: <%1> Subject Sha1 thumbprint: <%2>."},
    {4107, S::kFail, "Url,ErrorText",
     "Failed extract of third-party root list from auto update cab at: <%1> with error: %2."},
    {4108, S::kOk, "Subject,Thumbprint",
     "Successful auto delete of third-party root certificate:: Subject: <%1> Sha1 thumbprint: "
     "<%2>."},
    {4109, S::kOk, "Subject,Thumbprint",
     "Successful auto property update of third-party root certificate:: Subject: <%1> Sha1 "
     "thumbprint: <%2>."},
    {4110, S::kFail, "Subject,ErrorText",
     "Failed to add certificate to Third-Party Root Certification Authorities store with error: "
     "%2"},
    {4111, S::kOk, "EffectiveDate",
     "Successful auto update of third-party root list with effective date: %1."},
    {4112, S::kOk, "EffectiveDate",
     "Successful auto update of disallowed certificate list with effective date: %1."},
    {4113, S::kOk, "EffectiveDate", "Successful auto update of pin rules with effective date: %1."},
    {4114, S::kWarn, "Server,Authority,Thumbprint,Domain,EffectiveDate,SequenceNumber,SavedTo",
     "Server: %1 has unexpected certificates under trusted authority: <%2> with thumbprint: "
     "%3.%n%nMismatch of pin rules for domain: %4 with effective date: %5 and sequence number: "
     "%6.%n%nCertificates saved to: <%7>."},
    {4128, S::kOk, "Url", "Successful pre-fetch of certificate revocation list from: <%1>."},
    {4129, S::kFail, "Url,ErrorText",
     "Failed pre-fetch of certificate revocation list from: <%1> with error: %2."},
};

// Microsoft-Windows-CertificateServicesClient-CertEnroll. Field names and
// templates from fixtures/manifests/nasbench-EVTX-ETW-Resources/
// W10_1507.Microsoft-Windows-CertificateServicesClient-CertEnroll.DERIVED-
// fields.tsv (86/87 from the libyal certenroll.dll table), older wording from
// MessageFile-certenroll.dll.md. Status: the manifest severity, except that
// the success messages 64/65/66 (logged with warning bits) are OK and
// pending requests are WARN.
constexpr MessageSpec kCertEnroll[] = {
    {6, S::kFail, "Context,TemplateName",
     "Certificate enrollment for %1 could not find a valid certificate template to match %2.  "
     "Enrollment was not performed."},
    {9, S::kFail, "Context,TemplateName,RequestId,CA",
     "Certificate enrollment for %1 was denied by %3 when retrieving the pending request for a %2 "
     "certificate with request ID %4."},
    {11, S::kWarn, "Context",
     "Certificate enrollment for %1 could not find a certification authority in the enterprise.  "
     "Enrollment was not performed."},
    {13, S::kFail, "Context,TemplateName,CA,RequestId,ErrorCode",
     "Certificate enrollment for %1 failed to enroll for a %2 certificate with request ID %4 from "
     "%3 (%5)."},
    {13, S::kFail, "Context,TemplateName,CA,ErrorCode",
     "Certificate enrollment for %1 failed to enroll for a %2 certificate from %3 (%4)."},
    {15, S::kWarn, "Context,ErrorCode",
     "Certificate enrollment for %1 failed to retrieve certificate template information from the "
     "Active Directory (%2). Enrollment was not performed."},
    {16, S::kFail, "Context,TemplateName,CA,RequestId,CertificateThumbprint,ErrorCode",
     "Certificate enrollment for %1 failed to renew a %2 certificate with request ID %4 from %3 "
     "(%6). The certificate which failed to renew is %5"},
    {17, S::kWarn, "Context,TemplateName,CA,ErrorCode",
     "Certificate enrollment for %1 failed to enroll for a %2 certificate from certification "
     "authority %3 (%4). Another certification authority will be contacted."},
    {18, S::kWarn, "Context,TemplateName,CA,ErrorCode",
     "Certificate enrollment for %1 failed to renew a %2 certificate from certification authority "
     "%3 (%4). Another certification authority will be contacted."},
    {19, S::kOk, "Context,TemplateName,CA,RequestId",
     "Certificate enrollment for %1 successfully received a %2 certificate with request ID %4 from "
     "certification authority %3."},
    {20, S::kOk, "Context,TemplateName,CA,RequestId",
     "Certificate enrollment for %1 successfully renewed a %2 certificate with request ID %4 from "
     "certification authority %3."},
    {21, S::kWarn, "Context,TemplateName,CA,RequestId",
     "Certificate enrollment for %1 attempted to enroll for a %2 certificate with request ID %4 "
     "from certification authority %3.  The request is pending."},
    {22, S::kWarn, "Context,TemplateName,CA,RequestId",
     "Certificate enrollment for %1 attempted to renew a %2 certificate with request ID %4 from "
     "certification authority %3.  The request is pending."},
    {45, S::kFail, "Context,TemplateName,ErrorCode",
     "Certificate enrollment for %1 failed to create an enrollment request for a %2 certificate "
     "(%3)."},
    {46, S::kWarn, "Context,TemplateName",
     "Certificate enrollment for %1 could not enroll for a %2 certificate.  Read or enrollment "
     "access is not allowed for this template."},
    {47, S::kWarn, "Context,TemplateName",
     "Certificate enrollment for %1 could not enroll for a %2 certificate.  A valid certification "
     "authority cannot be found to issue this template."},
    {52, S::kWarn, "Context,TemplateName,CA",
     "The CA certificate for %3 is not trusted. Certificate enrollment for %1 for a %2 "
     "certificate failed."},
    {53, S::kWarn, "Context,TemplateName,CA,RequestId,ErrorCode",
     "Certificate enrollment for %1 failed to retrieve a %2 certificate from certification "
     "authority %3 with request ID %4, and the error returned from the server is %5.  Another "
     "certification authority will be contacted."},
    {54, S::kWarn, "Context,TemplateName,CA,RequestId,ErrorCode",
     "Certificate enrollment for %1 failed to retrieve a pending %2 certificate with request ID %4 "
     "from certification authority %3 (%5). The enrollment process will be attempted again later."},
    {55, S::kWarn, "Context,TemplateName",
     "Certificate enrollment for %1 for the %2 template could not find specified CSPs on the local "
     "machine.  Enrollment will not be performed."},
    {57, S::kFail, "Context,Provider,Failure,ErrorCode",
     "The \"%2\" provider was not loaded because initialization failed."},
    {63, S::kWarn, "Context,ServerURL,FaultString,ErrorCode",
     "Enrollment Policy Server %2 returned an error when retrieving templates for %1: %3"},
    {64, S::kOk, "Context,ServerID",
     "Certificate enrollment for %1 successfully load policy from policy server %2"},
    {65, S::kOk, "Context,ServerURL,ServerID,Credential,AuthType",
     "Certificate enrollment for %1 is successfully authenticated by policy server %2 using "
     "authentication mechanism %5 (Credential: %4). Policy Id: %3"},
    {65, S::kOk, "Context,ServerID",
     "Certificate enrollment for %1 is successfully authenticated by policy server %2"},
    {66, S::kOk, "Context,ServerURL,ServerID,Credential,AuthType",
     "Certificate enrollment for %1 is successfully authenticated by enrollment server %2 using "
     "authentication mechanism %5 (Credential: %4). Policy Id: %3"},
    {67, S::kWarn, "Context,ServerID,ErrorCode",
     "Certificate enrollment for %1 failed to load policy from policy servers with ID  %2 (%3)"},
    {68, S::kWarn, "Context,ServerID,ErrorCode",
     "Certificate enrollment for %1 failed in authentication to policy servers with ID %2  (%3)"},
    {70, S::kWarn, "Context,ServerURL",
     "Certificate enrollment for %1 failed because no valid policy can be obtained from policy "
     "servers with ID %2"},
    {72, S::kWarn, "Context,ServerURL,ErrorCode",
     "Certificate enrollment for %1 failed because the loaded policy from the policy server %2 is "
     "invalid (%3)"},
    {74, S::kWarn, "Context,ServerURL,ServerID,ErrorCode",
     "Certificate enrollment for %1 failed to load policy from policy server %2 with ID  %3 (%4)"},
    {75, S::kWarn, "Context,ServerURL,ServerID,Credential,AuthType,ErrorCode",
     "Certificate enrollment for %1 failed in authentication to policy server %2 with ID  %3 "
     "(%6). Authentication mechanism was %5 (Credential: %4)"},
    {76, S::kWarn, "Context,ServerURL,ServerID,Credential,AuthType,ErrorCode",
     "Certificate enrollment for %1 failed in authentication to enrollment server %2 (%6). Policy "
     "Id: %3. Authentication mechanism was %5 (Credential: %4)"},
    {82, S::kFail, "Context,ServerID,TemplateName,ErrorCode",
     "Certificate enrollment for %1 failed in authentication to all urls for enrollment server "
     "associated with policy id: %2 (%4). Failed to enroll for template: %3"},
    {83, S::kWarn, "Context,ServerURL,ServerID,ErrorCode",
     "Certificate enrollment for %1 cannot find a credential that meets the selection criteria "
     "for url %2 with id %3 (%4)"},
    {86, S::kFail, "Context,Url,MessageText,Method,Stage,ErrorCode",
     "SCEP Certificate enrollment initialization for %1 via %2 failed:%n%n%3%nMethod: %4%nStage: "
     "%5%n%6"},
    {87, S::kFail, "Context,Url,MessageText,Method,Stage,ErrorCode",
     "SCEP Certificate enrollment for %1 via %2 failed:%n%n%3%nMethod: %4%nStage: %5%n%6"},
};

// Microsoft-Windows-CertificateServicesClient-AutoEnrollment. Fields from the
// manifests (repnz/jdu2600: Context, ErrorCode, ErrorMsg, ...), templates from
// pautoenr.dll (MessageFile-pautoenr.dll.md, 6.1 and later; 13 from 5.x).
constexpr MessageSpec kAutoEnrollment[] = {
    {1, S::kWarn, "Context,StoreName,LdapStore,ErrorCode,ErrorMsg",
     "Automatic certificate enrollment for %1 failed to download certificates for %2 store from "
     "%3 (%4). %5"},
    {2, S::kOk, "Context", "Automatic certificate enrollment for %1 started."},
    {3, S::kOk, "Context", "Automatic certificate enrollment for %1 completed."},
    {4, S::kOk, "Context", "Automatic certificate enrollment for %1 invoked the enrollment API."},
    {5, S::kOk, "Context",
     "Automatic certificate enrollment for %1 returned from the enrollment API."},
    {6, S::kFail, "Context,ErrorCode,ErrorMsg", "Automatic certificate enrollment for %1 failed (%2) %3."},
    {13, S::kFail, "Context,TemplateName,ErrorCode,ErrorMsg",
     "Automatic certificate enrollment for %1 failed to enroll for one %2 certificate (%3).  %4"},
    {15, S::kFail, "Context,ErrorCode,ErrorMsg",
     "Automatic certificate enrollment for %1 failed to contact the active directory (%2). %3 "
     "Enrollment will not be performed."},
    {64, S::kWarn, "Context,ObjId",
     "Certificate for %1 with Thumbprint %2 is about to expire or already expired."},
};

// Microsoft-Windows-CertificateServicesClient (manifest fields; no message
// table in the fixtures).
constexpr MessageSpec kCsc[] = {
    {1, S::kOk, "", ""},   {2, S::kOk, "", ""},   {3, S::kOk, "", ""},
    {4, S::kOk, "", ""},   {501, S::kWarn, "Parameter", ""},
    {502, S::kWarn, "ErrorCode", ""},
    {1001, S::kFail, "ProviderName,ErrorCode", ""},
    {1002, S::kFail, "ProviderName,ErrorCode", ""},
    {1003, S::kFail, "Flags,ErrorCode", ""},
    {1004, S::kFail, "ProviderName,ErrorCode", ""},
};

// Microsoft-Windows-CertificationAuthority: templates and field names quoted
// in fixtures/events/docs/CertificationAuthority_rendered-event-samples.txt.
constexpr MessageSpec kCa[] = {
    {53, S::kFail, "RequestId,Reason,SubjectName,AdditionalInformation",
     "Active Directory Certificate Services denied request %1 because %2. The request was for "
     "%3. Additional information: %4"},
    {7, S::kFail, "RequestId,Reason,SubjectName",
     "Active Directory Certificate Services denied request %1 because %2. The request was for "
     "%3."},
    {6, S::kOk, "RequestId,SubjectName",
     "Active Directory Certificate Services issued a certificate for request %1 for %2."},
    {8, S::kWarn, "RequestId,SubjectName",
     "Active Directory Certificate Services left request %1 pending in the queue for %2."},
    {21, S::kFail, "RequestId,Reason,SubjectName",
     "Active Directory Certificate Services could not process request %1 due to an error: %2. "
     "The request was for %3."},
    {51, S::kFail, "CACommonName,ErrorCode,CACertIdentifier",
     "A certificate in the chain for CA certificate %3 for %1 has been revoked. %2."},
    {39, S::kFail, "CACommonName,ErrorCode",
     "Active Directory Certificate Services did not start: The Certification Authority DCOM "
     "class for %1 could not be registered. %2. Use the services administration tool to change "
     "the Certification Authority logon context."},
};

template <size_t N>
std::pair<const MessageSpec*, const MessageSpec*> Table(const MessageSpec (&t)[N]) {
  return {std::begin(t), std::end(t)};
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool ContainsNoCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsNoCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsNoCase(s.substr(s.size() - suffix.size()), suffix);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::vector<std::string_view> SplitComma(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    out.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

// Fields of an event by name, from whichever representation it carries.
class FieldSet {
 public:
  void Add(std::string_view name, std::string_view value) {
    values_.push_back({std::string(name), std::string(Trim(value))});
  }
  // Trimmed value, "" when absent.
  std::string Get(std::string_view name) const {
    for (const NamedValue& v : values_) {
      if (v.name == name && !v.value.empty()) return v.value;
    }
    return {};
  }
  bool empty() const { return values_.empty(); }
  const std::vector<NamedValue>& values() const { return values_; }
  bool from_message = false;
  const MessageSpec* spec = nullptr;  // the row that named the fields

 private:
  std::vector<NamedValue> values_;
};

// Named <Data> as they are; unnamed <Data> named by the first row for the id;
// otherwise the message matched against each row's template.
FieldSet ResolveFields(const ParsedEvent& ev,
                       std::pair<const MessageSpec*, const MessageSpec*> table) {
  FieldSet fields;
  const MessageSpec* first = nullptr;
  for (const MessageSpec* s = table.first; s != table.second; ++s) {
    if (s->event_id == ev.event_id) {
      first = s;
      break;
    }
  }
  fields.spec = first;
  bool any_named = false;
  for (const NamedValue& d : ev.event_data) any_named = any_named || !d.name.empty();
  if (any_named) {
    for (const NamedValue& d : ev.event_data) {
      if (!d.name.empty()) fields.Add(d.name, d.value);
    }
    return fields;
  }
  if (!ev.event_data.empty() && first != nullptr && !first->fields.empty()) {
    const std::vector<std::string_view> names = SplitComma(first->fields);
    for (size_t i = 0; i < ev.event_data.size() && i < names.size(); ++i) {
      fields.Add(names[i], ev.event_data[i].value);
    }
    return fields;
  }
  if (!Trim(ev.message).empty()) {
    for (const MessageSpec* s = table.first; s != table.second; ++s) {
      if (s->event_id != ev.event_id || s->message.empty()) continue;
      const std::optional<std::vector<std::string>> inserts =
          MatchMessageTemplate(s->message, ev.message);
      if (!inserts) continue;
      const std::vector<std::string_view> names = SplitComma(s->fields);
      for (size_t i = 0; i < names.size(); ++i) {
        if (i + 1 < inserts->size()) fields.Add(names[i], (*inserts)[i + 1]);
      }
      fields.from_message = true;
      fields.spec = s;
      return fields;
    }
  }
  return fields;
}

EventStatus StatusFromLevel(uint32_t level) {
  if (level == 1 || level == 2) return EventStatus::kFail;
  if (level == 3) return EventStatus::kWarn;
  return EventStatus::kOk;
}

// " (0x800B0101 CERT_E_EXPIRED)" or " (0x12345678)".
std::string CodeSuffix(uint32_t hresult) {
  if (hresult == 0) return {};
  std::string s = " (" + FormatHresult(hresult);
  if (const KnownError* k = FindKnownError(hresult)) {
    s += ' ';
    s += k->name;
  }
  return s + ")";
}

// Splits "The certificate is revoked. 0x80092010 (-2146885616 CRYPT_E_REVOKED)"
// into its code and its text; falls back to the known-text table.
void TakeErrorFromText(std::string_view text, EventResult& r) {
  text = Trim(text);
  if (text.empty()) return;
  if (r.hresult == 0) {
    if (const std::optional<uint32_t> code = FindHresultInText(text)) r.hresult = *code;
  }
  std::string_view words = text;
  if (const size_t pos = text.find(" 0x"); pos != std::string_view::npos) {
    words = Trim(text.substr(0, pos));
  } else if (StartsWith(text, "0x")) {
    // "0x8007054b (-2147023541 ...)" alone: no words.
    words = {};
  }
  if (r.error_text.empty() && !words.empty()) r.error_text = std::string(words);
  if (r.hresult == 0 && !words.empty()) {
    if (const KnownError* k = MatchErrorText(words)) r.hresult = k->code;
  }
}

// An ErrorCode field ("0x8007054b", "-2146885613", "2147942405", "1722").
void TakeErrorCode(std::string_view code_text, EventResult& r) {
  code_text = Trim(code_text);
  if (code_text.empty() || r.hresult != 0) return;
  if (const std::optional<uint32_t> code = ParseErrorCode(code_text)) {
    r.hresult = HresultFromWin32(*code);
    return;
  }
  TakeErrorFromText(code_text, r);
}

// ---------------------------------------------------------------- CAPI2

// Flag names of CERT_TRUST_STATUS.dwErrorStatus (as CAPI2 writes them into
// <ErrorStatus>) -> the HRESULT the base chain policy reports for them
// (wincrypt.h, winerror.h). In order of precedence.
struct TrustErrorMap {
  std::string_view flag;
  uint32_t hresult;
};
constexpr TrustErrorMap kTrustErrors[] = {
    {"CERT_TRUST_IS_REVOKED", 0x80092010u},                  // CRYPT_E_REVOKED
    {"CERT_TRUST_IS_NOT_TIME_VALID", 0x800B0101u},           // CERT_E_EXPIRED
    {"CERT_TRUST_IS_UNTRUSTED_ROOT", 0x800B0109u},           // CERT_E_UNTRUSTEDROOT
    {"CERT_TRUST_IS_PARTIAL_CHAIN", 0x800B010Au},            // CERT_E_CHAINING
    {"CERT_TRUST_IS_NOT_VALID_FOR_USAGE", 0x800B0110u},      // CERT_E_WRONG_USAGE
    {"CERT_TRUST_IS_OFFLINE_REVOCATION", 0x80092013u},       // CRYPT_E_REVOCATION_OFFLINE
    {"CERT_TRUST_REVOCATION_STATUS_UNKNOWN", 0x80092012u},   // CRYPT_E_NO_REVOCATION_CHECK
};

uint32_t HexValue(const std::string* text) {
  if (text == nullptr) return 0;
  const std::optional<uint32_t> v = ParseErrorCode(*text, /*hex_without_prefix=*/true);
  return v ? *v : 0;
}

struct ChainElement {
  std::string subject;
  uint32_t error_status = 0;
  std::vector<std::string> error_flags;
  uint32_t revocation_result = 0;
  std::string revocation_text;
  std::string url;
  UrlKind url_kind = UrlKind::kUnspecified;
};

// Chain elements of a CertGetCertificateChain record, in order.
std::vector<ChainElement> ReadChainElements(const ParsedEvent& ev) {
  std::vector<ChainElement> elements;
  const std::string prefix = ev.user_data_root + "/CertificateChain/ChainElement/";
  for (const NamedValue& e : ev.user_data) {
    if (!StartsWith(e.name, prefix)) continue;
    const std::string_view rest = std::string_view(e.name).substr(prefix.size());
    if (rest == "Certificate/@subjectName") {
      elements.emplace_back();
      elements.back().subject = e.value;
      continue;
    }
    if (elements.empty()) continue;
    ChainElement& el = elements.back();
    if (rest == "TrustStatus/ErrorStatus/@value") {
      el.error_status = HexValue(&e.value);
    } else if (StartsWith(rest, "TrustStatus/ErrorStatus/@") && e.value == "true") {
      el.error_flags.emplace_back(rest.substr(25));
    } else if (rest == "RevocationInfo/RevocationResult/@value") {
      el.revocation_result = HexValue(&e.value);
    } else if (rest == "RevocationInfo/RevocationResult") {
      el.revocation_text = e.value;
    } else if (StartsWith(rest, "RevocationInfo/") && EndsWithNoCase(rest, "/@url") &&
               el.url.empty()) {
      el.url = e.value;
      el.url_kind = ContainsNoCase(rest, "OCSP") ? UrlKind::kOcsp : UrlKind::kCdp;
    }
  }
  return elements;
}

uint32_t HresultOfTrustFlags(const std::vector<std::string>& flags) {
  for (const TrustErrorMap& m : kTrustErrors) {
    for (const std::string& f : flags) {
      if (f == m.flag) return m.hresult;
    }
  }
  return 0;
}

UrlKind UrlKindOfObjectType(std::string_view type, std::string_view url) {
  if (type == "CONTEXT_OID_CRL") return UrlKind::kCdp;
  if (type == "CONTEXT_OID_CERTIFICATE" || type == "CONTEXT_OID_PKCS7") return UrlKind::kAia;
  if (type == "CONTEXT_OID_CTL") return UrlKind::kAuthroot;
  if (ContainsNoCase(type, "OCSP")) return UrlKind::kOcsp;
  return GuessUrlKind(url);
}

// CAPI2/Operational: everything is in UserData.
void ClassifyCapi2Operational(const ParsedEvent& ev, EventResult& r, std::string& key_extra) {
  const std::string& root = ev.user_data_root;
  r.detail = root;
  auto ud = [&](std::string_view rel) { return ev.FindUserData(root + "/" + std::string(rel)); };
  auto uds = [&](std::string_view rel) {
    const std::string* v = ud(rel);
    return v != nullptr ? *v : std::string();
  };

  const std::string* result_value = ud("Result/@value");
  uint32_t result = HexValue(result_value);
  std::string result_text = uds("Result");
  r.subject = uds("Certificate/@subjectName");
  if (const std::string ctx = uds("ChainEngineInfo/@context"); !ctx.empty()) {
    r.context = ParseEnrollContext(ctx);
    r.context_text = ctx;
  }
  std::string what = root;
  const bool is_start = root.size() > 5 && root.compare(root.size() - 5, 5, "Start") == 0;

  if (root == "CryptRetrieveObjectByUrlWire" || root == "CryptRetrieveObjectByUrlCache") {
    r.url = uds("URL");
    r.url_kind = UrlKindOfObjectType(uds("Object/@type"), r.url);
    r.ca = uds("RetrievedObjects/CertificateRevocationList/@issuerName");
    // The first response header is the status line ("HTTP/1.1 200 OK").
    std::string status_line;
    uint32_t action_error = 0;
    std::string action_name, action_error_text;
    std::string current_action;
    const std::string action_prefix = root + "/AdditionalInfo/Action";
    for (const NamedValue& e : ev.user_data) {
      if (status_line.empty() &&
          e.name == root + "/AdditionalInfo/HTTPResponseHeadersInfo/Header") {
        status_line = e.value;
      } else if (e.name == action_prefix + "/@name") {
        current_action = e.value;
      } else if (e.name == action_prefix + "/Error/@value" && action_error == 0) {
        action_error = HexValue(&e.value);
        if (action_error != 0) action_name = current_action;
      } else if (e.name == action_prefix + "/Error" && action_error != 0 &&
                 action_error_text.empty()) {
        action_error_text = e.value;
      }
    }
    what = root + " " + r.url;
    if (!status_line.empty()) what += " [" + status_line + "]";
    if (result == 0 && action_error != 0) {
      // Level 2 records whose retrieval succeeded but whose follow-up action
      // failed (WriteToCache 0x80070002 in the fixtures): a local cache
      // problem, not a failing URL.
      r.status = EventStatus::kWarn;
      r.hresult = action_error;
      r.error_text = action_error_text;
      r.detail = root + " action " + action_name;
      key_extra = "action " + action_name;
      r.summary = "CAPI2 " + std::to_string(ev.event_id) + " " + what +
                  ": retrieved, but action " + action_name + " failed" + CodeSuffix(r.hresult) +
                  (r.error_text.empty() ? "" : " " + r.error_text);
      return;
    }
  } else if (root == "CertVerifyRevocation") {
    r.ca = uds("IssuerCertificate/@subjectName");
    const uint32_t rev_error = HexValue(ud("RevocationStatus/@error"));
    if (result == 0) result = rev_error;
    for (const NamedValue& e : ev.user_data) {
      if (EndsWithNoCase(e.name, "/@url") && r.url.empty()) {
        r.url = e.value;
        r.url_kind = ContainsNoCase(e.name, "OCSP") ? UrlKind::kOcsp : UrlKind::kCdp;
      }
    }
    what = root + " of \"" + r.subject + "\"";
    if (!r.ca.empty()) what += " (issuer \"" + r.ca + "\")";
  } else if (root == "CertGetCertificateChain") {
    what = root + " for \"" + r.subject + "\"";
    const uint32_t chain_error = HexValue(ud("CertificateChain/TrustStatus/ErrorStatus/@value"));
    const std::vector<ChainElement> elements = ReadChainElements(ev);
    if (result == 0 && chain_error != 0) {
      // The chain was built with errors; the policy (event 30) decides
      // whether they matter, so this is a warning.
      r.status = EventStatus::kWarn;
      for (size_t i = 0; i < elements.size(); ++i) {
        const ChainElement& el = elements[i];
        if (el.error_status == 0) continue;
        r.hresult = el.revocation_result != 0 ? el.revocation_result
                                              : HresultOfTrustFlags(el.error_flags);
        r.error_text = el.revocation_text;
        r.url = el.url;
        r.url_kind = el.url_kind;
        // The CRL/OCSP of element i is issued by element i + 1.
        if (i + 1 < elements.size()) r.ca = elements[i + 1].subject;
        r.detail = "chain element " + std::to_string(i) + " \"" + el.subject + "\"";
        for (const std::string& f : el.error_flags) r.detail += " " + f;
        key_extra = "element " + el.subject;
        break;
      }
      r.summary = "CAPI2 " + std::to_string(ev.event_id) + " " + what +
                  ": chain built with errors, " + r.detail + CodeSuffix(r.hresult) +
                  (r.error_text.empty() ? "" : " " + r.error_text);
      return;
    }
  } else if (root == "CertVerifyCertificateChainPolicy") {
    const std::string policy = uds("Policy/@type");
    r.detail = root + " " + policy;
    what = root + " " + policy + " for \"" + r.subject + "\"";
    key_extra = policy;
  } else if (root == "WinVerifyTrust") {
    what = root + " " + uds("FileInfo/@filePath");
  }

  if (result != 0) {
    r.status = EventStatus::kFail;
    r.hresult = result;
    r.error_text = result_text;
    if (r.error_text.empty()) {
      if (const KnownError* k = FindKnownError(result)) r.error_text = std::string(k->text);
    }
  } else if (ev.level == 1 || ev.level == 2) {
    // Logged as an error without a result code we understand.
    r.status = EventStatus::kWarn;
  } else {
    r.status = EventStatus::kOk;
  }
  if (r.url.empty() && key_extra.empty()) key_extra = root + " " + r.subject;
  r.summary = "CAPI2 " + std::to_string(ev.event_id) + " " + what +
              (is_start ? " started" : "") +
              (r.status == EventStatus::kOk ? ": OK" : ": " + std::string(StatusName(r.status))) +
              CodeSuffix(r.hresult) + (r.error_text.empty() ? "" : " " + r.error_text);
}

void ClassifyCapi2Classic(const ParsedEvent& ev, EventResult& r, std::string& key_extra) {
  const FieldSet f = ResolveFields(ev, Table(kCapi2Classic));
  r.status = f.spec != nullptr ? f.spec->status : StatusFromLevel(ev.level);
  r.url = f.Get("Url");
  if (!r.url.empty()) {
    r.url_kind = (ev.event_id == 4128 || ev.event_id == 4129) ? UrlKind::kCdp : UrlKind::kAuthroot;
  }
  r.subject = f.Get("Subject");
  if (r.subject.empty()) r.subject = f.Get("Issuer");
  const std::string error = f.Get("ErrorText");
  TakeErrorFromText(error, r);
  if (r.status == EventStatus::kFail && r.error_text.empty()) r.error_text = error;
  key_extra = NormalizeForPattern(r.error_text);
  if (r.url.empty() && r.hresult == 0) key_extra += " " + r.subject;

  std::string text;
  if (!Trim(ev.message).empty()) {
    text = CollapseWhitespace(ev.message);
  } else if (f.spec != nullptr && !f.spec->message.empty()) {
    // Render the template from the fields, as Event Viewer would.
    const std::vector<std::string_view> names = SplitComma(f.spec->fields);
    std::vector<std::string> inserts;
    for (std::string_view n : names) inserts.push_back(f.Get(n));
    std::string_view t = f.spec->message;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '%' && i + 1 < t.size() && IsDigit(t[i + 1]) && t[i + 1] != '0') {
        const size_t n = static_cast<size_t>(t[i + 1] - '0');
        if (n <= inserts.size()) text += inserts[n - 1];
        ++i;
      } else if (t[i] == '%' && i + 1 < t.size() && t[i + 1] == 'n') {
        text += ' ';
        ++i;
      } else {
        text += t[i];
      }
    }
    text = CollapseWhitespace(text);
  } else {
    for (const NamedValue& d : ev.event_data) text += (text.empty() ? "" : " ") + d.value;
  }
  r.summary = "CAPI2 " + std::to_string(ev.event_id) + ": " + text + CodeSuffix(r.hresult);
}

// ---------------------------------------------------------- enrollment

std::string ContextAndTemplate(const EventResult& r) {
  std::string s;
  if (!r.context_text.empty()) s += " for " + r.context_text;
  if (!r.template_name.empty()) s += ", template " + r.template_name;
  if (!r.ca.empty()) s += ", CA " + r.ca;
  if (!r.request_id.empty()) s += ", request " + r.request_id;
  return s;
}

// Lenient reading of SCEP (86/87) messages that do not follow the template
// (excerpts, "Phase:" instead of "Stage:", missing lines).
void ScanScepMessage(std::string_view message, FieldSet& f) {
  const std::string m = CollapseWhitespace(message);
  auto word_after = [&](std::string_view label) -> std::string {
    const size_t pos = m.find(label);
    if (pos == std::string::npos) return {};
    const size_t start = pos + label.size();
    const size_t end = m.find(' ', start);
    return m.substr(start, end == std::string::npos ? std::string::npos : end - start);
  };
  if (const size_t for_pos = m.find(" for "); for_pos != std::string::npos) {
    const size_t via = m.find(" via ", for_pos);
    if (via != std::string::npos) f.Add("Context", m.substr(for_pos + 5, via - for_pos - 5));
  }
  std::string url = word_after(" via ");
  while (!url.empty() && (url.back() == ':' || url.back() == ',')) url.pop_back();
  f.Add("Url", url);
  f.Add("Method", word_after("Method: "));
  std::string stage = word_after("Stage: ");
  if (stage.empty()) stage = word_after("Phase: ");
  f.Add("Stage", stage);
  // The error is on the line that holds the code; on one-line renderings
  // it follows the stage word.
  std::string_view rest = message;
  while (!rest.empty()) {
    const size_t eol = rest.find_first_of("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (!FindHresultInText(line)) continue;
    for (std::string_view label : {std::string_view("Stage: "), std::string_view("Phase: ")}) {
      if (const size_t pos = line.find(label); pos != std::string_view::npos) {
        const size_t word_end = line.find(' ', pos + label.size());
        line = word_end == std::string_view::npos ? std::string_view() : line.substr(word_end);
        break;
      }
    }
    f.Add("ErrorCode", line);
    break;
  }
  f.from_message = true;
}

void ClassifyCertEnroll(const ParsedEvent& ev, EventResult& r, std::string& key_extra) {
  FieldSet f = ResolveFields(ev, Table(kCertEnroll));
  const bool scep = ev.event_id == 86 || ev.event_id == 87;
  if (scep && f.Get("Url").empty() && !Trim(ev.message).empty()) {
    FieldSet scanned;
    scanned.spec = f.spec;
    ScanScepMessage(ev.message, scanned);
    f = std::move(scanned);
  }
  r.status = f.spec != nullptr ? f.spec->status : StatusFromLevel(ev.level);
  r.context_text = f.Get("Context");
  r.context = ParseEnrollContext(r.context_text);
  r.template_name = f.Get("TemplateName");
  r.ca = f.Get("CA");
  if (r.ca.empty()) r.ca = f.Get("CAName");
  r.request_id = f.Get("RequestId");
  TakeErrorCode(f.Get("ErrorCode"), r);
  if (r.error_text.empty()) TakeErrorFromText(f.Get("FaultString"), r);

  std::string what;
  if (scep) {
    r.url = f.Get("Url");
    r.url_kind = UrlKind::kNdes;
    r.ndes_method = f.Get("Method");
    r.ndes_stage = f.Get("Stage");
    r.detail = CollapseWhitespace(f.Get("MessageText"));
    key_extra = r.ndes_method.substr(0, r.ndes_method.find('('));
    what = std::string(ev.event_id == 86 ? "SCEP enrollment initialization" : "SCEP enrollment") +
           (r.context_text.empty() ? "" : " for " + r.context_text) + " via " + r.url +
           " failed" + (r.ndes_stage.empty() ? "" : " at stage " + r.ndes_stage) +
           (r.ndes_method.empty() ? "" : " (" + r.ndes_method + ")");
  } else {
    std::string server_url = f.Get("ServerURL");
    if (!server_url.empty() && server_url.find("://") != std::string::npos) {
      r.url = server_url;
      r.url_kind = UrlKind::kEnrollment;
    }
    const std::string server_id = f.Get("ServerID");
    if (ev.event_id == 57) {
      r.detail = "provider \"" + f.Get("Provider") + "\" " + f.Get("Failure");
      key_extra = f.Get("Provider");
    } else if (!server_id.empty()) {
      r.detail = "policy server " + server_id;
      key_extra = server_id;
    }
    if (f.spec != nullptr && !f.spec->message.empty() && !Trim(ev.message).empty()) {
      what = CollapseWhitespace(ev.message);
    } else {
      what = std::string(r.status == EventStatus::kOk ? "certificate enrollment event"
                                                      : "certificate enrollment problem") +
             ContextAndTemplate(r) + (r.detail.empty() ? "" : ", " + r.detail);
    }
  }
  r.summary = "CertEnroll " + std::to_string(ev.event_id) + ": " + what + CodeSuffix(r.hresult) +
              (r.error_text.empty() || what.find(r.error_text) != std::string::npos
                   ? ""
                   : " " + r.error_text);
}

void ClassifyAutoEnrollment(const ParsedEvent& ev, EventResult& r, std::string& key_extra) {
  const FieldSet f = ResolveFields(ev, Table(kAutoEnrollment));
  r.status = f.spec != nullptr ? f.spec->status : StatusFromLevel(ev.level);
  r.context_text = f.Get("Context");
  r.context = ParseEnrollContext(r.context_text);
  r.template_name = f.Get("TemplateName");
  TakeErrorCode(f.Get("ErrorCode"), r);
  TakeErrorFromText(f.Get("ErrorMsg"), r);
  if (ev.event_id == 64) {
    r.detail = "thumbprint " + f.Get("ObjId");
    key_extra = f.Get("ObjId");
  } else if (ev.event_id == 1) {
    r.detail = "store " + f.Get("StoreName");
    key_extra = f.Get("StoreName");
  }
  static constexpr std::pair<uint32_t, std::string_view> kWhat[] = {
      {1, "failed to download certificates"},
      {2, "started"},
      {3, "completed"},
      {4, "invoked the enrollment API"},
      {5, "returned from the enrollment API"},
      {6, "failed"},
      {13, "failed to enroll"},
      {15, "failed to contact the Active Directory; enrollment will not be performed"},
      {64, "certificate about to expire or expired"},
  };
  std::string what = "automatic certificate enrollment event";
  for (const auto& [id, text] : kWhat) {
    if (id == ev.event_id) what = std::string("automatic certificate enrollment ") + std::string(text);
  }
  r.summary = "AutoEnrollment " + std::to_string(ev.event_id) + ": " + what +
              ContextAndTemplate(r) + (r.detail.empty() ? "" : ", " + r.detail) +
              CodeSuffix(r.hresult) + (r.error_text.empty() ? "" : " " + r.error_text);
}

void ClassifyCsc(const ParsedEvent& ev, EventResult& r, std::string& key_extra) {
  const FieldSet f = ResolveFields(ev, Table(kCsc));
  r.status = f.spec != nullptr ? f.spec->status : StatusFromLevel(ev.level);
  TakeErrorCode(f.Get("ErrorCode"), r);
  const std::string provider = f.Get("ProviderName");
  if (!provider.empty()) {
    r.detail = "provider \"" + provider + "\"";
    key_extra = provider;
  }
  static constexpr std::pair<uint32_t, std::string_view> kWhat[] = {
      {1, "Certificate Services Client started"},
      {2, "Certificate Services Client stopped"},
      {3, "Certificate Services Client detected network"},
      {4, "Certificate Services Client event 4"},
  };
  std::string what = "Certificate Services Client event";
  for (const auto& [id, text] : kWhat) {
    if (id == ev.event_id) what = std::string(text);
  }
  if (!Trim(ev.message).empty()) what = CollapseWhitespace(ev.message);
  r.summary = "CertificateServicesClient " + std::to_string(ev.event_id) + ": " + what +
              (r.detail.empty() ? "" : ", " + r.detail) + CodeSuffix(r.hresult);
}

void ClassifyCa(const ParsedEvent& ev, EventResult& r, std::string& key_extra) {
  const FieldSet f = ResolveFields(ev, Table(kCa));
  r.status = f.spec != nullptr ? f.spec->status : StatusFromLevel(ev.level);
  r.request_id = f.Get("RequestId");
  r.subject = f.Get("SubjectName");
  std::string reason = f.Get("Reason");
  if (reason.empty()) reason = f.Get("ErrorCode");
  TakeErrorFromText(reason, r);
  const std::string ca_name = f.Get("CACommonName");
  if (!ca_name.empty()) r.ca = ca_name;
  const std::string message = CollapseWhitespace(ev.message);
  if (ev.event_id == 100) {
    // "Active Directory Certificate Services did not start: Could not load or
    // verify the current CA certificate. <CA name> <error text> 0x...": the
    // CA name ends where a known error text begins.
    r.status = EventStatus::kFail;
    constexpr std::string_view kMarker = "current CA certificate.";
    const size_t marker = message.find(kMarker);
    size_t text_pos = 0;
    if (const KnownError* k = FindErrorTextIn(message, &text_pos);
        k != nullptr && marker != std::string::npos && text_pos > marker) {
      r.ca = std::string(Trim(std::string_view(message).substr(
          marker + kMarker.size(), text_pos - marker - kMarker.size())));
      TakeErrorFromText(std::string_view(message).substr(text_pos), r);
    }
  }
  if (r.hresult == 0 && r.error_text.empty()) {
    // Events without a template here: the code may still be in the text.
    std::string all = message;
    for (const NamedValue& d : ev.event_data) all += " " + d.value;
    if (const std::optional<uint32_t> code = FindHresultInText(all)) r.hresult = *code;
  }
  key_extra = NormalizeForPattern(f.Get("AdditionalInformation"));
  std::string what;
  if (ev.event_id == 53 || ev.event_id == 7) {
    what = "CA denied request " + r.request_id + " for " + r.subject;
  } else if (ev.event_id == 100) {
    what = "CA service did not start" + (r.ca.empty() ? "" : " (" + r.ca + ")");
  } else if (!message.empty()) {
    what = message;
  } else {
    what = "Certification Authority event";
  }
  r.summary = "CertificationAuthority " + std::to_string(ev.event_id) + ": " + what +
              CodeSuffix(r.hresult) +
              (r.error_text.empty() || what.find(r.error_text) != std::string::npos
                   ? ""
                   : " " + r.error_text);
}

void ClassifyOther(const ParsedEvent& ev, EventResult& r, std::string& key_extra) {
  r.status = StatusFromLevel(ev.level);
  std::string values;
  size_t n = 0;
  for (const NamedValue& d : ev.event_data) {
    if (++n > 4) break;
    values += " " + d.value;
  }
  if (values.empty() && !ev.user_data_root.empty()) values = " " + ev.user_data_root;
  key_extra = NormalizeForPattern(values.substr(0, 256));
  r.summary = ev.provider_name + " " + std::to_string(ev.event_id) +
              (ev.message.empty() ? "" : ": " + CollapseWhitespace(ev.message).substr(0, 200));
}

}  // namespace

EventFamily FamilyOfProvider(std::string_view provider) {
  if (EqualsNoCase(provider, kCapi2Provider) || EqualsNoCase(provider, "crypt32")) {
    return EventFamily::kCapi2;
  }
  if (EqualsNoCase(provider, kCertEnrollProvider)) return EventFamily::kCertEnroll;
  if (EqualsNoCase(provider, kAutoEnrollmentProvider) || EqualsNoCase(provider, "AutoEnrollment")) {
    return EventFamily::kAutoEnrollment;
  }
  if (EqualsNoCase(provider, kCscProvider)) return EventFamily::kCertificateServicesClient;
  if (EqualsNoCase(provider, kCaProvider) || EqualsNoCase(provider, "CertSvc")) {
    return EventFamily::kCertificationAuthority;
  }
  return EventFamily::kOther;
}

std::string_view FamilyName(EventFamily family) {
  switch (family) {
    case EventFamily::kCapi2: return "CAPI2";
    case EventFamily::kCertEnroll: return "CertEnroll";
    case EventFamily::kAutoEnrollment: return "AutoEnrollment";
    case EventFamily::kCertificateServicesClient: return "CertificateServicesClient";
    case EventFamily::kCertificationAuthority: return "CertificationAuthority";
    case EventFamily::kOther: break;
  }
  return "Other";
}

std::string_view StatusName(EventStatus status) {
  switch (status) {
    case EventStatus::kOk: return "OK";
    case EventStatus::kWarn: return "WARN";
    case EventStatus::kFail: return "FAIL";
  }
  return "FAIL";
}

std::string_view UrlKindName(UrlKind kind) {
  switch (kind) {
    case UrlKind::kCdp: return "CDP";
    case UrlKind::kDeltaCdp: return "DELTA_CDP";
    case UrlKind::kOcsp: return "OCSP";
    case UrlKind::kAia: return "AIA";
    case UrlKind::kNdes: return "NDES";
    case UrlKind::kEnrollment: return "ENROLLMENT";
    case UrlKind::kAuthroot: return "AUTHROOT";
    case UrlKind::kUnspecified: break;
  }
  return "";
}

std::string_view ContextName(EnrollContext context) {
  switch (context) {
    case EnrollContext::kMachine: return "machine";
    case EnrollContext::kUser: return "user";
    case EnrollContext::kUnknown: break;
  }
  return "";
}

EnrollContext ParseEnrollContext(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return EnrollContext::kUnknown;
  if (EqualsNoCase(text, "local system") || EqualsNoCase(text, "machine") ||
      EqualsNoCase(text, "localsystem") || EqualsNoCase(text, "NT AUTHORITY\\SYSTEM")) {
    return EnrollContext::kMachine;
  }
  if (EqualsNoCase(text, "user")) return EnrollContext::kUser;
  if (text.find('\\') != std::string_view::npos) {
    return text.back() == '$' ? EnrollContext::kMachine : EnrollContext::kUser;
  }
  return EnrollContext::kUnknown;
}

UrlKind GuessUrlKind(std::string_view url) {
  const std::string_view path = url.substr(0, url.find_first_of("?#"));
  if (ContainsNoCase(path, "mscep") || ContainsNoCase(path, "pkiclient.exe")) {
    return UrlKind::kNdes;
  }
  if (ContainsNoCase(path, "authrootstl") || ContainsNoCase(path, "disallowedcert") ||
      EndsWithNoCase(path, ".stl") || EndsWithNoCase(path, ".cab")) {
    return UrlKind::kAuthroot;
  }
  if (EndsWithNoCase(path, ".crl") || StartsWith(path, "ldap") || StartsWith(path, "LDAP")) {
    if (ContainsNoCase(path, "cACertificate")) return UrlKind::kAia;
    return EndsWithNoCase(path, "+.crl") ? UrlKind::kDeltaCdp : UrlKind::kCdp;
  }
  if (EndsWithNoCase(path, ".crt") || EndsWithNoCase(path, ".cer") ||
      EndsWithNoCase(path, ".p7c")) {
    return UrlKind::kAia;
  }
  if (ContainsNoCase(path, "ocsp")) return UrlKind::kOcsp;
  return UrlKind::kUnspecified;
}

std::string NormalizeForPattern(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  auto hex_run = [&](size_t from, size_t n) {
    if (from + n > text.size()) return false;
    for (size_t k = from; k < from + n; ++k) {
      if (!IsHex(text[k])) return false;
    }
    return true;
  };
  while (i < text.size()) {
    // GUID, with or without braces.
    const bool brace = text[i] == '{';
    const size_t g = brace ? i + 1 : i;
    if (g + 36 <= text.size() && hex_run(g, 8) && text[g + 8] == '-' && hex_run(g + 9, 4) &&
        text[g + 13] == '-' && hex_run(g + 14, 4) && text[g + 18] == '-' && hex_run(g + 19, 4) &&
        text[g + 23] == '-' && hex_run(g + 24, 12)) {
      out += "{guid}";
      i = g + 36;
      if (brace && i < text.size() && text[i] == '}') ++i;
      continue;
    }
    // ISO-8601 time: 2017-05-19T02:02:36[.fraction][Z]
    if (i + 19 <= text.size() && IsDigit(text[i]) && IsDigit(text[i + 3]) &&
        text[i + 4] == '-' && text[i + 7] == '-' && text[i + 10] == 'T' && text[i + 13] == ':' &&
        text[i + 16] == ':') {
      out += "<time>";
      i += 19;
      if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && IsDigit(text[i])) ++i;
      }
      if (i < text.size() && text[i] == 'Z') ++i;
      continue;
    }
    if (IsAlnum(text[i])) {
      size_t end = i;
      bool all_hex = true, has_digit = false;
      while (end < text.size() && IsAlnum(text[end])) {
        all_hex = all_hex && IsHex(text[end]);
        has_digit = has_digit || IsDigit(text[end]);
        ++end;
      }
      bool all_digits = true;
      for (size_t k = i; k < end; ++k) all_digits = all_digits && IsDigit(text[k]);
      // Numbers standing alone (ids, counts, dates) and long hex runs
      // (thumbprints) vary per record; digits inside words ("X509", "G5")
      // are part of a name.
      if (all_digits || (all_hex && has_digit && end - i >= 8)) {
        out += '#';
      } else {
        out.append(text.substr(i, end - i));
      }
      i = end;
      continue;
    }
    out += text[i++];
  }
  return CollapseWhitespace(out);
}

EventResult ClassifyEvent(const ParsedEvent& ev) {
  EventResult r;
  r.provider = ev.provider_name;
  r.channel = ev.channel;
  r.computer = ev.computer;
  r.event_id = ev.event_id;
  r.record_id = ev.record_id;
  r.level = ev.level;
  r.time_created = ev.time_created;
  r.family = FamilyOfProvider(ev.provider_name);
  if (r.family == EventFamily::kOther && !ev.event_source_name.empty()) {
    r.family = FamilyOfProvider(ev.event_source_name);
  }
  r.pki_relevant = r.family != EventFamily::kOther;

  std::string key_extra;
  switch (r.family) {
    case EventFamily::kCapi2:
      // The Operational channel carries UserData; the Application log the
      // classic <Data> strings.
      if (!ev.user_data_root.empty()) {
        ClassifyCapi2Operational(ev, r, key_extra);
      } else {
        ClassifyCapi2Classic(ev, r, key_extra);
      }
      break;
    case EventFamily::kCertEnroll: ClassifyCertEnroll(ev, r, key_extra); break;
    case EventFamily::kAutoEnrollment: ClassifyAutoEnrollment(ev, r, key_extra); break;
    case EventFamily::kCertificateServicesClient: ClassifyCsc(ev, r, key_extra); break;
    case EventFamily::kCertificationAuthority: ClassifyCa(ev, r, key_extra); break;
    case EventFamily::kOther: ClassifyOther(ev, r, key_extra); break;
  }
  if (r.url_kind == UrlKind::kUnspecified && !r.url.empty()) r.url_kind = GuessUrlKind(r.url);

  std::string key = ev.provider_name;
  key += '|';
  key += std::to_string(ev.event_id);
  key += '|';
  key += StatusName(r.status);
  key += '|';
  if (r.hresult != 0) key += FormatHresult(r.hresult);
  for (const std::string* part : {&r.url, &r.ca, &r.template_name, &r.ndes_stage}) {
    key += '|';
    key += *part;
  }
  key += '|';
  key += ContextName(r.context);
  key += '|';
  key += NormalizeForPattern(key_extra);
  if (key.size() > kMaxPatternKeyBytes) key.resize(kMaxPatternKeyBytes);
  r.pattern_key = std::move(key);
  return r;
}

}  // namespace pkiwatch::eventlog
