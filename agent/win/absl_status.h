// win::Status -> absl::Status for the full agent (native Windows build with
// Abseil). Not used by the mingw build, which has no Abseil.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/win/status.h"

namespace pkiwatch::win {

static_assert(static_cast<int>(StatusCode::kPermissionDenied) ==
                  static_cast<int>(absl::StatusCode::kPermissionDenied) &&
              static_cast<int>(StatusCode::kUnavailable) ==
                  static_cast<int>(absl::StatusCode::kUnavailable) &&
              static_cast<int>(StatusCode::kUnauthenticated) ==
                  static_cast<int>(absl::StatusCode::kUnauthenticated),
              "win::StatusCode must keep absl::StatusCode's numbering");

// The canonical code and the message (which already names the API, the
// HRESULT and its meaning). Callers that need the HRESULT itself take it
// from the win::Status before converting.
inline absl::Status ToAbslStatus(const Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(static_cast<int>(status.code())),
                      status.message());
}

template <typename T>
absl::StatusOr<T> ToAbslStatusOr(StatusOr<T> value) {
  if (!value.ok()) return ToAbslStatus(value.status());
  return std::move(*value);
}

}  // namespace pkiwatch::win
