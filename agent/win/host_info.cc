#include "agent/win/host_info.h"

#include "agent/win/registry.h"
#include "agent/win/strings.h"
#include "agent/win/win32.h"

namespace pkiwatch::win {
namespace {

std::string ComputerName(COMPUTER_NAME_FORMAT format) {
  DWORD size = 0;
  GetComputerNameExW(format, nullptr, &size);
  if (size == 0) return std::string();
  std::wstring name(size, L'\0');
  if (!GetComputerNameExW(format, name.data(), &size)) return std::string();
  name.resize(size);
  return WideToUtf8(name);
}

}  // namespace

HostInfo CollectHostInfo() {
  HostInfo info;
  info.hostname = ComputerName(ComputerNameNetBIOS);
  info.fqdn = ComputerName(ComputerNameDnsFullyQualified);
  info.domain = ComputerName(ComputerNameDnsDomain);

  wchar_t* site = nullptr;
  const DWORD error = DsGetSiteNameW(nullptr, &site);
  if (error == ERROR_SUCCESS && site != nullptr) {
    info.site = WideToUtf8(site);
  } else {
    info.site_status = ApiError("DsGetSiteNameW", "", error);
  }
  if (site != nullptr) NetApiBufferFree(site);

  auto version =
      RegistryKey::Open(RegistryRoot::kLocalMachine, "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion");
  if (version.ok()) {
    auto read_string = [&](std::string_view name, std::string* out) {
      auto value = version->ReadString(name);
      if (value.ok() && value->has_value()) *out = **value;
    };
    read_string("ProductName", &info.product_name);
    read_string("DisplayVersion", &info.display_version);
    read_string("CurrentBuild", &info.current_build);
    if (info.current_build.empty()) read_string("CurrentBuildNumber", &info.current_build);
    auto major = version->ReadDword("CurrentMajorVersionNumber");
    auto minor = version->ReadDword("CurrentMinorVersionNumber");
    if (major.ok() && minor.ok() && major->has_value() && minor->has_value()) {
      info.version = std::to_string(**major) + "." + std::to_string(**minor);
    } else {
      read_string("CurrentVersion", &info.version);  // before Windows 10
    }
    auto ubr = version->ReadDword("UBR");
    if (ubr.ok()) info.ubr = *ubr;
  }
  return info;
}

std::string OsBuildString(const HostInfo& info) {
  if (info.current_build.empty()) return std::string();
  std::string build = info.version.empty() ? info.current_build
                                           : info.version + "." + info.current_build;
  if (info.ubr.has_value()) build += "." + std::to_string(*info.ubr);
  return build;
}

}  // namespace pkiwatch::win
