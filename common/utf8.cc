#include "common/utf8.h"

#include <cstdint>

namespace pkiwatch {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";     // U+2026

// Length of the well-formed sequence starting at s[i], or 0 when ill-formed
// (Unicode 15, table 3-7: no overlongs, no surrogates, max U+10FFFF).
size_t SequenceLength(std::string_view s, size_t i) {
  auto at = [&](size_t k) -> uint8_t {
    return static_cast<uint8_t>(s[k]);
  };
  auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
    return k < s.size() && at(k) >= lo && at(k) <= hi;
  };
  uint8_t b = at(i);
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (b == 0xE0) return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0;
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (b == 0xED) return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;
  if (b == 0xF0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b >= 0xF1 && b <= 0xF3) {
    return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  if (b == 0xF4) {
    return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

// Bytes of an ill-formed sequence to replace by one U+FFFD: the lead byte
// plus the continuation bytes that were valid so far ("maximal subpart",
// the W3C/Unicode recommended practice).
size_t MaximalSubpart(std::string_view s, size_t i) {
  uint8_t b = static_cast<uint8_t>(s[i]);
  size_t need = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t n = 1;
  for (size_t k = 0; k < need && i + n < s.size(); ++k) {
    uint8_t c = static_cast<uint8_t>(s[i + n]);
    if (k == 0 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
    ++n;
  }
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s, size_t max_bytes) {
  std::string out;
  out.reserve(s.size() < max_bytes ? s.size() : max_bytes);
  size_t i = 0;
  bool truncated = false;
  while (i < s.size()) {
    size_t n = SequenceLength(s, i);
    std::string_view piece;
    size_t consumed;
    if (n == 0) {
      piece = kReplacement;
      consumed = MaximalSubpart(s, i);
    } else {
      piece = s.substr(i, n);
      consumed = n;
    }
    if (out.size() + piece.size() > max_bytes) {
      truncated = true;
      break;
    }
    out.append(piece);
    i += consumed;
  }
  if (!truncated) return out;
  if (max_bytes < kEllipsis.size()) return out;
  // Drop whole characters until the ellipsis fits.
  while (out.size() + kEllipsis.size() > max_bytes) {
    size_t cut = out.size() - 1;
    while (cut > 0 && (static_cast<uint8_t>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  out.append(kEllipsis);
  return out;
}

}  // namespace pkiwatch
