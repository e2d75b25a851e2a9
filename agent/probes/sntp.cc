// The Abseil face of the SNTP core (sntp_core.h): absl::Time and
// absl::Duration in, absl::Status out, with the core's HRESULT kept as a
// payload. The transport (QuerySntp) is in sntp_posix.cc or sntp_win.cc.

#include "agent/probes/sntp.h"

#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/error_catalogue.h"

namespace pkiwatch {
namespace {

// The Windows Sockets code of a failure travels with the Status as a
// payload, so the clock probe reports what a Windows client would see.
constexpr char kHresultPayload[] = "type.pkiwatch.dev/sntp.hresult";

absl::Status FromCoreError(absl::StatusCode code, const sntp::Error& error) {
  return WithSntpHresult(absl::Status(code, error.message), error.hresult);
}

}  // namespace

absl::Status WithSntpHresult(absl::Status status, uint32_t hresult) {
  status.SetPayload(kHresultPayload, absl::Cord(absl::StrCat(hresult)));
  return status;
}

NtpTimestamp ToNtpTimestamp(absl::Time t) {
  const int64_t unix_seconds = absl::ToUnixSeconds(t);  // floors
  const int64_t nanos = absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(unix_seconds));
  return sntp::ToNtpTimestamp(unix_seconds, static_cast<uint32_t>(nanos));
}

absl::StatusOr<SntpPacket> DecodeSntpPacket(std::string_view bytes) {
  sntp::Result<sntp::Packet> packet = sntp::DecodePacket(bytes);
  if (!packet.ok()) return FromCoreError(absl::StatusCode::kInvalidArgument, packet.error());
  return *std::move(packet);
}

absl::Status ValidateSntpReply(const SntpPacket& reply, NtpTimestamp sent) {
  if (std::optional<sntp::Error> invalid = sntp::ValidateReply(reply, sent); invalid.has_value()) {
    return FromCoreError(absl::StatusCode::kFailedPrecondition, *invalid);
  }
  return absl::OkStatus();
}

SntpOffset ComputeSntpOffset(NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3, NtpTimestamp t4) {
  const sntp::Offset o = sntp::ComputeOffset(t1, t2, t3, t4);
  return SntpOffset{absl::FromChrono(o.offset), absl::FromChrono(o.delay)};
}

absl::StatusOr<SntpServer> ParseSntpReference(std::string_view reference) {
  sntp::Result<sntp::Server> server = sntp::ParseReference(reference);
  if (!server.ok()) return FromCoreError(absl::StatusCode::kInvalidArgument, server.error());
  return *std::move(server);
}

SntpSample ToSntpSample(sntp::Sample sample) {
  SntpSample out;
  out.offset = absl::FromChrono(sample.offset);
  out.delay = absl::FromChrono(sample.delay);
  out.stratum = sample.stratum;
  out.leap = sample.leap;
  out.version = sample.version;
  out.server_address = std::move(sample.server_address);
  out.reference_id = std::move(sample.reference_id);
  return out;
}

uint32_t SntpErrorHresult(const absl::Status& status) {
  if (status.ok()) return hr::kSOk;
  if (auto payload = status.GetPayload(kHresultPayload); payload.has_value()) {
    uint32_t value = 0;
    if (absl::SimpleAtoi(std::string(*payload), &value)) return value;
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return hr::kEInvalidArg;
    case absl::StatusCode::kNotFound:
      return sntp_hr::kWsaHostNotFound;
    case absl::StatusCode::kDeadlineExceeded:
      return sntp_hr::kWsaETimedOut;
    case absl::StatusCode::kFailedPrecondition:
      return sntp_hr::kErrorInvalidData;
    default:
      return hr::kEFail;
  }
}

}  // namespace pkiwatch
