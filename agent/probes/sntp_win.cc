// The Windows transport of the SNTP client (sntp.h): the Winsock client of
// the Win32 layer (agent/win/sntp_client.h), its win::Status turned into the
// absl::Status QuerySntp documents, with the HRESULT kept for
// SntpErrorHresult. Chosen by the build on Windows instead of sntp_posix.cc.
#include <algorithm>
#include <chrono>
#include <utility>

#include "agent/probes/sntp.h"
#include "agent/win/absl_status.h"
#include "agent/win/sntp_client.h"

namespace pkiwatch {
namespace {

std::chrono::milliseconds ToMilliseconds(absl::Duration d) {
  // Rounded up so that a positive limit never becomes zero.
  return std::chrono::milliseconds(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)))));
}

absl::Status ToSntpStatus(const win::Status& status) {
  absl::Status converted = win::ToAbslStatus(status);
  // An unusable reply is the server's state, not our argument: the same
  // code as the POSIX transport (ValidateSntpReply).
  if (status.hresult() == sntp_hr::kErrorInvalidData) {
    converted = absl::FailedPreconditionError(status.message());
  } else if (converted.code() == absl::StatusCode::kUnknown) {
    converted = absl::InternalError(status.message());
  }
  return WithSntpHresult(std::move(converted), status.hresult());
}

}  // namespace

absl::StatusOr<SntpSample> QuerySntp(std::string_view reference, const SntpOptions& options) {
  win::SntpQueryOptions win_options;
  win_options.timeout = ToMilliseconds(options.timeout);
  win_options.per_address_timeout = ToMilliseconds(options.per_address_timeout);
  win_options.max_addresses = options.max_addresses;
  win::StatusOr<sntp::Sample> sample = win::QuerySntpServer(reference, win_options);
  if (!sample.ok()) return ToSntpStatus(sample.status());
  return ToSntpSample(*std::move(sample));
}

}  // namespace pkiwatch
