// Running the agent as a Windows service or in a console. The body of the
// program is the same in both: a function that runs until its StopSignal is
// notified (SERVICE_CONTROL_STOP / SHUTDOWN, or Ctrl+C in a console) and
// returns an exit code.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/win/status.h"

namespace pkiwatch::win {

// A one-shot stop request that any thread can wait for. Thread-safe.
class StopSignal {
 public:
  void Notify();
  bool stop_requested() const;
  // True when stop was requested within `timeout`.
  bool WaitFor(std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopped_ = false;  // guarded by mutex_
};

// Returns the process exit code / service exit code (0: success).
using ServiceBody = std::function<int(const StopSignal& stop)>;

// Connects to the Service Control Manager (StartServiceCtrlDispatcherW) and
// runs `body` as the service `name`: reports START_PENDING, RUNNING once
// `body` is running, STOP_PENDING on SERVICE_CONTROL_STOP/SHUTDOWN (and
// notifies the StopSignal), STOPPED with the body's exit code. Blocks until
// the service stopped. Only one service per process. When the process was
// not started by the SCM the error is ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
// (0x80070427): run in the console instead.
Status RunAsService(std::string_view name, ServiceBody body);

// Runs `body` in the console; Ctrl+C, Ctrl+Break and console close notify
// the StopSignal. Returns the body's exit code.
int RunInConsole(ServiceBody body);

}  // namespace pkiwatch::win
