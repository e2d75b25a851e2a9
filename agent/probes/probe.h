// The probe interface and the one place where every probe is declared (name,
// what it checks, the dimensions it fills, where it runs). Registration,
// `--list-probes`, the docs and the diag output all read this table.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

struct ProbeInfo {
  std::string_view name;        // Finding.probe, e.g. "crl"
  std::string_view checks;      // one line: what it checks
  std::string_view dimensions;  // Dimensions fields it fills, e.g. "url, ca"
  std::string_view platforms;   // "linux, windows"
};

struct ProbeContext {
  // Time the run was scheduled for. Probes evaluate validity against it and
  // stamp findings relative to it, so tests can run at a fixed time.
  absl::Time now;
};

class Probe {
 public:
  virtual ~Probe() = default;
  // One of the entries of AllProbeInfos(); static storage.
  virtual const ProbeInfo& info() const = 0;
  // One finding per target, in configuration order. Never throws; failures
  // of a target are findings (FAIL / PROBE_ERROR), not errors. Blocks for at
  // most the sum of the probe's per-target time budgets.
  virtual std::vector<v1::Finding> Run(const ProbeContext& ctx) = 0;
};

using ProbePtr = std::unique_ptr<Probe>;

// --- The declaration table. Add a probe here and nowhere else. ---

inline constexpr ProbeInfo kCrlProbeInfo{
    "crl",
    "fetches each configured CDP URL and checks the CRL: reachable, parses, issuer and "
    "signature, thisUpdate/nextUpdate (expired or expiring soon)",
    "url, url_kind (CDP or DELTA_CDP), ca, ca_key_id",
    "linux, windows",
};

inline constexpr const ProbeInfo* kAllProbeInfos[] = {
    &kCrlProbeInfo,
};

// Every declared probe, in declaration order.
absl::Span<const ProbeInfo* const> AllProbeInfos();

// The entry named `name`, or nullptr.
const ProbeInfo* FindProbeInfo(std::string_view name);

// A plain-text table of AllProbeInfos() for `--list-probes` and the docs:
// one block per probe with name, platforms, dimensions and what it checks.
std::string FormatProbeTable();

}  // namespace pkiwatch
