// One code space for all errors: Windows HRESULTs, with Win32 codes stored as
// HRESULT_FROM_WIN32. Names and texts come from mingw-w64's winerror.h and
// Wine's message table (see common/tools/gen_error_catalogue.py), not from
// memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

struct ErrorEntry {
  uint32_t code = 0;          // HRESULT (Win32 codes as 0x8007xxxx)
  std::string_view name;      // e.g. "CRYPT_E_REVOCATION_OFFLINE"
  std::string_view message;   // empty when no text is known
};

// HRESULT_FROM_WIN32: 0 stays 0, values that already look like an HRESULT
// (high bit set) are returned unchanged.
constexpr uint32_t HresultFromWin32(uint32_t win32) {
  if (win32 == 0 || (win32 & 0x80000000u) != 0) return win32;
  return (win32 & 0x0000FFFFu) | (7u << 16) | 0x80000000u;
}

// Looks up an HRESULT, or a raw Win32 code (<= 0xFFFF), which is tried as
// HRESULT_FROM_WIN32(code) first. Returns nullopt for unknown codes. The
// returned views point to static storage. Thread-safe.
std::optional<ErrorEntry> LookupError(uint32_t code);

// Exact, case-sensitive symbolic name ("E_FAIL"). Aliases that share a code
// with a more canonical name are also found and return the canonical entry's
// code with the alias name. Thread-safe.
std::optional<ErrorEntry> LookupErrorByName(std::string_view name);

// ErrorInfo with hresult, symbolic_name and message filled from the
// catalogue (left empty for unknown codes) and native_detail as given.
// Raw Win32 codes are converted to HRESULT_FROM_WIN32.
v1::ErrorInfo MakeErrorInfo(uint32_t hresult, std::string native_detail);

// "0x80092013 CRYPT_E_REVOCATION_OFFLINE The revocation function ...";
// "0x12345678" alone for unknown codes; name only when no text is known.
std::string FormatError(uint32_t code);

// The codes the product emits. Every constant is checked against the
// catalogue (i.e. winerror.h) by name in error_catalogue_test.cc.
namespace hr {
inline constexpr uint32_t kSOk = 0x00000000;
inline constexpr uint32_t kEFail = 0x80004005;
inline constexpr uint32_t kEInvalidArg = 0x80070057;
inline constexpr uint32_t kEAccessDenied = 0x80070005;
inline constexpr uint32_t kEOutOfMemory = 0x8007000E;
inline constexpr uint32_t kENotImpl = 0x80004001;
inline constexpr uint32_t kEUnexpected = 0x8000FFFF;
// Win32 codes as HRESULT.
inline constexpr uint32_t kErrorFileNotFound = 0x80070002;
inline constexpr uint32_t kErrorTimeout = 0x800705B4;
inline constexpr uint32_t kErrorNoSuchDomain = 0x8007054B;
inline constexpr uint32_t kRpcSServerUnavailable = 0x800706BA;
// Revocation and chain building.
inline constexpr uint32_t kCryptERevoked = 0x80092010;
inline constexpr uint32_t kCryptENoRevocationCheck = 0x80092012;
inline constexpr uint32_t kCryptERevocationOffline = 0x80092013;
inline constexpr uint32_t kCryptENotFound = 0x80092004;
inline constexpr uint32_t kCryptEAsn1Error = 0x80093100;
inline constexpr uint32_t kCryptEAsn1BadTag = 0x8009310B;
inline constexpr uint32_t kCertEExpired = 0x800B0101;
inline constexpr uint32_t kCertEUntrustedRoot = 0x800B0109;
inline constexpr uint32_t kCertEChaining = 0x800B010A;
inline constexpr uint32_t kCertERevocationFailure = 0x800B010E;
inline constexpr uint32_t kCertEIssuerChaining = 0x800B0107;
inline constexpr uint32_t kCertEWrongUsage = 0x800B0110;
inline constexpr uint32_t kCertECritical = 0x800B0105;
inline constexpr uint32_t kCertECnNoMatch = 0x800B010F;
// Keys and signatures.
inline constexpr uint32_t kNteBadSignature = 0x80090006;
inline constexpr uint32_t kNteBadKey = 0x80090003;
inline constexpr uint32_t kNteFail = 0x80090020;
inline constexpr uint32_t kNteDeviceNotReady = 0x80090030;
inline constexpr uint32_t kNteNotSupported = 0x80090029;
// Certificate services (ADCS).
inline constexpr uint32_t kCertsrvETemplateDenied = 0x80094012;
inline constexpr uint32_t kCertsrvEUnsupportedCertType = 0x80094800;
inline constexpr uint32_t kCertsrvEKeyLength = 0x80094811;
// WinHTTP transport errors (winhttp.h, Win32 12xxx) as HRESULT. mingw-w64's
// winerror.h has no HTTP_E_STATUS_* family, so HTTP status failures are
// reported with these or with a generic code plus the status in the detail.
inline constexpr uint32_t kErrorWinhttpTimeout = 0x80072EE2;
inline constexpr uint32_t kErrorWinhttpNameNotResolved = 0x80072EE7;
inline constexpr uint32_t kErrorWinhttpCannotConnect = 0x80072EFD;
inline constexpr uint32_t kErrorWinhttpConnectionError = 0x80072EFE;
inline constexpr uint32_t kErrorWinhttpInvalidServerResponse = 0x80072F78;
inline constexpr uint32_t kErrorWinhttpSecureFailure = 0x80072F8F;
}  // namespace hr

}  // namespace pkiwatch
