#include "agent/win/time_settings.h"

#include "agent/win/registry.h"

namespace pkiwatch::win {

StatusOr<W32TimeSettings> ReadW32TimeSettings() {
  W32TimeSettings settings;
  auto key = RegistryKey::Open(RegistryRoot::kLocalMachine, kW32TimeParametersPath);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound) return settings;
    return key.status();
  }
  auto ntp_server = key->ReadString("NtpServer");
  if (!ntp_server.ok()) return ntp_server.status();
  settings.ntp_server = *ntp_server;
  auto type = key->ReadString("Type");
  if (!type.ok()) return type.status();
  settings.type = *type;
  return settings;
}

}  // namespace pkiwatch::win
