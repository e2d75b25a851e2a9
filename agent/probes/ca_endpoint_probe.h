// The CA endpoint probe: can this host reach its enterprise CAs the way
// autoenrollment does? Resolves the CA host, connects to the RPC endpoint
// mapper (TCP 135; DCOM enrollment starts there) and fetches the CA's HTTP
// enrollment URLs (CES, web enrollment). DOMAIN.md family C, case 2.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/probes/http_fetch.h"
#include "agent/probes/probe.h"
#include "agent/probes/probe_budget.h"
#include "pkiwatch/v1/config.pb.h"
#include "pkiwatch/v1/finding.pb.h"

namespace pkiwatch {

inline constexpr uint16_t kRpcEndpointMapperPort = 135;

// "host\CA Name" (as certutil -config and ICertRequest take it).
struct CaConfig {
  std::string host;
  std::string ca_name;
};

// Splits at the first backslash. InvalidArgument when there is none, the
// host or CA name is empty, or the host has characters no host name or IP
// literal has (spaces, '/', '@', '?', '#', brackets, control characters).
absl::StatusOr<CaConfig> ParseCaConfig(std::string_view config);

class CaEndpointProbe : public Probe {
 public:
  // Validates every service: config parses (ParseCaConfig) and is unique,
  // rpc_port is 0 (= 135) or at most 65535, every http_url normalizes to
  // http/https and is unique across all services. Errors: InvalidArgument
  // naming enrollment_services[i] and the field. `budget`: see RunBudget.
  static absl::StatusOr<std::unique_ptr<CaEndpointProbe>> Create(
      std::vector<v1::EnrollmentService> services, HttpOptions http,
      absl::Duration budget = kDefaultProbeBudget);

  const ProbeInfo& info() const override { return kCaEndpointProbeInfo; }

  // Per service, in configuration order: one finding for the RPC endpoint
  // mapper (target = the config string), then one per HTTP URL (target = the
  // normalized URL). TCP connects are bounded by HttpOptions.connect_timeout,
  // fetches by total_timeout. Targets not started because the run budget was
  // spent are PROBE_ERROR findings. Immutable after Create; thread-safe.
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override;

  // Finding targets in the order Run reports them.
  std::vector<std::string> targets() const;

 private:
  struct Service {
    std::string config;
    CaConfig parsed;
    uint16_t rpc_port = kRpcEndpointMapperPort;
    std::vector<std::string> urls;  // normalized
  };

  CaEndpointProbe(std::vector<Service> services, HttpOptions http, absl::Duration budget)
      : services_(std::move(services)), http_(std::move(http)), budget_(budget) {}

  const std::vector<Service> services_;
  const HttpOptions http_;
  const absl::Duration budget_;
};

// The pure parts. RPC endpoint mapper reached -> OK; name not resolved ->
// FAIL WSAHOST_NOT_FOUND (the code of the failed call, kept apart from the
// unreachable case so that a site's DNS problem shows as one; DCOM itself
// would surface it as RPC_S_SERVER_UNAVAILABLE, said in the detail); refused
// or timed out -> FAIL RPC_S_SERVER_UNAVAILABLE (what autoenrollment and
// certutil -ping report for an unreachable CA); local curl failure ->
// PROBE_ERROR. dimensions.ca = config.
v1::Finding MakeRpcEndpointFinding(std::string_view config, std::string_view host, uint16_t port,
                                   const TcpConnectResult& tcp, absl::Time observed_at);

// Any HTTP answer below 500 means reachable (401 is normal for CES) -> OK;
// 5xx -> FAIL E_FAIL (winerror.h has no HTTP_E_STATUS_* codes) with the
// status in the detail; transport failure -> FAIL WinHttpHresultForCurl;
// local curl failure -> PROBE_ERROR. url_kind ENROLLMENT, dimensions.ca =
// config.
v1::Finding MakeEnrollmentUrlFinding(std::string_view config, std::string_view normalized_url,
                                     const HttpResult& fetch, absl::Time observed_at);

}  // namespace pkiwatch
