// Decoding the Windows certificate template extensions (portable: no
// Win32, so the result is the same on Windows and under wine, whose crypt32
// cannot decode X509_CERTIFICATE_TEMPLATE).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pkiwatch::win {

// 1.3.6.1.4.1.311.21.7 (certificateTemplate, v2 and later templates):
//   SEQUENCE { templateID OBJECT IDENTIFIER, templateMajorVersion INTEGER,
//              templateMinorVersion INTEGER OPTIONAL }
struct TemplateExtension {
  std::string oid;               // dotted, e.g. "1.3.6.1.4.1.311.21.8.1.2"
  uint32_t major_version = 0;
  std::optional<uint32_t> minor_version;
};

// `der` is the extension value (the bytes inside extnValue's OCTET STRING).
// nullopt for anything malformed: wrong tags, bad lengths, trailing bytes,
// negative or oversized versions. Never reads outside `der`.
std::optional<TemplateExtension> DecodeTemplateExtension(const std::vector<uint8_t>& der);

// 1.3.6.1.4.1.311.20.2 (enrollCertTypeExtension, v1 templates): the template
// name as a BMPString (UTF8String, PrintableString and IA5String are
// accepted too), returned as UTF-8. nullopt when malformed.
std::optional<std::string> DecodeTemplateNameExtension(const std::vector<uint8_t>& der);

}  // namespace pkiwatch::win
