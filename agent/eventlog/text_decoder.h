#pragma once

// Exported event logs as text: `wevtutil qe ... /f:xml` and Get-WinEvent
// output reach the agent in UTF-8 or, when redirected in Windows
// PowerShell 5.1 (whose `>` writes "Unicode"), in UTF-16LE with a BOM.
// This turns either into UTF-8, chunk by chunk, so large exports need not be
// held in memory twice.
//
// Portable core: standard library only (see common/result.h).

#include <cstddef>
#include <string>
#include <string_view>

namespace pkiwatch::eventlog {

enum class TextEncoding { kUtf8, kUtf16Le, kUtf16Be };

struct DetectedEncoding {
  TextEncoding encoding = TextEncoding::kUtf8;
  size_t bom_bytes = 0;  // bytes of byte-order mark to skip
};

// From the first bytes of a file: a BOM (EF BB BF, FF FE, FE FF) decides;
// without one, a zero byte beside an ASCII character in the first two bytes
// means UTF-16 of that byte order (XML starts with '<' or whitespace);
// anything else is taken as UTF-8.
DetectedEncoding DetectTextEncoding(std::string_view head);

std::string_view EncodingName(TextEncoding encoding);  // "UTF-8", "UTF-16LE", "UTF-16BE"

// Converts a byte stream to UTF-8. UTF-8 input passes through unchanged
// (ill-formed sequences are left for the consumers, which sanitize). For
// UTF-16 a code unit or surrogate pair split across chunks is carried over;
// unpaired surrogates become U+FFFD and are counted.
class ToUtf8Decoder {
 public:
  explicit ToUtf8Decoder(TextEncoding encoding) : encoding_(encoding) {}

  // Appends the UTF-8 of `bytes` (the BOM already skipped) to `out`.
  void Append(std::string_view bytes, std::string& out);
  // End of input: a dangling odd byte or lone high surrogate becomes
  // U+FFFD (counted). Returns the number of replacements made in total.
  size_t Finish(std::string& out);

  size_t replacements() const { return replacements_; }

 private:
  void EmitUnit(char16_t unit, std::string& out);

  TextEncoding encoding_;
  bool has_odd_byte_ = false;
  unsigned char odd_byte_ = 0;
  char16_t high_surrogate_ = 0;  // pending lead surrogate, 0 when none
  size_t replacements_ = 0;
};

// Appends the UTF-8 encoding of `code_point` (<= U+10FFFF, not a surrogate).
void AppendUtf8(char32_t code_point, std::string& out);

}  // namespace pkiwatch::eventlog
