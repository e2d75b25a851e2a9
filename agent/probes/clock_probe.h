// The clock probe: this host's clock offset against an NTP/SNTP reference.
// Kerberos rejects tickets beyond a skew of 5 minutes, which breaks
// autoenrollment over DCOM, LDAP binds and SCEP alike (DOMAIN.md, A and B).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/probes/clock_skew.h"
#include "agent/probes/probe.h"
#include "agent/probes/sntp.h"
#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

inline constexpr absl::Duration kDefaultClockWarn = absl::Seconds(clock::kDefaultWarn.count());
inline constexpr absl::Duration kDefaultClockFail = absl::Seconds(clock::kDefaultFail.count());

class ClockProbe : public Probe {
 public:
  // `settings.reference` must parse (ParseSntpReference); zero thresholds
  // take the defaults (60 s, 300 s); warn must not exceed fail. The SNTP
  // query is limited to min(sntp.timeout, budget). Errors: InvalidArgument
  // naming the clock setting.
  static absl::StatusOr<std::unique_ptr<ClockProbe>> Create(const v1::ClockSettings& settings,
                                                            absl::Duration budget,
                                                            SntpOptions sntp = {});

  const ProbeInfo& info() const override { return kClockProbeInfo; }

  // One finding, target = the reference as configured. Immutable after
  // Create; Run may be called from several threads.
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override;

 private:
  ClockProbe(std::string reference, absl::Duration warn, absl::Duration fail, SntpOptions sntp)
      : reference_(std::move(reference)), warn_(warn), fail_(fail), sntp_(sntp) {}

  const std::string reference_;
  const absl::Duration warn_;
  const absl::Duration fail_;
  const SntpOptions sntp_;
};

// The pure part: one SNTP result -> finding (probe, target, observed_at,
// duration, status, error, clock detail, summary), judged by
// clock::JudgeOffset:
//  - |offset| > fail            -> FAIL SEC_E_TIME_SKEW (what SSPI returns when
//                                  Kerberos answers KRB_AP_ERR_SKEW);
//  - |offset| > warn            -> WARN;
//  - otherwise                  -> OK;
//  - no usable reply            -> PROBE_ERROR with SntpErrorHresult: an
//                                  unreachable reference says nothing about
//                                  this host's clock, so it must not count
//                                  as a clock failure in the fleet view.
v1::Finding MakeClockFinding(std::string_view reference, const absl::StatusOr<SntpSample>& sample,
                             absl::Duration warn, absl::Duration fail, absl::Time observed_at,
                             absl::Duration duration);

}  // namespace pkiwatch
