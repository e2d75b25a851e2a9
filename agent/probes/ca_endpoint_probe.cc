#include "agent/probes/ca_endpoint_probe.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/probe_budget.h"
#include "common/error_catalogue.h"
#include "common/url.h"

namespace pkiwatch {
namespace {

// WSAHOST_NOT_FOUND (winerror.h, Winsock 11001): what getaddrinfo /
// GetAddrInfoW return on Windows for a name that does not exist.
constexpr uint32_t kWsaHostNotFound = 0x80072AF9;
constexpr size_t kMaxText = 1024;
constexpr size_t kMaxDetail = 2048;

void SetFailure(v1::Finding& f, v1::Status status, uint32_t hresult, const std::string& detail,
                std::string_view summary_prefix) {
  const std::string clean = OneLine(detail, kMaxDetail);
  f.set_status(status);
  *f.mutable_error() = MakeErrorInfo(hresult, clean);
  f.set_summary(OneLine(absl::StrCat(std::string(summary_prefix), clean), kMaxText));
}

std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.1f ms", absl::ToDoubleMilliseconds(d));
}

}  // namespace

absl::StatusOr<CaConfig> ParseCaConfig(std::string_view config) {
  const size_t slash = config.find('\\');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        "CA config must be \"host\\CA name\" (no backslash found)");
  }
  CaConfig out{std::string(config.substr(0, slash)), std::string(config.substr(slash + 1))};
  if (out.host.empty()) return absl::InvalidArgumentError("CA config has an empty host");
  if (out.ca_name.empty()) return absl::InvalidArgumentError("CA config has an empty CA name");
  if (out.host.size() > 255) return absl::InvalidArgumentError("CA config host is too long");
  for (char c : out.host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '/' || c == '@' || c == '?' || c == '#' || c == '[' ||
        c == ']' || c == '\\') {
      return absl::InvalidArgumentError(
          absl::StrCat("CA config host \"", OneLine(out.host, 256),
                       "\" contains a character no host name or IP address has"));
    }
  }
  return out;
}

v1::Finding MakeRpcEndpointFinding(std::string_view config, std::string_view host, uint16_t port,
                                   const TcpConnectResult& tcp, absl::Time observed_at) {
  v1::Finding f;
  f.set_probe(std::string(kCaEndpointProbeInfo.name));
  const std::string cfg = OneLine(config, kMaxText);
  f.set_target(cfg);
  SetTimestamp(observed_at, f.mutable_observed_at());
  SetDuration(tcp.latency, f.mutable_duration());
  f.mutable_dimensions()->set_ca(cfg);
  v1::CaEndpointDetail* d = f.mutable_ca_endpoint();
  d->set_check("rpc");
  d->set_host(OneLine(host, kMaxText));
  d->set_port(port);
  d->set_address(OneLine(tcp.address, 64));
  SetDuration(tcp.name_lookup, d->mutable_dns_latency());
  if (tcp.ok()) SetDuration(tcp.connect, d->mutable_connect_latency());

  const std::string endpoint = absl::StrCat(std::string(host), ":", port);
  if (tcp.ok()) {
    f.set_status(v1::STATUS_OK);
    f.set_summary(OneLine(
        absl::StrCat("RPC endpoint mapper ", endpoint, " (", tcp.address, ") of ", cfg,
                     " reachable: DNS ", Ms(tcp.name_lookup), ", TCP connect ", Ms(tcp.connect)),
        kMaxText));
    return f;
  }
  const std::string curl_text = absl::StrCat("curl error ", tcp.curl_code, ": ", tcp.curl_error);
  if (IsLocalCurlFailure(tcp.curl_code)) {
    SetFailure(f, v1::STATUS_PROBE_ERROR,
               tcp.curl_code == CURLE_OUT_OF_MEMORY ? hr::kEOutOfMemory : hr::kEFail, curl_text,
               "CA endpoint probe could not run: ");
    return f;
  }
  if (tcp.curl_code == CURLE_COULDNT_RESOLVE_HOST) {
    SetFailure(f, v1::STATUS_FAIL, kWsaHostNotFound,
               absl::StrCat("name ", std::string(host), " does not resolve (", curl_text,
                            "); DCOM enrollment reports this as RPC_S_SERVER_UNAVAILABLE"),
               absl::StrCat("CA ", cfg, " unreachable: "));
    return f;
  }
  // Refused, timed out, unreachable network: the RPC runtime gives up with
  // RPC_S_SERVER_UNAVAILABLE in every one of these cases.
  SetFailure(f, v1::STATUS_FAIL, hr::kRpcSServerUnavailable,
             absl::StrCat("TCP connect to RPC endpoint mapper ", endpoint,
                          tcp.address.empty() ? "" : absl::StrCat(" (", tcp.address, ")"),
                          " failed: ", curl_text),
             absl::StrCat("CA ", cfg, " unreachable: "));
  return f;
}

v1::Finding MakeEnrollmentUrlFinding(std::string_view config, std::string_view normalized_url,
                                     const HttpResult& fetch, absl::Time observed_at) {
  v1::Finding f;
  f.set_probe(std::string(kCaEndpointProbeInfo.name));
  const std::string url = OneLine(normalized_url, kMaxUrlLength);
  f.set_target(url);
  SetTimestamp(observed_at, f.mutable_observed_at());
  SetDuration(fetch.latency, f.mutable_duration());
  v1::Dimensions* dims = f.mutable_dimensions();
  dims->set_ca(OneLine(config, kMaxText));
  dims->set_url(url);
  dims->set_url_kind(v1::URL_KIND_ENROLLMENT);
  v1::CaEndpointDetail* d = f.mutable_ca_endpoint();
  d->set_check("http");
  d->set_host(OneLine(UrlHost(url), kMaxText));
  d->set_address(OneLine(fetch.primary_ip, 64));
  d->set_http_status(static_cast<uint32_t>(std::max(0L, fetch.http_status)));

  if (fetch.curl_code != CURLE_OK) {
    const std::string curl_text =
        absl::StrCat("curl error ", fetch.curl_code, ": ", fetch.curl_error);
    if (IsLocalCurlFailure(fetch.curl_code)) {
      SetFailure(f, v1::STATUS_PROBE_ERROR,
                 fetch.curl_code == CURLE_OUT_OF_MEMORY ? hr::kEOutOfMemory : hr::kEFail,
                 curl_text, "CA endpoint probe could not run: ");
    } else {
      SetFailure(f, v1::STATUS_FAIL, WinHttpHresultForCurl(fetch.curl_code), curl_text,
                 "enrollment URL unreachable: ");
    }
    return f;
  }
  const std::string redirect_note =
      fetch.redirect_count > 0
          ? absl::StrCat(" after ", fetch.redirect_count, " redirect(s) to ",
                         OneLine(fetch.effective_url, kMaxText))
          : "";
  if (fetch.http_status >= 500) {
    SetFailure(f, v1::STATUS_FAIL, hr::kEFail,
               absl::StrCat("HTTP ", fetch.http_status, " from ",
                            OneLine(fetch.effective_url, kMaxText), redirect_note),
               "enrollment URL answers with a server error: ");
    return f;
  }
  f.set_status(v1::STATUS_OK);
  std::string note;
  if (fetch.http_status == 401) note = " (asks for authentication, as CES does)";
  f.set_summary(OneLine(absl::StrCat("enrollment URL reachable: HTTP ", fetch.http_status, note,
                                     redirect_note, " in ", Ms(fetch.latency)),
                        kMaxText));
  return f;
}

absl::StatusOr<std::unique_ptr<CaEndpointProbe>> CaEndpointProbe::Create(
    std::vector<v1::EnrollmentService> services, HttpOptions http, absl::Duration budget) {
  std::vector<Service> out;
  out.reserve(services.size());
  std::set<std::string> seen_configs;
  std::set<std::string> seen_urls;
  for (size_t i = 0; i < services.size(); ++i) {
    const v1::EnrollmentService& s = services[i];
    const std::string where = absl::StrFormat("enrollment_services[%d]", i);
    absl::StatusOr<CaConfig> parsed = ParseCaConfig(s.config());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".config \"",
                                                     OneLine(s.config(), kMaxText),
                                                     "\": ", parsed.status().message()));
    }
    if (!seen_configs.insert(s.config()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".config \"", OneLine(s.config(), kMaxText), "\": duplicate of an earlier one"));
    }
    if (s.rpc_port() > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".rpc_port ", s.rpc_port(), ": not a TCP port"));
    }
    Service service;
    // The config string is a finding target and a dimension: one clean line.
    service.config = OneLine(s.config(), kMaxText);
    service.parsed = std::move(*parsed);
    service.rpc_port =
        s.rpc_port() == 0 ? kRpcEndpointMapperPort : static_cast<uint16_t>(s.rpc_port());
    for (int j = 0; j < s.http_urls_size(); ++j) {
      const std::string field = absl::StrFormat("%s.http_urls[%d]", where, j);
      absl::StatusOr<std::string> url = NormalizeUrl(s.http_urls(j));
      if (!url.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, " \"", OneLine(s.http_urls(j), kMaxText), "\": ", url.status().message()));
      }
      if (!absl::StartsWith(*url, "http://") && !absl::StartsWith(*url, "https://")) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, " \"", OneLine(*url, kMaxText), "\": only http:// and https:// URLs"));
      }
      if (!seen_urls.insert(*url).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, " \"", OneLine(*url, kMaxText),
            "\": duplicate of an earlier URL (after normalization)"));
      }
      service.urls.push_back(std::move(*url));
    }
    out.push_back(std::move(service));
  }
  return std::unique_ptr<CaEndpointProbe>(
      new CaEndpointProbe(std::move(out), std::move(http), budget));
}

std::vector<v1::Finding> CaEndpointProbe::Run(const ProbeContext& ctx) {
  std::vector<v1::Finding> findings;
  const RunBudget budget(budget_);
  for (const Service& service : services_) {
    // RPC endpoint mapper first, then the HTTP URLs.
    if (budget.Spent()) {
      v1::Dimensions dims;
      dims.set_ca(OneLine(service.config, kMaxText));
      findings.push_back(MakeBudgetSkippedFinding(kCaEndpointProbeInfo.name, service.config,
                                                  ctx.now + budget.Elapsed(), budget.budget(),
                                                  dims));
    } else {
      const absl::Time at = ctx.now + budget.Elapsed();
      const TcpConnectResult tcp = TcpConnect(service.parsed.host, service.rpc_port, http_);
      findings.push_back(
          MakeRpcEndpointFinding(service.config, service.parsed.host, service.rpc_port, tcp, at));
    }
    for (const std::string& url : service.urls) {
      if (budget.Spent()) {
        v1::Dimensions dims;
        dims.set_ca(OneLine(service.config, kMaxText));
        dims.set_url(url);
        dims.set_url_kind(v1::URL_KIND_ENROLLMENT);
        findings.push_back(MakeBudgetSkippedFinding(kCaEndpointProbeInfo.name, url,
                                                    ctx.now + budget.Elapsed(), budget.budget(),
                                                    dims));
        continue;
      }
      const absl::Time at = ctx.now + budget.Elapsed();
      const HttpResult fetch = HttpGet(url, http_);
      findings.push_back(MakeEnrollmentUrlFinding(service.config, url, fetch, at));
    }
  }
  return findings;
}

std::vector<std::string> CaEndpointProbe::targets() const {
  std::vector<std::string> out;
  for (const Service& service : services_) {
    out.push_back(service.config);
    for (const std::string& url : service.urls) out.push_back(url);
  }
  return out;
}

}  // namespace pkiwatch
