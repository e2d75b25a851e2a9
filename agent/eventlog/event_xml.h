#pragma once

// Windows event records rendered as XML -> a plain struct.
//
// Accepts the three renderings the agent and its tests meet: EvtRender(...,
// EvtRenderEventXml) output (converted to UTF-8 by the caller), `evtxexport
// -f xml` records, and PowerShell Get-WinEvent ... ToXml(). Input may carry an
// XML declaration, comments or a short text preamble before <Event>.
//
// Portable core: standard library and pugixml only (see common/result.h for why);
// never throws, never asserts on input.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pkiwatch::eventlog {

using pkiwatch::Result;

// UTC instant with the 100 ns precision of Windows event times (kept as ns).
using EventTime =
    std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

// Largest event accepted by ParseEventXml. Real records are a few KiB (the
// biggest CAPI2 X509Objects records in the fixtures are ~20 KiB).
inline constexpr size_t kMaxEventXmlBytes = 1u << 20;
// Bounds on the flattened UserData: deeper elements and further entries are
// dropped and ParsedEvent::user_data_truncated is set.
inline constexpr size_t kMaxUserDataDepth = 32;
inline constexpr size_t kMaxUserDataEntries = 4096;

// The namespace of <Event>. Other namespaces are rejected; a missing xmlns is
// accepted (some tools strip it).
inline constexpr std::string_view kEventNamespace =
    "http://schemas.microsoft.com/win/2004/08/events/event";

struct NamedValue {
  std::string name;   // empty for unnamed <Data> (classic events)
  std::string value;
};

struct ParsedEvent {
  // <System>
  std::string provider_name;       // Provider/@Name
  std::string provider_guid;       // Provider/@Guid, as written ("{...}")
  std::string event_source_name;   // Provider/@EventSourceName (classic events)
  uint32_t event_id = 0;           // EventID text (0..65535)
  std::optional<uint32_t> qualifiers;  // EventID/@Qualifiers (classic events)
  uint32_t version = 0;
  uint32_t level = 0;              // 0 LogAlways, 1 Critical, 2 Error, 3 Warning, 4 Info, 5 Verbose
  uint32_t task = 0;
  uint32_t opcode = 0;
  uint64_t keywords = 0;
  std::optional<EventTime> time_created;  // TimeCreated/@SystemTime
  uint64_t record_id = 0;          // EventRecordID
  std::string activity_id;         // Correlation/@ActivityID
  uint32_t process_id = 0;         // Execution/@ProcessID
  uint32_t thread_id = 0;          // Execution/@ThreadID
  std::string channel;
  std::string computer;
  std::string user_id;             // Security/@UserID (SID), may be empty

  // <EventData>: every <Data> in document order (name empty when unnamed)
  // and the hex text of <Binary>, if any.
  std::vector<NamedValue> event_data;
  std::string binary_data;

  // <UserData>: the name of its first child element (e.g.
  // "CertGetCertificateChain") and that subtree flattened in document order
  // into path -> value entries. Attributes are "<path>/@<attr>", element text
  // (trimmed, non-empty only) is "<path>"; repeated elements repeat the path.
  // xmlns attributes are skipped. Example entries of a CAPI2 event 11:
  //   CertGetCertificateChain/Certificate/@subjectName = "Microsoft Corporation"
  //   CertGetCertificateChain/Result/@value = "0"
  std::string user_data_root;
  std::vector<NamedValue> user_data;
  bool user_data_truncated = false;

  // <RenderingInfo> (present in Get-WinEvent/EvtRender output rendered with
  // messages, absent in evtxexport output).
  std::string message;             // RenderingInfo/Message
  std::string rendered_level;      // RenderingInfo/Level, e.g. "Error"

  // First <Data> named `name`, or nullptr.
  const std::string* FindData(std::string_view name) const;
  // <Data> number `index` (0-based) in document order, or nullptr.
  const std::string* DataAt(size_t index) const;
  // First UserData entry with exactly this path, or nullptr.
  const std::string* FindUserData(std::string_view path) const;
  // First UserData entry whose path ends with `suffix` (matching at a '/'
  // boundary, e.g. "Result/@value"), or nullptr.
  const std::string* FindUserDataSuffix(std::string_view suffix) const;
};

// Parses one event. Errors (message names the problem, never throws):
// input larger than kMaxEventXmlBytes, not well-formed XML (pugixml's
// description and byte offset), document element not <Event> or in another
// namespace, no <System>, no <Provider> name, missing or non-numeric EventID
// (or one above 65535), non-numeric Level/Task/Opcode/Version/
// EventRecordID/Qualifiers/ProcessID/ThreadID, Keywords not hex, an
// unparsable TimeCreated. Thread-safe (no shared state).
Result<ParsedEvent> ParseEventXml(std::string_view xml);

// Splits a text holding many <Event> records (evtxexport output wrapped in
// <Events>, files with a preamble) into the text of each record, in order.
// "<Events>" itself is not a record. An unterminated last record is returned
// as it is (ParseEventXml then reports it). Views point into `text`.
std::vector<std::string_view> SplitEventRecords(std::string_view text);

// "2017-05-19T02:02:36.000000000Z", "2023-11-27T02:07:57.5609376Z",
// "2016-12-01T03:09:55Z", or with a "+01:00" offset -> UTC instant.
// Fractions beyond nanoseconds are truncated. nullopt when malformed.
std::optional<EventTime> ParseEventTime(std::string_view text);

// "2017-05-19T02:02:36.046875Z" (fraction only when non-zero, trailing zeros
// dropped).
std::string FormatEventTime(EventTime t);

// Unsigned integers with surrounding ASCII whitespace allowed and nothing
// else (no sign, no trailing text, no overflow); nullopt otherwise. Used for
// every numeric field instead of std::stoul, which throws.
std::optional<uint64_t> ParseDecimalU64(std::string_view text);
// Hex digits with an optional "0x"/"0X" prefix.
std::optional<uint64_t> ParseHexU64(std::string_view text);

}  // namespace pkiwatch::eventlog
