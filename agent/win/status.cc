#include "agent/win/status.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "agent/win/strings.h"
#include "agent/win/win32.h"

namespace pkiwatch::win {
namespace {

// The project's catalogue (common/error_catalogue_data.inc, generated from
// mingw-w64's winerror.h) is a plain constexpr array; common/error_catalogue.cc
// needs protobuf, so the table is included here with the same row types.
struct ErrorEntry {
  uint32_t code;
  std::string_view name;
  std::string_view message;
};
struct ErrorName {
  std::string_view name;
  uint32_t code;
};
#include "common/error_catalogue_data.inc"

const ErrorEntry* FindCode(uint32_t code) {
  const auto* end = std::end(kErrorCatalogue);
  const auto* it = std::lower_bound(std::begin(kErrorCatalogue), end, code,
                                    [](const ErrorEntry& e, uint32_t c) { return e.code < c; });
  return (it != end && it->code == code) ? it : nullptr;
}

uint32_t Normalize(uint32_t code) { return code <= 0xFFFFu ? HresultFromWin32(code) : code; }

// The system's text for `code`, without the trailing CR/LF; "" when none.
std::string SystemMessage(uint32_t code) {
  wchar_t* buffer = nullptr;
  const DWORD flags = FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                      FORMAT_MESSAGE_IGNORE_INSERTS;
  // Win32 codes are found by their plain number; FACILITY_WIN32 HRESULTs are
  // unwrapped first because the system table holds them unwrapped.
  DWORD lookup = code;
  if ((code & 0xFFFF0000u) == 0x80070000u) lookup = code & 0xFFFFu;
  const DWORD length =
      FormatMessageW(flags, nullptr, lookup, 0, reinterpret_cast<wchar_t*>(&buffer), 0, nullptr);
  if (length == 0 || buffer == nullptr) return "";
  std::wstring text(buffer, length);
  LocalFree(buffer);
  while (!text.empty() && (text.back() == L'\n' || text.back() == L'\r' || text.back() == L' ')) {
    text.pop_back();
  }
  return WideToUtf8(text);
}

}  // namespace

Status Status::Error(uint32_t hresult, std::string message) {
  Status status;
  status.hresult_ = hresult == 0 ? 0x80004005u /* E_FAIL */ : Normalize(hresult);
  status.message_ = std::move(message);
  return status;
}

StatusCode Status::code() const { return ok() ? StatusCode::kOk : CanonicalCode(hresult_); }

StatusCode CanonicalCode(uint32_t hresult) {
  switch (Normalize(hresult)) {
    case 0:
      return StatusCode::kOk;
    case 0x80070005u:  // E_ACCESSDENIED
    case 0x80090010u:  // NTE_PERM
      return StatusCode::kPermissionDenied;
    case 0x80070002u:  // ERROR_FILE_NOT_FOUND
    case 0x80070003u:  // ERROR_PATH_NOT_FOUND
    case 0x80070424u:  // ERROR_SERVICE_DOES_NOT_EXIST
    case 0x80092004u:  // CRYPT_E_NOT_FOUND
    case 0x80090016u:  // NTE_BAD_KEYSET
    case 0x80040154u:  // REGDB_E_CLASSNOTREG
      return StatusCode::kNotFound;
    case 0x800705B4u:  // ERROR_TIMEOUT
    case 0x80072EE2u:  // ERROR_WINHTTP_TIMEOUT
    case 0x80070102u:  // WAIT_TIMEOUT
    case 0x8007274Cu:  // WSAETIMEDOUT
      return StatusCode::kDeadlineExceeded;
    case 0x80072AF9u:  // WSAHOST_NOT_FOUND
    case 0x80072AFCu:  // WSANO_DATA (the name has no address)
      return StatusCode::kNotFound;
    case 0x80004001u:  // E_NOTIMPL
    case 0x80070032u:  // ERROR_NOT_SUPPORTED
    case 0x80070078u:  // ERROR_CALL_NOT_IMPLEMENTED
    case 0x80090029u:  // NTE_NOT_SUPPORTED
      return StatusCode::kUnimplemented;
    case 0x800706BAu:  // RPC_S_SERVER_UNAVAILABLE
    case 0x80090030u:  // NTE_DEVICE_NOT_READY
    case 0x80072EE7u:  // ERROR_WINHTTP_NAME_NOT_RESOLVED
    case 0x80072EFDu:  // ERROR_WINHTTP_CANNOT_CONNECT
    case 0x80072EFEu:  // ERROR_WINHTTP_CONNECTION_ERROR
    case 0x80092013u:  // CRYPT_E_REVOCATION_OFFLINE
    case 0x80072AFAu:  // WSATRY_AGAIN (resolver unreachable)
    case 0x80072746u:  // WSAECONNRESET (for UDP: ICMP port unreachable)
    case 0x8007274Du:  // WSAECONNREFUSED
    case 0x80072751u:  // WSAEHOSTUNREACH
    case 0x80072743u:  // WSAENETUNREACH
    case 0x80072741u:  // WSAEADDRNOTAVAIL
      return StatusCode::kUnavailable;
    case 0x80070057u:  // E_INVALIDARG
    case 0x8007000Du:  // ERROR_INVALID_DATA
      return StatusCode::kInvalidArgument;
    case 0x8007000Eu:  // E_OUTOFMEMORY
      return StatusCode::kResourceExhausted;
    case 0x800700B7u:  // ERROR_ALREADY_EXISTS
    case 0x80070431u:  // ERROR_SERVICE_EXISTS
      return StatusCode::kAlreadyExists;
    default:
      return StatusCode::kUnknown;
  }
}

std::string_view ErrorName(uint32_t code) {
  const ErrorEntry* entry = FindCode(Normalize(code));
  return entry != nullptr ? entry->name : std::string_view();
}

std::string DescribeError(uint32_t raw_code) {
  const uint32_t code = Normalize(raw_code);
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(code));
  std::string text = hex;
  const ErrorEntry* entry = FindCode(code);
  if (entry != nullptr) {
    text += ' ';
    text += entry->name;
  }
  std::string message = entry != nullptr ? std::string(entry->message) : std::string();
  if (message.empty() && code != 0) message = SystemMessage(code);
  if (!message.empty()) {
    text += ' ';
    text += message;
  }
  return text;
}

Status ApiError(std::string_view api, std::string_view object, uint32_t code) {
  std::string message(api);
  if (!object.empty()) {
    message += '(';
    message += object;
    message += ')';
  }
  message += ": ";
  message += DescribeError(code == 0 ? 0x80004005u : code);
  return Status::Error(code, std::move(message));
}

Status LastError(std::string_view api, std::string_view object) {
  const DWORD error = GetLastError();
  if (error != 0) return ApiError(api, object, error);
  // Seen with wine's event log stubs: failure without an error code.
  std::string message(api);
  if (!object.empty()) {
    message += '(';
    message += object;
    message += ')';
  }
  message += ": failed without an error code (the API is not implemented here); ";
  message += DescribeError(0x80004001u);
  return Status::Error(0x80004001u /* E_NOTIMPL */, std::move(message));
}

}  // namespace pkiwatch::win
