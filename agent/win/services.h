// Service Control Manager: the state of a service (CryptSvc, whose failure
// stops all chain building and autoenrollment), and install/uninstall/start/
// stop of the agent's own service.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/win/status.h"

namespace pkiwatch::win {

// Raw SERVICE_STATUS_PROCESS and QUERY_SERVICE_CONFIG fields.
struct ServiceState {
  std::string name;
  uint32_t current_state = 0;     // SERVICE_STOPPED (1) .. SERVICE_PAUSED (7)
  uint32_t start_type = 0;        // SERVICE_AUTO_START (2), DEMAND (3), DISABLED (4), ...
  uint32_t win32_exit_code = 0;
  uint32_t service_specific_exit_code = 0;
  uint32_t process_id = 0;
};

// "running", "stopped", "start_pending", ...; "unknown(<n>)" otherwise.
std::string ServiceStateName(uint32_t current_state);
// "auto", "demand", "disabled", "boot", "system"; "unknown(<n>)" otherwise.
std::string ServiceStartTypeName(uint32_t start_type);

// Errors: ERROR_SERVICE_DOES_NOT_EXIST (kNotFound), access denied.
StatusOr<ServiceState> QueryServiceState(std::string_view name);

struct ServiceInstallOptions {
  std::string name;               // e.g. "pkiwatch-agent"
  std::string display_name;
  std::string description;
  // The executable's full path and its arguments; quoted here, so paths with
  // spaces are safe.
  std::string executable;
  std::vector<std::string> arguments;
  bool auto_start = true;         // SERVICE_AUTO_START, else SERVICE_DEMAND_START
};

// CreateService as LocalSystem (own process), then the description and
// restart-on-failure actions (three restarts, 60 s apart). ERROR_SERVICE_EXISTS
// when it is installed already.
Status InstallService(const ServiceInstallOptions& options);
// Stops it (bounded wait) if running, then deletes it. OK when absent.
Status UninstallService(std::string_view name, std::chrono::milliseconds stop_timeout);
Status StartServiceByName(std::string_view name);
// Sends SERVICE_CONTROL_STOP and waits until SERVICE_STOPPED or `timeout`
// (ERROR_TIMEOUT). OK when already stopped.
Status StopService(std::string_view name, std::chrono::milliseconds timeout);
// Polls until the service reaches `state` or `timeout` passes.
Status WaitForServiceState(std::string_view name, uint32_t state,
                           std::chrono::milliseconds timeout);

// The command line of a service binary: each argument quoted per the MSVC
// CommandLineToArgvW rules.
std::string QuoteCommandLine(const std::vector<std::string>& arguments);

}  // namespace pkiwatch::win
