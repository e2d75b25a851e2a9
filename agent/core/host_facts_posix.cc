#include <netdb.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/core/host_facts.h"
#include "common/utf8.h"

namespace pkiwatch::agent {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string Fqdn(const std::string& hostname) {
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  addrinfo* result = nullptr;
  if (getaddrinfo(hostname.c_str(), nullptr, &hints, &result) != 0 || result == nullptr) {
    return hostname;
  }
  std::string fqdn = result->ai_canonname != nullptr ? result->ai_canonname : hostname;
  freeaddrinfo(result);
  return fqdn;
}

}  // namespace

v1::HostFacts CollectHostFacts(const v1::AgentConfig& config) {
  v1::HostFacts facts;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) facts.set_hostname(SanitizeUtf8(name, 255));
  facts.set_fqdn(SanitizeUtf8(Fqdn(facts.hostname()), 255));
  if (const size_t dot = facts.fqdn().find('.'); dot != std::string::npos) {
    facts.set_domain(facts.fqdn().substr(dot + 1));
  }
  utsname uts{};
  if (uname(&uts) == 0) {
    facts.set_os(SanitizeUtf8(absl::StrCat(uts.sysname, " ", uts.release), 255));
    facts.set_os_build(SanitizeUtf8(uts.version, 255));
  }
  facts.set_site(config.site());
  facts.set_agent_version(PKIWATCH_VERSION);
  std::string proxy = config.http().no_proxy() ? "none" : config.http().proxy();
  if (proxy.empty()) proxy = Env("https_proxy").empty() ? Env("http_proxy") : Env("https_proxy");
  facts.set_proxy(SanitizeUtf8(proxy.empty() ? "direct" : proxy, 512));
  return facts;
}

}  // namespace pkiwatch::agent
