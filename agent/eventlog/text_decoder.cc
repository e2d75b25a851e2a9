#include "agent/eventlog/text_decoder.h"

namespace pkiwatch::eventlog {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool IsHighSurrogate(char16_t u) { return u >= 0xD800 && u <= 0xDBFF; }
bool IsLowSurrogate(char16_t u) { return u >= 0xDC00 && u <= 0xDFFF; }

bool IsAsciiByte(unsigned char c) { return c != 0 && c < 0x80; }

}  // namespace

DetectedEncoding DetectTextEncoding(std::string_view head) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (head.size() >= 3 && byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF) {
    return {TextEncoding::kUtf8, 3};
  }
  if (head.size() >= 2 && byte(0) == 0xFF && byte(1) == 0xFE) return {TextEncoding::kUtf16Le, 2};
  if (head.size() >= 2 && byte(0) == 0xFE && byte(1) == 0xFF) return {TextEncoding::kUtf16Be, 2};
  if (head.size() >= 2) {
    if (IsAsciiByte(byte(0)) && byte(1) == 0) return {TextEncoding::kUtf16Le, 0};
    if (byte(0) == 0 && IsAsciiByte(byte(1))) return {TextEncoding::kUtf16Be, 0};
  }
  return {TextEncoding::kUtf8, 0};
}

std::string_view EncodingName(TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::kUtf8: return "UTF-8";
    case TextEncoding::kUtf16Le: return "UTF-16LE";
    case TextEncoding::kUtf16Be: return "UTF-16BE";
  }
  return "UTF-8";
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void ToUtf8Decoder::EmitUnit(char16_t unit, std::string& out) {
  if (high_surrogate_ != 0) {
    const char16_t high = high_surrogate_;
    high_surrogate_ = 0;
    if (IsLowSurrogate(unit)) {
      AppendUtf8(0x10000 + ((static_cast<char32_t>(high) - 0xD800) << 10) + (unit - 0xDC00), out);
      return;
    }
    AppendUtf8(kReplacement, out);
    ++replacements_;
  }
  if (IsHighSurrogate(unit)) {
    high_surrogate_ = unit;
  } else if (IsLowSurrogate(unit)) {
    AppendUtf8(kReplacement, out);
    ++replacements_;
  } else {
    AppendUtf8(unit, out);
  }
}

void ToUtf8Decoder::Append(std::string_view bytes, std::string& out) {
  if (encoding_ == TextEncoding::kUtf8) {
    out.append(bytes);
    return;
  }
  out.reserve(out.size() + bytes.size() / 2 + 4);
  const bool little_endian = encoding_ == TextEncoding::kUtf16Le;
  size_t i = 0;
  auto unit_of = [little_endian](unsigned char first, unsigned char second) {
    return little_endian ? static_cast<char16_t>(first | (second << 8))
                         : static_cast<char16_t>((first << 8) | second);
  };
  if (has_odd_byte_ && !bytes.empty()) {
    EmitUnit(unit_of(odd_byte_, static_cast<unsigned char>(bytes[0])), out);
    has_odd_byte_ = false;
    i = 1;
  }
  for (; i + 1 < bytes.size(); i += 2) {
    EmitUnit(unit_of(static_cast<unsigned char>(bytes[i]), static_cast<unsigned char>(bytes[i + 1])),
             out);
  }
  if (i < bytes.size()) {
    has_odd_byte_ = true;
    odd_byte_ = static_cast<unsigned char>(bytes[i]);
  }
}

size_t ToUtf8Decoder::Finish(std::string& out) {
  if (high_surrogate_ != 0 || has_odd_byte_) {
    AppendUtf8(kReplacement, out);
    ++replacements_;
    high_surrogate_ = 0;
    has_odd_byte_ = false;
  }
  return replacements_;
}

}  // namespace pkiwatch::eventlog
