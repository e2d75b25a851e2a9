// HostFacts on Windows (compiled into pkiwatch_agent_core by the native
// build, see agent/core/CMakeLists.txt): names, AD site and Windows version
// from agent/win/host_info.h, and the proxy as CAPI2 sees it (WinHTTP).

#include "agent/core/host_facts.h"
#include "agent/win/host_info.h"
#include "agent/win/winhttp_client.h"
#include "common/utf8.h"

namespace pkiwatch::agent {
namespace {

// WINHTTP_ACCESS_TYPE_NAMED_PROXY (winhttp.h).
constexpr uint32_t kWinHttpAccessNamedProxy = 3;

std::string ProxyDescription(const v1::AgentConfig& config) {
  if (config.http().no_proxy()) return "none";
  if (!config.http().proxy().empty()) return config.http().proxy();
  auto winhttp = win::GetWinHttpDefaultProxy();
  if (!winhttp.ok()) return "unknown (" + winhttp.status().message() + ")";
  if (winhttp->access_type == kWinHttpAccessNamedProxy && !winhttp->proxy.empty()) {
    return "winhttp " + winhttp->proxy;
  }
  return "direct";
}

}  // namespace

v1::HostFacts CollectHostFacts(const v1::AgentConfig& config) {
  const win::HostInfo info = win::CollectHostInfo();
  v1::HostFacts facts;
  facts.set_hostname(SanitizeUtf8(info.hostname, 255));
  facts.set_fqdn(SanitizeUtf8(info.fqdn.empty() ? info.hostname : info.fqdn, 255));
  facts.set_domain(SanitizeUtf8(info.domain, 255));
  // The AD site; the configured label only where AD has none.
  facts.set_site(SanitizeUtf8(info.site.empty() ? config.site() : info.site, 255));
  facts.set_os(SanitizeUtf8(info.product_name, 255));
  facts.set_os_build(SanitizeUtf8(win::OsBuildString(info), 255));
  facts.set_agent_version(PKIWATCH_VERSION);
  facts.set_proxy(SanitizeUtf8(ProxyDescription(config), 512));
  return facts;
}

}  // namespace pkiwatch::agent
