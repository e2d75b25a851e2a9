#include "agent/probes/clock_probe.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/probe_budget.h"
#include "common/error_catalogue.h"

namespace pkiwatch {
namespace {

constexpr size_t kMaxText = 1024;

}  // namespace

v1::Finding MakeClockFinding(std::string_view reference, const absl::StatusOr<SntpSample>& sample,
                             absl::Duration warn, absl::Duration fail, absl::Time observed_at,
                             absl::Duration duration) {
  v1::Finding f;
  f.set_probe(std::string(kClockProbeInfo.name));
  const std::string ref = OneLine(reference, kMaxText);
  f.set_target(ref);
  SetTimestamp(observed_at, f.mutable_observed_at());
  SetDuration(duration, f.mutable_duration());
  v1::ClockDetail* detail = f.mutable_clock();
  detail->set_reference(ref);

  if (!sample.ok()) {
    const std::string text = OneLine(std::string(sample.status().message()), kMaxText);
    f.set_status(v1::STATUS_PROBE_ERROR);
    *f.mutable_error() = MakeErrorInfo(SntpErrorHresult(sample.status()), text);
    f.set_summary(OneLine(absl::StrCat("clock not measured: reference ", ref, " unusable: ", text),
                          kMaxText));
    return f;
  }

  SetDuration(sample->offset, detail->mutable_offset());
  SetDuration(sample->delay, detail->mutable_round_trip_delay());
  detail->set_stratum(static_cast<uint32_t>(std::max(0, sample->stratum)));
  detail->set_server_address(OneLine(sample->server_address, kMaxText));
  detail->set_reference_id(OneLine(sample->reference_id, kMaxText));

  const absl::Duration skew = absl::AbsDuration(sample->offset);
  // The offset is reference - local: positive means this clock is behind.
  const std::string where = absl::StrFormat(
      "this clock is %s %s (offset %s, round trip %s, stratum %d from %s)",
      HumanDuration(skew), sample->offset >= absl::ZeroDuration() ? "behind" : "ahead",
      clock::FormatSignedOffset(absl::ToChronoNanoseconds(sample->offset)),
      HumanDuration(sample->delay), sample->stratum, sample->server_address);
  switch (clock::JudgeOffset(absl::ToChronoNanoseconds(sample->offset),
                             absl::ToChronoNanoseconds(warn), absl::ToChronoNanoseconds(fail))) {
    case clock::Skew::kBeyondKerberos: {
      f.set_status(v1::STATUS_FAIL);
      const std::string text = absl::StrCat(where, "; beyond ", HumanDuration(fail),
                                            " Kerberos (and with it DCOM enrollment, LDAP, SCEP) "
                                            "fails");
      *f.mutable_error() = MakeErrorInfo(clock::kSecETimeSkew, OneLine(text, kMaxText));
      f.set_summary(OneLine(absl::StrCat("clock skew: ", text), kMaxText));
      break;
    }
    case clock::Skew::kDrifting:
      f.set_status(v1::STATUS_WARN);
      f.set_summary(OneLine(absl::StrCat("clock drifting: ", where, "; warning above ",
                                         HumanDuration(warn), ", Kerberos fails above ",
                                         HumanDuration(fail)),
                            kMaxText));
      break;
    case clock::Skew::kInSync:
      f.set_status(v1::STATUS_OK);
      f.set_summary(OneLine(absl::StrCat("clock in sync: ", where), kMaxText));
      break;
  }
  return f;
}

absl::StatusOr<std::unique_ptr<ClockProbe>> ClockProbe::Create(const v1::ClockSettings& settings,
                                                               absl::Duration budget,
                                                               SntpOptions sntp) {
  absl::StatusOr<SntpServer> server = ParseSntpReference(settings.reference());
  if (!server.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("clock.reference: ", server.status().message()));
  }
  const absl::Duration warn = settings.warn_seconds() == 0 ? kDefaultClockWarn
                                                           : absl::Seconds(settings.warn_seconds());
  const absl::Duration fail = settings.fail_seconds() == 0 ? kDefaultClockFail
                                                           : absl::Seconds(settings.fail_seconds());
  if (warn > fail) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "clock.warn_seconds (%d) exceeds clock.fail_seconds (%d)", absl::ToInt64Seconds(warn),
        absl::ToInt64Seconds(fail)));
  }
  if (budget > absl::ZeroDuration()) sntp.timeout = std::min(sntp.timeout, budget);
  return std::unique_ptr<ClockProbe>(
      new ClockProbe(settings.reference(), warn, fail, sntp));
}

std::vector<v1::Finding> ClockProbe::Run(const ProbeContext& ctx) {
  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<SntpSample> sample = QuerySntp(reference_, sntp_);
  const absl::Duration took = absl::FromChrono(std::chrono::steady_clock::now() - start);
  std::vector<v1::Finding> findings;
  findings.push_back(MakeClockFinding(reference_, sample, warn_, fail_, ctx.now, took));
  return findings;
}

}  // namespace pkiwatch
