#include "agent/win/service_host.h"

#include <atomic>

#include "agent/win/strings.h"
#include "agent/win/win32.h"

namespace pkiwatch::win {

void StopSignal::Notify() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  changed_.notify_all();
}

bool StopSignal::stop_requested() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopped_;
}

bool StopSignal::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return stopped_; });
}

namespace {

// ServiceMain and the control handler get no user context from the SCM
// (the handler's context is ours, ServiceMain's is not), so the one service
// of this process lives here.
struct ServiceState {
  std::wstring name;
  ServiceBody body;
  StopSignal stop;
  SERVICE_STATUS_HANDLE handle = nullptr;
  std::mutex status_mutex;
  SERVICE_STATUS status{};
  Status error;  // a failure inside ServiceMain, reported by RunAsService
};
ServiceState* g_service = nullptr;

void Report(ServiceState* service, DWORD state, DWORD exit_code, DWORD wait_hint_ms) {
  std::lock_guard<std::mutex> lock(service->status_mutex);
  SERVICE_STATUS& s = service->status;
  s.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  s.dwCurrentState = state;
  s.dwControlsAccepted =
      state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  s.dwWin32ExitCode = exit_code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
  s.dwServiceSpecificExitCode = exit_code;
  s.dwWaitHint = wait_hint_ms;
  s.dwCheckPoint = (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : s.dwCheckPoint + 1;
  SetServiceStatus(service->handle, &s);
}

DWORD WINAPI ControlHandler(DWORD control, DWORD /*event_type*/, void* /*event_data*/,
                            void* context) {
  auto* service = static_cast<ServiceState*>(context);
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      Report(service, SERVICE_STOP_PENDING, 0, 30'000);
      service->stop.Notify();
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

void WINAPI ServiceMain(DWORD /*argc*/, wchar_t** /*argv*/) {
  ServiceState* service = g_service;
  service->handle =
      RegisterServiceCtrlHandlerExW(service->name.c_str(), &ControlHandler, service);
  if (service->handle == nullptr) {
    service->error = LastError("RegisterServiceCtrlHandlerExW", WideToUtf8(service->name));
    return;
  }
  Report(service, SERVICE_START_PENDING, 0, 10'000);
  Report(service, SERVICE_RUNNING, 0, 0);
  const int exit_code = service->body(service->stop);
  Report(service, SERVICE_STOPPED, static_cast<DWORD>(exit_code), 0);
}

std::atomic<StopSignal*> g_console_stop{nullptr};

BOOL WINAPI ConsoleHandler(DWORD event) {
  switch (event) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      if (StopSignal* stop = g_console_stop.load()) stop->Notify();
      return TRUE;
    default:
      return FALSE;
  }
}

}  // namespace

Status RunAsService(std::string_view name, ServiceBody body) {
  if (g_service != nullptr) {
    return Status::Error(0x8007139Fu /* ERROR_INVALID_STATE */,
                         "RunAsService(" + std::string(name) + "): a service already runs");
  }
  ServiceState service;
  service.name = Utf8ToWide(name);
  service.body = std::move(body);
  g_service = &service;
  SERVICE_TABLE_ENTRYW table[] = {{service.name.data(), &ServiceMain}, {nullptr, nullptr}};
  const BOOL dispatched = StartServiceCtrlDispatcherW(table);
  g_service = nullptr;
  if (!dispatched) return LastError("StartServiceCtrlDispatcherW", name);
  return service.error;
}

int RunInConsole(ServiceBody body) {
  StopSignal stop;
  g_console_stop.store(&stop);
  SetConsoleCtrlHandler(&ConsoleHandler, TRUE);
  const int exit_code = body(stop);
  SetConsoleCtrlHandler(&ConsoleHandler, FALSE);
  g_console_stop.store(nullptr);
  return exit_code;
}

}  // namespace pkiwatch::win
