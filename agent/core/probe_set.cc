#include "agent/core/probe_set.h"

#include "absl/strings/str_cat.h"
#include "agent/core/config.h"
#include "agent/probes/crl_probe.h"
#include "agent/probes/http_fetch.h"

namespace pkiwatch::agent {
namespace {

absl::Status Annotate(std::string_view probe, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat("probe ", std::string(probe), ": ", s.message()));
}

void Schedule(const v1::AgentConfig& config, ProbePtr probe,
              std::vector<ScheduledProbe>* out) {
  const v1::ProbeSchedule s = ScheduleFor(config, probe->info().name);
  out->push_back({std::move(probe), absl::Seconds(s.interval_seconds()),
                  absl::Seconds(s.jitter_seconds())});
}

}  // namespace

absl::StatusOr<std::vector<ScheduledProbe>> BuildProbes(const v1::AgentConfig& config) {
  std::vector<ScheduledProbe> probes;
  const HttpOptions http = HttpOptionsFromSettings(config.http());

  if (config.crl_watches_size() > 0) {
    auto crl = CrlProbe::Create({config.crl_watches().begin(), config.crl_watches().end()},
                                config.crl(), http);
    if (!crl.ok()) return Annotate(kCrlProbeInfo.name, crl.status());
    Schedule(config, *std::move(crl), &probes);
  }

  return probes;
}

}  // namespace pkiwatch::agent
