// What the collector needs to place this host: names, AD site, Windows
// version (raw strings; agent/win/host_facts_win.cc copies them into the
// protocol's HostFacts in the full agent).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/win/status.h"

namespace pkiwatch::win {

struct HostInfo {
  std::string hostname;            // NetBIOS name
  std::string fqdn;                // DNS fully qualified name
  std::string domain;              // DNS domain, empty when not joined
  std::string site;                // AD site (DsGetSiteNameW), empty when none
  Status site_status;              // why there is no site (ERROR_NO_SITENAME off-domain)
  // HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion
  std::string product_name;        // "Windows Server 2022 Datacenter"
  std::string display_version;     // "21H2" (absent on older releases)
  std::string version;             // "10.0" (major.minor)
  std::string current_build;       // "20348"
  std::optional<uint32_t> ubr;     // update build revision
};

// Never fails as a whole: missing parts stay empty.
HostInfo CollectHostInfo();

// "10.0.20348.1234" from the parts, or "" without a build.
std::string OsBuildString(const HostInfo& info);

}  // namespace pkiwatch::win
