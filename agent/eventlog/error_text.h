#pragma once

// HRESULTs as Windows events write them, and the error texts that some events
// carry instead of a code.
//
// Portable core (standard library only). The full error catalogue
// (common/error_catalogue.h) needs protobuf, so the few codes the classifier
// must recognise by their text are kept here; error_text_test.cc checks every
// entry against the catalogue, i.e. against winerror.h.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pkiwatch::eventlog {

struct KnownError {
  uint32_t code;
  std::string_view name;   // winerror.h symbol
  std::string_view text;   // Windows wording (en-US), as quoted in the fixtures
};

// Parses an error code field: "0x8007054b", "0x80092013 (-2146885613 ...)",
// "-2146885613", "2148081683", or (hex_without_prefix) the bare hex that CAPI2
// UserData writes ("80092013", "0"). Text after the number is allowed when it
// starts with a space or '(' (certutil style). Win32 codes (<= 0xFFFF, given
// as decimal) are returned unchanged; callers that want HRESULTs use
// HresultFromWin32. nullopt when the field does not start with a number.
std::optional<uint32_t> ParseErrorCode(std::string_view text, bool hex_without_prefix = false);

// The first "0x" + 8 hex digits in free text ("... occurred 0x80072f8f
// (WinHttp: ...)"), or nullopt.
std::optional<uint32_t> FindHresultInText(std::string_view text);

// HRESULT_FROM_WIN32 (0 stays 0, values with the high bit pass through).
constexpr uint32_t HresultFromWin32(uint32_t win32) {
  if (win32 == 0 || (win32 & 0x80000000u) != 0) return win32;
  return (win32 & 0x0000FFFFu) | (7u << 16) | 0x80000000u;
}

// The entry whose text `text` starts with (case-insensitive, ignoring
// surrounding whitespace and a trailing period on either side), or nullptr.
// Also matches when `text` is a prefix of at least 24 characters of an entry
// (messages cut off by the event). Thread-safe.
const KnownError* MatchErrorText(std::string_view text);

// The first entry whose text occurs anywhere in `text` (case-sensitive);
// `position` receives its offset. For messages that embed an error text
// after other fields (CA event 100). nullptr when none.
const KnownError* FindErrorTextIn(std::string_view text, size_t* position = nullptr);

// The entry for `code`, or nullptr.
const KnownError* FindKnownError(uint32_t code);

// Every entry (for tests and the diag tool).
const KnownError* KnownErrorsBegin();
const KnownError* KnownErrorsEnd();

// "0x800B0101", upper-case hex, 8 digits.
std::string FormatHresult(uint32_t code);

}  // namespace pkiwatch::eventlog
