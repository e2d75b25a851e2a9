#include "agent/eventlog/event_xml.h"

#include <charconv>
#include <cstdio>
#include <limits>
#include <utility>

#include <pugixml.hpp>

namespace pkiwatch::eventlog {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "<Event" followed by a character that ends the element name (so not
// <Events>, <EventData>, <EventID>, ...).
bool IsEventStartAt(std::string_view text, size_t pos) {
  constexpr std::string_view kOpen = "<Event";
  if (text.compare(pos, kOpen.size(), kOpen) != 0) return false;
  const size_t next = pos + kOpen.size();
  if (next >= text.size()) return false;
  const char c = text[next];
  return IsSpace(c) || c == '>' || c == '/';
}

// True when the start tag beginning at `pos` ends with "/>".
bool IsSelfClosingTag(std::string_view text, size_t pos) {
  const size_t gt = text.find('>', pos);
  return gt != std::string_view::npos && gt > pos && text[gt - 1] == '/';
}

// Sum of the direct text and CDATA children of `node`, trimmed.
std::string DirectText(const pugi::xml_node& node) {
  std::string out;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  }
  return std::string(Trim(out));
}

bool IsNamespaceAttribute(std::string_view name) {
  return name == "xmlns" || name.substr(0, 6) == "xmlns:";
}

// Depth-first flattening of a UserData subtree. Recursion is bounded by
// kMaxUserDataDepth, so hostile nesting cannot exhaust the stack.
void Flatten(const pugi::xml_node& node, const std::string& path, size_t depth,
             ParsedEvent& out) {
  for (pugi::xml_attribute a = node.first_attribute(); a; a = a.next_attribute()) {
    if (IsNamespaceAttribute(a.name())) continue;
    if (out.user_data.size() >= kMaxUserDataEntries) {
      out.user_data_truncated = true;
      return;
    }
    out.user_data.push_back({path + "/@" + a.name(), a.value()});
  }
  std::string text = DirectText(node);
  if (!text.empty()) {
    if (out.user_data.size() >= kMaxUserDataEntries) {
      out.user_data_truncated = true;
      return;
    }
    out.user_data.push_back({path, std::move(text)});
  }
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    if (depth + 1 >= kMaxUserDataDepth) {
      out.user_data_truncated = true;
      return;
    }
    Flatten(c, path + "/" + c.name(), depth + 1, out);
    if (out.user_data_truncated && out.user_data.size() >= kMaxUserDataEntries) return;
  }
}

// Numeric field helpers that produce an error message naming the field.
template <typename T>
bool ReadDecimal(std::string_view field, std::string_view text, T& out, std::string& error) {
  const std::optional<uint64_t> v = ParseDecimalU64(text);
  if (!v || *v > std::numeric_limits<T>::max()) {
    error = "ParseEventXml: " + std::string(field) + " is not a number in range: \"" +
            std::string(text.substr(0, 64)) + "\"";
    return false;
  }
  out = static_cast<T>(*v);
  return true;
}

// Optional element text: absent or empty leaves `out` unchanged.
template <typename T>
bool ReadOptionalDecimalChild(const pugi::xml_node& system, const char* name, T& out,
                              std::string& error) {
  const pugi::xml_node n = system.child(name);
  if (!n) return true;
  const std::string_view text = Trim(n.text().get());
  if (text.empty()) return true;
  return ReadDecimal(name, text, out, error);
}

template <typename T>
bool ReadOptionalDecimalAttribute(const pugi::xml_node& node, const char* attr, T& out,
                                  std::string& error) {
  const pugi::xml_attribute a = node.attribute(attr);
  if (!a) return true;
  const std::string_view text = Trim(a.value());
  if (text.empty()) return true;
  return ReadDecimal(std::string(node.name()) + "/@" + attr, text, out, error);
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// well-known civil calendar algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view s, size_t& pos, size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!IsDigit(s[pos + i])) return false;
    v = v * 10 + static_cast<unsigned>(s[pos + i] - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool Expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::optional<uint64_t> ParseDecimalU64(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 10);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> ParseHexU64(std::string_view text) {
  text = Trim(text);
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.empty()) return std::nullopt;
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<EventTime> ParseEventTime(std::string_view text) {
  const std::string_view s = Trim(text);
  size_t pos = 0;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(s, pos, 4, year) || !Expect(s, pos, '-') || !Digits(s, pos, 2, month) ||
      !Expect(s, pos, '-') || !Digits(s, pos, 2, day) ||
      !(Expect(s, pos, 'T') || Expect(s, pos, ' ')) || !Digits(s, pos, 2, hour) ||
      !Expect(s, pos, ':') || !Digits(s, pos, 2, minute) || !Expect(s, pos, ':') ||
      !Digits(s, pos, 2, second)) {
    return std::nullopt;
  }
  // int64 nanoseconds cover 1678..2261; Windows never logs outside that.
  if (year < 1678 || year > 2261 || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && IsDigit(s[pos])) {
      if (digits < 9) {
        nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int64_t offset_seconds = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      const int sign = s[pos] == '-' ? -1 : 1;
      ++pos;
      unsigned oh = 0, om = 0;
      if (!Digits(s, pos, 2, oh) || !Expect(s, pos, ':') || !Digits(s, pos, 2, om) ||
          oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_seconds = sign * static_cast<int64_t>(oh * 3600 + om * 60);
    }
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return EventTime(std::chrono::nanoseconds(secs * 1000000000LL + nanos));
}

std::string FormatEventTime(EventTime t) {
  const int64_t total = t.time_since_epoch().count();
  int64_t secs = total / 1000000000LL;
  int64_t nanos = total % 1000000000LL;
  if (nanos < 0) {
    nanos += 1000000000LL;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60));
  std::string out = buf;
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), ".%09lld", static_cast<long long>(nanos));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

std::vector<std::string_view> SplitEventRecords(std::string_view text) {
  std::vector<std::string_view> records;
  constexpr std::string_view kClose = "</Event>";
  size_t depth = 0;  // nesting of <Event> elements (records do not nest in practice)
  size_t start = 0;
  size_t pos = 0;
  // Skips the markup that may mention "<Event>" without being one: comments
  // (evtxexport's preamble says "One <Event> per record"), CDATA and
  // processing instructions.
  auto skip = [&](std::string_view open, std::string_view close) {
    if (text.compare(pos, open.size(), open) != 0) return false;
    const size_t end = text.find(close, pos + open.size());
    pos = end == std::string_view::npos ? text.size() : end + close.size();
    return true;
  };
  while ((pos = text.find('<', pos)) != std::string_view::npos) {
    if (skip("<!--", "-->") || skip("<![CDATA[", "]]>") || skip("<?", "?>")) continue;
    if (text.compare(pos, kClose.size(), kClose) == 0) {
      if (depth > 0 && --depth == 0) {
        records.push_back(text.substr(start, pos + kClose.size() - start));
      }
      pos += kClose.size();
      continue;
    }
    if (IsEventStartAt(text, pos)) {
      const bool self_closing = IsSelfClosingTag(text, pos);
      if (depth == 0) {
        start = pos;
        if (self_closing) {
          const size_t gt = text.find('>', pos);
          records.push_back(text.substr(pos, gt + 1 - pos));
          pos = gt + 1;
          continue;
        }
      }
      if (!self_closing) ++depth;
    }
    ++pos;
  }
  // An unterminated last record is returned as it is.
  if (depth > 0) records.push_back(text.substr(start));
  return records;
}

const std::string* ParsedEvent::FindData(std::string_view name) const {
  for (const NamedValue& d : event_data) {
    if (d.name == name) return &d.value;
  }
  return nullptr;
}

const std::string* ParsedEvent::DataAt(size_t index) const {
  return index < event_data.size() ? &event_data[index].value : nullptr;
}

const std::string* ParsedEvent::FindUserData(std::string_view path) const {
  for (const NamedValue& d : user_data) {
    if (d.name == path) return &d.value;
  }
  return nullptr;
}

const std::string* ParsedEvent::FindUserDataSuffix(std::string_view suffix) const {
  for (const NamedValue& d : user_data) {
    const std::string_view n = d.name;
    if (n.size() < suffix.size()) continue;
    if (n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    if (n.size() == suffix.size() || n[n.size() - suffix.size() - 1] == '/') return &d.value;
  }
  return nullptr;
}

Result<ParsedEvent> ParseEventXml(std::string_view xml) {
  using R = Result<ParsedEvent>;
  if (xml.size() > kMaxEventXmlBytes) {
    return R::Error("ParseEventXml: input of " + std::to_string(xml.size()) +
                    " bytes exceeds the limit of " + std::to_string(kMaxEventXmlBytes));
  }
  const std::vector<std::string_view> records = SplitEventRecords(xml);
  if (records.empty()) return R::Error("ParseEventXml: no <Event> element in the input");
  if (records.size() > 1) {
    return R::Error("ParseEventXml: input holds " + std::to_string(records.size()) +
                    " <Event> records; split them with SplitEventRecords");
  }
  const std::string_view record = records.front();

  // The slice starts at "<Event", so any declaration, comment or preamble is
  // dropped; the input is UTF-8 by contract (the Win32 layer converts
  // EvtRender's UTF-16), whatever encoding a declaration claims.
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(record.data(), record.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return R::Error(std::string("ParseEventXml: malformed XML: ") + parsed.description() +
                    " at offset " + std::to_string(parsed.offset));
  }
  const pugi::xml_node event = doc.document_element();
  if (std::string_view(event.name()) != "Event") {
    return R::Error(std::string("ParseEventXml: document element is <") + event.name() +
                    ">, expected <Event>");
  }
  if (const pugi::xml_attribute ns = event.attribute("xmlns");
      ns && std::string_view(ns.value()) != kEventNamespace) {
    return R::Error(std::string("ParseEventXml: <Event> is in namespace \"") + ns.value() +
                    "\", expected \"" + std::string(kEventNamespace) + "\"");
  }
  const pugi::xml_node system = event.child("System");
  if (!system) return R::Error("ParseEventXml: <Event> has no <System> element");

  ParsedEvent out;
  std::string error;
  const pugi::xml_node provider = system.child("Provider");
  out.provider_name = Trim(provider.attribute("Name").value());
  out.provider_guid = Trim(provider.attribute("Guid").value());
  out.event_source_name = Trim(provider.attribute("EventSourceName").value());
  if (out.provider_name.empty()) out.provider_name = out.event_source_name;
  if (out.provider_name.empty()) {
    return R::Error("ParseEventXml: <System> has no Provider/@Name");
  }

  const pugi::xml_node event_id = system.child("EventID");
  if (!event_id) return R::Error("ParseEventXml: <System> has no <EventID>");
  if (!ReadDecimal("EventID", event_id.text().get(), out.event_id, error)) return R::Error(error);
  if (out.event_id > 0xFFFF) {
    return R::Error("ParseEventXml: EventID " + std::to_string(out.event_id) +
                    " exceeds 65535");
  }
  if (const pugi::xml_attribute q = event_id.attribute("Qualifiers");
      q && !Trim(q.value()).empty()) {
    uint32_t qualifiers = 0;
    if (!ReadDecimal("EventID/@Qualifiers", q.value(), qualifiers, error)) {
      return R::Error(error);
    }
    out.qualifiers = qualifiers;
  }
  if (!ReadOptionalDecimalChild(system, "Version", out.version, error) ||
      !ReadOptionalDecimalChild(system, "Level", out.level, error) ||
      !ReadOptionalDecimalChild(system, "Task", out.task, error) ||
      !ReadOptionalDecimalChild(system, "Opcode", out.opcode, error) ||
      !ReadOptionalDecimalChild(system, "EventRecordID", out.record_id, error)) {
    return R::Error(error);
  }
  if (const pugi::xml_node kw = system.child("Keywords"); kw) {
    const std::string_view text = Trim(kw.text().get());
    if (!text.empty()) {
      const std::optional<uint64_t> v = ParseHexU64(text);
      if (!v) {
        return R::Error("ParseEventXml: Keywords is not a hex number: \"" +
                        std::string(text.substr(0, 64)) + "\"");
      }
      out.keywords = *v;
    }
  }
  if (const pugi::xml_attribute t = system.child("TimeCreated").attribute("SystemTime"); t) {
    out.time_created = ParseEventTime(t.value());
    if (!out.time_created) {
      return R::Error("ParseEventXml: TimeCreated/@SystemTime is not a valid time: \"" +
                      std::string(std::string_view(t.value()).substr(0, 64)) + "\"");
    }
  }
  const pugi::xml_node execution = system.child("Execution");
  if (!ReadOptionalDecimalAttribute(execution, "ProcessID", out.process_id, error) ||
      !ReadOptionalDecimalAttribute(execution, "ThreadID", out.thread_id, error)) {
    return R::Error(error);
  }
  out.activity_id = Trim(system.child("Correlation").attribute("ActivityID").value());
  out.channel = Trim(system.child("Channel").text().get());
  out.computer = Trim(system.child("Computer").text().get());
  out.user_id = Trim(system.child("Security").attribute("UserID").value());

  if (const pugi::xml_node data = event.child("EventData"); data) {
    for (pugi::xml_node c = data.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view name = c.name();
      if (name == "Data") {
        out.event_data.push_back({c.attribute("Name").value(), c.text().get()});
      } else if (name == "Binary") {
        out.binary_data = Trim(c.text().get());
      }
    }
  }
  if (const pugi::xml_node user = event.child("UserData"); user) {
    const pugi::xml_node root = user.find_child(
        [](const pugi::xml_node& n) { return n.type() == pugi::node_element; });
    if (root) {
      out.user_data_root = root.name();
      Flatten(root, out.user_data_root, 0, out);
    }
  }
  if (const pugi::xml_node rendering = event.child("RenderingInfo"); rendering) {
    out.message = rendering.child("Message").text().get();
    out.rendered_level = Trim(rendering.child("Level").text().get());
  }
  return out;
}

}  // namespace pkiwatch::eventlog
