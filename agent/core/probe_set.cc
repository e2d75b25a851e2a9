#include "agent/core/probe_set.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/core/config.h"
#include "agent/probes/aia_probe.h"
#include "agent/probes/ca_endpoint_probe.h"
#include "agent/probes/cert_source.h"
#include "agent/probes/chain_probe.h"
#include "agent/probes/clock_probe.h"
#include "agent/probes/crl_probe.h"
#include "agent/probes/ndes_probe.h"
#include "agent/probes/ocsp_probe.h"
#include "agent/probes/probe_budget.h"
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
  const absl::Duration budget = ProbeBudgetFromSeconds(config.probe_budget_seconds());

  if (config.crl_watches_size() > 0) {
    auto crl = CrlProbe::Create({config.crl_watches().begin(), config.crl_watches().end()},
                                config.crl(), http, budget);
    if (!crl.ok()) return Annotate(kCrlProbeInfo.name, crl.status());
    Schedule(config, *std::move(crl), &probes);
  }

  // Part A: the certificate folders feed three probes; each reads them
  // afresh on every run (renewed certificates are picked up).
  auto cert_source = [&config]() {
    return CertSource::Create({.dirs = {config.cert_dirs().begin(), config.cert_dirs().end()},
                               .trust_bundle_file = config.trust_bundle_file()});
  };
  if (config.cert_dirs_size() > 0) {
    auto source = cert_source();
    if (!source.ok()) return Annotate(kChainProbeInfo.name, source.status());
    ChainProbeOptions options;
    if (config.chain().expiry_warn_days() != 0) {
      options.expiry_warn = absl::Hours(24) * config.chain().expiry_warn_days();
    }
    options.fetch_aia = !config.chain().no_aia_fetch();
    if (config.chain().max_aia_fetches() != 0) {
      options.max_aia_fetches =
          static_cast<int>(std::min<uint32_t>(config.chain().max_aia_fetches(), 1000));
    }
    auto chain = ChainProbe::Create(*std::move(source), options,
                                    options.fetch_aia ? HttpIssuerFetcher(http) : IssuerFetcher(),
                                    budget);
    if (!chain.ok()) return Annotate(kChainProbeInfo.name, chain.status());
    Schedule(config, *std::move(chain), &probes);
  }

  if (config.cert_dirs_size() > 0) {
    auto source = cert_source();
    if (!source.ok()) return Annotate(kOcspProbeInfo.name, source.status());
    auto ocsp = OcspProbe::Create(*std::move(source), OcspProbeOptionsFromSettings(config.ocsp()),
                                  http, budget);
    if (!ocsp.ok()) return Annotate(kOcspProbeInfo.name, ocsp.status());
    Schedule(config, *std::move(ocsp), &probes);
  }

  if (config.cert_dirs_size() > 0) {
    auto source = cert_source();
    if (!source.ok()) return Annotate(kAiaProbeInfo.name, source.status());
    AiaProbeOptions options;
    if (config.aia().expiry_warn_days() != 0) {
      options.expiry_warn = absl::Hours(24) * config.aia().expiry_warn_days();
    }
    auto aia = AiaProbe::Create(*std::move(source), options, http, budget);
    if (!aia.ok()) return Annotate(kAiaProbeInfo.name, aia.status());
    Schedule(config, *std::move(aia), &probes);
  }

  if (config.ndes_size() > 0) {
    auto ndes = NdesProbe::Create({config.ndes().begin(), config.ndes().end()}, http, budget);
    if (!ndes.ok()) return Annotate(kNdesProbeInfo.name, ndes.status());
    Schedule(config, *std::move(ndes), &probes);
  }

  if (config.enrollment_services_size() > 0) {
    auto ca = CaEndpointProbe::Create(
        {config.enrollment_services().begin(), config.enrollment_services().end()}, http, budget);
    if (!ca.ok()) return Annotate(kCaEndpointProbeInfo.name, ca.status());
    Schedule(config, *std::move(ca), &probes);
  }

  if (!config.clock().reference().empty()) {
    auto clock = ClockProbe::Create(config.clock(), budget);
    if (!clock.ok()) return Annotate(kClockProbeInfo.name, clock.status());
    Schedule(config, *std::move(clock), &probes);
  }

  return probes;
}

}  // namespace pkiwatch::agent
