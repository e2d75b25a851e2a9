#pragma once

// Matching rendered event messages against their message-table templates,
// for events that arrive with RenderingInfo/Message but without usable
// EventData (Event Viewer text, forwarded events, classic records).
//
// Portable core (standard library only).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pkiwatch::eventlog {

// Matches `message` against `message_template`, a Windows message-table
// string with inserts %1..%99 ("%1!s!" format specs allowed), %n and %t, and
// the literal "\n"/"\t" escapes of manifest dumps. Whitespace runs on both
// sides compare as one space; surrounding whitespace is ignored. An insert
// takes the shortest text up to the next literal, except that an insert
// followed by a bare space takes one word, and the last insert takes the
// rest. Returns the inserts by number (element 0 unused; inserts the
// template does not use stay empty), or nullopt when the literals do not
// match. Thread-safe.
std::optional<std::vector<std::string>> MatchMessageTemplate(std::string_view message_template,
                                                            std::string_view message);

// Collapses whitespace runs (including CR/LF) to one space and trims.
std::string CollapseWhitespace(std::string_view text);

}  // namespace pkiwatch::eventlog
