#pragma once

// A parsed Windows event -> what it means for PKI health.
//
// Covers the three failure families of DOMAIN.md:
//  - CAPI2: classic Application-log events 4097-4129 (and the old event 11
//    with the 4107 text), the CAPI2/Operational chain, policy, revocation and
//    URL-retrieval events (10/11/30/40/41/42/50-53/70/80-82/90);
//  - enrollment: CertificateServicesClient-CertEnroll (13, 64, 65, 82, 86,
//    87 and the other template-bearing events), -AutoEnrollment (1-6, 13,
//    15, 64), CertificateServicesClient (1-4, 501, 502, 1001-1004);
//  - the CA's own log: CertificationAuthority 53 (denied), 100 (did not
//    start), 21/51/39/80/128 and the rest by level.
// Fields come from named EventData, from positional <Data> (classic
// records), from the CAPI2 UserData, or - when a record has only
// RenderingInfo/Message - from the message text matched against the
// message-table templates.
//
// Portable core (standard library + pugixml via event_xml.h; see common/result.h).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/eventlog/event_xml.h"

namespace pkiwatch::eventlog {

enum class EventFamily {
  kOther,
  kCapi2,
  kCertEnroll,
  kAutoEnrollment,
  kCertificateServicesClient,
  kCertificationAuthority,
};

enum class EventStatus { kOk, kWarn, kFail };

// Same numbering as pkiwatch.v1.UrlKind (event_finding.cc converts).
enum class UrlKind {
  kUnspecified = 0,
  kCdp = 1,
  kDeltaCdp = 2,
  kOcsp = 3,
  kAia = 4,
  kNdes = 5,
  kEnrollment = 6,
  kAuthroot = 7,
};

enum class EnrollContext { kUnknown, kMachine, kUser };

struct EventResult {
  // Origin (copied from the event).
  std::string provider;
  std::string channel;
  std::string computer;
  uint32_t event_id = 0;
  uint64_t record_id = 0;
  uint32_t level = 0;
  std::optional<EventTime> time_created;

  EventFamily family = EventFamily::kOther;
  // False for events outside the families above: the agent drops them.
  bool pki_relevant = false;
  EventStatus status = EventStatus::kOk;

  uint32_t hresult = 0;        // 0 when the event carries no error code
  std::string error_text;      // the event's own wording of the error
  std::string url;             // as written in the event (not normalized)
  UrlKind url_kind = UrlKind::kUnspecified;
  std::string ca;              // CA name or config string
  std::string template_name;
  EnrollContext context = EnrollContext::kUnknown;
  std::string context_text;    // as written: "Local system", "INTRA\rudi"
  std::string subject;         // certificate subject, when the event names one
  std::string ndes_method;     // "GET(47ms)"
  std::string ndes_stage;      // "GetCACaps"
  std::string request_id;
  std::string detail;          // extra native detail (CAPI2 root element, policy, ...)

  std::string summary;         // one human line
  // Provider, event id and the normalized payload: record-specific numbers,
  // times, GUIDs and request ids are left out, so a flood of identical
  // failures shares one key. At most kMaxPatternKeyBytes.
  std::string pattern_key;
};

inline constexpr size_t kMaxPatternKeyBytes = 512;

// Classifies one event. Never fails: unknown providers give family kOther,
// pki_relevant false, status by level. Thread-safe.
EventResult ClassifyEvent(const ParsedEvent& event);

// Family of a provider name (or classic EventSourceName).
EventFamily FamilyOfProvider(std::string_view provider);

// "CAPI2", "CertEnroll", "AutoEnrollment", "CertificateServicesClient",
// "CertificationAuthority", "Other".
std::string_view FamilyName(EventFamily family);
std::string_view StatusName(EventStatus status);   // "OK", "WARN", "FAIL"
std::string_view UrlKindName(UrlKind kind);        // "CDP", "OCSP", ..., "" for unspecified
std::string_view ContextName(EnrollContext context);  // "machine", "user", ""

// "Local system" / "local system" / "Machine" / "DOMAIN\HOST$" -> kMachine,
// "DOMAIN\user" / "User" -> kUser, anything else kUnknown.
EnrollContext ParseEnrollContext(std::string_view text);

// The URL kind a URL's shape suggests (".crl" -> CDP, ".crt"/".cer"/".p7c"
// -> AIA, "ocsp" in host or path -> OCSP, authrootstl/disallowedcert .cab or
// .stl -> AUTHROOT, "mscep" / "pkiclient.exe" -> NDES), kUnspecified
// otherwise.
UrlKind GuessUrlKind(std::string_view url);

// Replaces GUIDs with "{guid}", ISO-8601 timestamps with "<time>", numbers
// that stand alone and hex runs of 8 or more containing a digit with "#"
// (digits inside words, as in "X509", stay), then collapses whitespace. Used
// for the free-text part of pattern keys.
std::string NormalizeForPattern(std::string_view text);

}  // namespace pkiwatch::eventlog
