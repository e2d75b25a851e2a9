// Results of the Win32 layer: a value, or an error carrying the HRESULT the
// operating system reported and a text that names the API, the object, the
// code and its meaning:
//   "RegOpenKeyExW(HKLM\Software\Policies\pkiwatch\Agent): 0x80070005
//    E_ACCESSDENIED Access is denied."
//
// Why not absl::Status: agent/win is also built with mingw-w64 (pkiwatch-diag
// and the wine tests), where no Abseil exists. The full agent converts with
// ToAbslStatus (agent/win/absl_status.h). The canonical codes below have the
// numeric values of absl::StatusCode so that conversion is a cast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace pkiwatch::win {

// Same numbering as absl::StatusCode (the gRPC canonical codes).
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

class Status {
 public:
  // OK.
  Status() = default;

  // An error with `hresult` (Win32 codes are converted to HRESULT_FROM_WIN32;
  // 0 becomes E_FAIL, an error always has a failure code) and a message
  // that already names what failed. The canonical code is derived from the
  // HRESULT.
  static Status Error(uint32_t hresult, std::string message);

  bool ok() const { return hresult_ == 0; }
  // 0 when ok().
  uint32_t hresult() const { return hresult_; }
  StatusCode code() const;
  // Empty when ok().
  const std::string& message() const { return message_; }
  // "OK" or the message.
  std::string ToString() const { return ok() ? std::string("OK") : message_; }

 private:
  uint32_t hresult_ = 0;
  std::string message_;
};

// A value or an error Status (never an OK Status without a value).
template <typename T>
class StatusOr {
 public:
  // Implicit like absl::StatusOr, so that `return value;` and
  // `return status;` both work.
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Error(0x8000FFFFu, "StatusOr built from an OK Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // Only valid when ok().
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

// The canonical code for an HRESULT (access denied -> kPermissionDenied,
// file/key/object/host name not found -> kNotFound, timeouts ->
// kDeadlineExceeded, not supported/implemented -> kUnimplemented,
// RPC/network unreachable or refused -> kUnavailable, invalid argument ->
// kInvalidArgument, else kUnknown).
StatusCode CanonicalCode(uint32_t hresult);

// "0x80070005 E_ACCESSDENIED Access is denied." Name and text from the
// project's error catalogue (winerror.h names), text falling back to the
// system's message table (FormatMessageW); "0x12345678" alone when nothing
// is known. Raw Win32 codes (<= 0xFFFF) are shown as HRESULT_FROM_WIN32.
std::string DescribeError(uint32_t code);

// The symbolic name ("E_ACCESSDENIED"), or "" when unknown.
std::string_view ErrorName(uint32_t code);

// Status::Error(code, "<api>(<object>): <DescribeError(code)>"); without the
// parentheses when `object` is empty.
Status ApiError(std::string_view api, std::string_view object, uint32_t code);

// ApiError with GetLastError(). When the API failed without setting an error
// (wine's stubs return NULL with error 0), the code is E_NOTIMPL and the
// text says so.
Status LastError(std::string_view api, std::string_view object);

// HRESULT_FROM_WIN32 (0 stays 0; values with the high bit set pass through).
constexpr uint32_t HresultFromWin32(uint32_t win32) {
  if (win32 == 0 || (win32 & 0x80000000u) != 0) return win32;
  return (win32 & 0x0000FFFFu) | (7u << 16) | 0x80000000u;
}

}  // namespace pkiwatch::win
