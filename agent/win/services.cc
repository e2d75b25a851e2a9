#include "agent/win/services.h"

#include <thread>

#include "agent/win/handles.h"
#include "agent/win/strings.h"

namespace pkiwatch::win {
namespace {

StatusOr<UniqueScHandle> OpenManager(DWORD access) {
  UniqueScHandle manager(OpenSCManagerW(nullptr, nullptr, access));
  if (!manager) return LastError("OpenSCManagerW", "local");
  return manager;
}

StatusOr<UniqueScHandle> OpenServiceHandle(const UniqueScHandle& manager, std::string_view name,
                                           DWORD access) {
  const std::wstring wide = Utf8ToWide(name);
  UniqueScHandle service(OpenServiceW(manager.get(), wide.c_str(), access));
  if (!service) return LastError("OpenServiceW", name);
  return service;
}

StatusOr<SERVICE_STATUS_PROCESS> QueryStatus(const UniqueScHandle& service,
                                             std::string_view name) {
  SERVICE_STATUS_PROCESS status{};
  DWORD needed = 0;
  if (!QueryServiceStatusEx(service.get(), SC_STATUS_PROCESS_INFO,
                            reinterpret_cast<BYTE*>(&status), sizeof status, &needed)) {
    return LastError("QueryServiceStatusEx", name);
  }
  return status;
}

std::string Unknown(uint32_t value) { return "unknown(" + std::to_string(value) + ")"; }

// Quotes one argument so that CommandLineToArgvW gives it back unchanged.
std::string QuoteArgument(const std::string& argument) {
  if (!argument.empty() && argument.find_first_of(" \t\n\v\"") == std::string::npos) {
    return argument;
  }
  std::string quoted = "\"";
  size_t backslashes = 0;
  for (char c : argument) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    if (c == '"') {
      quoted.append(backslashes * 2 + 1, '\\');
    } else {
      quoted.append(backslashes, '\\');
    }
    backslashes = 0;
    quoted.push_back(c);
  }
  quoted.append(backslashes * 2, '\\');
  quoted.push_back('"');
  return quoted;
}

}  // namespace

std::string ServiceStateName(uint32_t state) {
  switch (state) {
    case SERVICE_STOPPED: return "stopped";
    case SERVICE_START_PENDING: return "start_pending";
    case SERVICE_STOP_PENDING: return "stop_pending";
    case SERVICE_RUNNING: return "running";
    case SERVICE_CONTINUE_PENDING: return "continue_pending";
    case SERVICE_PAUSE_PENDING: return "pause_pending";
    case SERVICE_PAUSED: return "paused";
    default: return Unknown(state);
  }
}

std::string ServiceStartTypeName(uint32_t start_type) {
  switch (start_type) {
    case SERVICE_BOOT_START: return "boot";
    case SERVICE_SYSTEM_START: return "system";
    case SERVICE_AUTO_START: return "auto";
    case SERVICE_DEMAND_START: return "demand";
    case SERVICE_DISABLED: return "disabled";
    default: return Unknown(start_type);
  }
}

StatusOr<ServiceState> QueryServiceState(std::string_view name) {
  auto manager = OpenManager(SC_MANAGER_CONNECT);
  if (!manager.ok()) return manager.status();
  auto service = OpenServiceHandle(*manager, name, SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG);
  if (!service.ok()) return service.status();
  auto status = QueryStatus(*service, name);
  if (!status.ok()) return status.status();

  ServiceState state;
  state.name = std::string(name);
  state.current_state = status->dwCurrentState;
  state.win32_exit_code = status->dwWin32ExitCode;
  state.service_specific_exit_code = status->dwServiceSpecificExitCode;
  state.process_id = status->dwProcessId;

  DWORD needed = 0;
  QueryServiceConfigW(service->get(), nullptr, 0, &needed);
  if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || needed == 0) {
    return LastError("QueryServiceConfigW", name);
  }
  // QUERY_SERVICE_CONFIGW plus its strings; allocated as DWORD-aligned
  // storage.
  std::vector<uint64_t> buffer((needed + sizeof(uint64_t) - 1) / sizeof(uint64_t));
  auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
  if (!QueryServiceConfigW(service->get(), config, needed, &needed)) {
    return LastError("QueryServiceConfigW", name);
  }
  state.start_type = config->dwStartType;
  return state;
}

std::string QuoteCommandLine(const std::vector<std::string>& arguments) {
  std::string line;
  for (const std::string& argument : arguments) {
    if (!line.empty()) line.push_back(' ');
    line += QuoteArgument(argument);
  }
  return line;
}

Status InstallService(const ServiceInstallOptions& options) {
  auto manager = OpenManager(SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
  if (!manager.ok()) return manager.status();
  std::vector<std::string> command{options.executable};
  command.insert(command.end(), options.arguments.begin(), options.arguments.end());
  const std::wstring name = Utf8ToWide(options.name);
  const std::wstring display = Utf8ToWide(options.display_name);
  const std::wstring command_line = Utf8ToWide(QuoteCommandLine(command));
  // Account nullptr = LocalSystem.
  UniqueScHandle service(CreateServiceW(
      manager->get(), name.c_str(), display.c_str(), SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
      options.auto_start ? SERVICE_AUTO_START : SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL,
      command_line.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr));
  if (!service) return LastError("CreateServiceW", options.name);

  if (!options.description.empty()) {
    std::wstring description = Utf8ToWide(options.description);
    SERVICE_DESCRIPTIONW info{description.data()};
    if (!ChangeServiceConfig2W(service.get(), SERVICE_CONFIG_DESCRIPTION, &info)) {
      return LastError("ChangeServiceConfig2W(SERVICE_CONFIG_DESCRIPTION)", options.name);
    }
  }
  SC_ACTION actions[3] = {{SC_ACTION_RESTART, 60'000},
                          {SC_ACTION_RESTART, 60'000},
                          {SC_ACTION_RESTART, 60'000}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 24 * 3600;
  failure.cActions = 3;
  failure.lpsaActions = actions;
  if (!ChangeServiceConfig2W(service.get(), SERVICE_CONFIG_FAILURE_ACTIONS, &failure)) {
    return LastError("ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS)", options.name);
  }
  return Status();
}

Status StartServiceByName(std::string_view name) {
  auto manager = OpenManager(SC_MANAGER_CONNECT);
  if (!manager.ok()) return manager.status();
  auto service = OpenServiceHandle(*manager, name, SERVICE_START);
  if (!service.ok()) return service.status();
  if (!StartServiceW(service->get(), 0, nullptr)) {
    if (GetLastError() == ERROR_SERVICE_ALREADY_RUNNING) return Status();
    return LastError("StartServiceW", name);
  }
  return Status();
}

Status WaitForServiceState(std::string_view name, uint32_t state,
                           std::chrono::milliseconds timeout) {
  auto manager = OpenManager(SC_MANAGER_CONNECT);
  if (!manager.ok()) return manager.status();
  auto service = OpenServiceHandle(*manager, name, SERVICE_QUERY_STATUS);
  if (!service.ok()) return service.status();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint32_t last = 0;
  while (true) {
    auto status = QueryStatus(*service, name);
    if (!status.ok()) return status.status();
    last = status->dwCurrentState;
    if (last == state) return Status();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ApiError("WaitForServiceState",
                  std::string(name) + " to be " + ServiceStateName(state) + ", still " +
                      ServiceStateName(last),
                  ERROR_TIMEOUT);
}

Status StopService(std::string_view name, std::chrono::milliseconds timeout) {
  auto manager = OpenManager(SC_MANAGER_CONNECT);
  if (!manager.ok()) return manager.status();
  auto service = OpenServiceHandle(*manager, name, SERVICE_STOP | SERVICE_QUERY_STATUS);
  if (!service.ok()) return service.status();
  SERVICE_STATUS status{};
  if (!ControlService(service->get(), SERVICE_CONTROL_STOP, &status)) {
    if (GetLastError() == ERROR_SERVICE_NOT_ACTIVE) return Status();
    return LastError("ControlService(SERVICE_CONTROL_STOP)", name);
  }
  return WaitForServiceState(name, SERVICE_STOPPED, timeout);
}

Status UninstallService(std::string_view name, std::chrono::milliseconds stop_timeout) {
  auto manager = OpenManager(SC_MANAGER_CONNECT);
  if (!manager.ok()) return manager.status();
  auto service = OpenServiceHandle(*manager, name, DELETE | SERVICE_STOP | SERVICE_QUERY_STATUS);
  if (!service.ok()) {
    if (service.status().hresult() == HresultFromWin32(ERROR_SERVICE_DOES_NOT_EXIST)) {
      return Status();
    }
    return service.status();
  }
  if (Status stopped = StopService(name, stop_timeout); !stopped.ok()) return stopped;
  if (!DeleteService(service->get())) {
    if (GetLastError() == ERROR_SERVICE_MARKED_FOR_DELETE) return Status();
    return LastError("DeleteService", name);
  }
  return Status();
}

}  // namespace pkiwatch::win
