#include "agent/win/template_extension.h"

#include <cstddef>

#include "agent/eventlog/text_decoder.h"

namespace pkiwatch::win {
namespace {

// One DER TLV inside [data, data + size).
struct Tlv {
  uint8_t tag = 0;
  const uint8_t* value = nullptr;
  size_t length = 0;
  size_t total = 0;  // tag + length octets + value
};

std::optional<Tlv> ReadTlv(const uint8_t* data, size_t size) {
  if (size < 2) return std::nullopt;
  Tlv tlv;
  tlv.tag = data[0];
  if ((tlv.tag & 0x1F) == 0x1F) return std::nullopt;  // high tag numbers: not used here
  size_t offset = 2;
  const uint8_t first = data[1];
  if (first < 0x80) {
    tlv.length = first;
  } else {
    const size_t octets = first & 0x7F;
    if (octets == 0 || octets > 4 || size < 2 + octets) return std::nullopt;
    size_t length = 0;
    for (size_t i = 0; i < octets; ++i) length = (length << 8) | data[2 + i];
    if (length < 0x80) return std::nullopt;  // DER: short form required
    tlv.length = length;
    offset += octets;
  }
  if (tlv.length > size - offset) return std::nullopt;
  tlv.value = data + offset;
  tlv.total = offset + tlv.length;
  return tlv;
}

std::optional<std::string> DecodeOid(const uint8_t* data, size_t size) {
  if (size == 0 || size > 128) return std::nullopt;
  std::string oid;
  uint64_t arc = 0;
  bool first = true;
  for (size_t i = 0; i < size; ++i) {
    if (arc == 0 && data[i] == 0x80) return std::nullopt;  // non-minimal encoding
    if (arc > (UINT64_MAX >> 7)) return std::nullopt;
    arc = (arc << 7) | (data[i] & 0x7F);
    if (data[i] & 0x80) {
      if (i + 1 == size) return std::nullopt;  // unterminated arc
      continue;
    }
    if (first) {
      const uint64_t top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
      oid = std::to_string(top) + "." + std::to_string(arc - top * 40);
      first = false;
    } else {
      oid += "." + std::to_string(arc);
    }
    arc = 0;
  }
  return oid;
}

std::optional<uint32_t> DecodeUnsigned(const uint8_t* data, size_t size) {
  if (size == 0 || size > 5) return std::nullopt;
  if (data[0] & 0x80) return std::nullopt;  // negative
  if (size > 1 && data[0] == 0 && !(data[1] & 0x80)) return std::nullopt;  // non-minimal
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) value = (value << 8) | data[i];
  if (value > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(value);
}

}  // namespace

std::optional<TemplateExtension> DecodeTemplateExtension(const std::vector<uint8_t>& der) {
  auto sequence = ReadTlv(der.data(), der.size());
  if (!sequence || sequence->tag != 0x30 || sequence->total != der.size()) return std::nullopt;
  const uint8_t* p = sequence->value;
  size_t left = sequence->length;

  auto oid_tlv = ReadTlv(p, left);
  if (!oid_tlv || oid_tlv->tag != 0x06) return std::nullopt;
  auto oid = DecodeOid(oid_tlv->value, oid_tlv->length);
  if (!oid) return std::nullopt;
  p += oid_tlv->total;
  left -= oid_tlv->total;

  auto major_tlv = ReadTlv(p, left);
  if (!major_tlv || major_tlv->tag != 0x02) return std::nullopt;
  auto major = DecodeUnsigned(major_tlv->value, major_tlv->length);
  if (!major) return std::nullopt;
  p += major_tlv->total;
  left -= major_tlv->total;

  TemplateExtension extension;
  extension.oid = std::move(*oid);
  extension.major_version = *major;
  if (left > 0) {
    auto minor_tlv = ReadTlv(p, left);
    if (!minor_tlv || minor_tlv->tag != 0x02 || minor_tlv->total != left) return std::nullopt;
    auto minor = DecodeUnsigned(minor_tlv->value, minor_tlv->length);
    if (!minor) return std::nullopt;
    extension.minor_version = *minor;
  }
  return extension;
}

std::optional<std::string> DecodeTemplateNameExtension(const std::vector<uint8_t>& der) {
  auto tlv = ReadTlv(der.data(), der.size());
  if (!tlv || tlv->total != der.size()) return std::nullopt;
  std::string name;
  switch (tlv->tag) {
    case 0x1E: {  // BMPString: UTF-16BE (surrogate pairs accepted)
      if (tlv->length % 2 != 0) return std::nullopt;
      for (size_t i = 0; i < tlv->length; i += 2) {
        uint32_t unit = (static_cast<uint32_t>(tlv->value[i]) << 8) | tlv->value[i + 1];
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          if (i + 3 >= tlv->length) return std::nullopt;
          const uint32_t low = (static_cast<uint32_t>(tlv->value[i + 2]) << 8) | tlv->value[i + 3];
          if (low < 0xDC00 || low > 0xDFFF) return std::nullopt;
          unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
          i += 2;
        } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
          return std::nullopt;
        }
        eventlog::AppendUtf8(static_cast<char32_t>(unit), name);
      }
      return name;
    }
    case 0x0C:  // UTF8String (taken as is)
    case 0x13:  // PrintableString
    case 0x16:  // IA5String
      name.assign(reinterpret_cast<const char*>(tlv->value), tlv->length);
      return name;
    default:
      return std::nullopt;
  }
}

}  // namespace pkiwatch::win
