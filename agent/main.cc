// pkiwatch-agent on Linux: runs the PKI probes on a schedule, spools every
// finding durably and streams it to the collector; replays exported Windows
// event logs with --import-events. SIGINT/SIGTERM stop it. (The Windows
// service is agent/win/agent_main_win.cc; both run agent/core's runtime.)

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/notification.h"
#include "agent/core/agent_flags.h"
#include "agent/core/agent_runtime.h"
#include "agent/core/config.h"
#include "agent/probes/probe.h"
#include "common/command_line.h"
#include "common/log.h"

namespace pkiwatch::agent {
namespace {

int Run(const CommandLine& command_line) {
  if (ListProbesRequested()) {
    std::cout << FormatProbeTable();
    return 0;
  }
  // SIGINT/SIGTERM are taken by a thread that stops the agent.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = LoadConfigFromFlags("");
  if (!config.ok()) {
    LogError(config.status().message());
    return 2;
  }
  ApplyConfigFlags(command_line, &*config);
  ApplyDefaults(&*config);
  if (absl::Status s = ValidateConfig(*config); !s.ok()) {
    LogError(s.message());
    return 2;
  }
  if (mkdir(config->state_dir().c_str(), 0700) != 0 && errno != EEXIST) {
    LogError("cannot create state directory ", config->state_dir(), ": ", std::strerror(errno));
    return 2;
  }
  auto options = RunOptionsFor(command_line, *config);
  if (!options.ok()) {
    LogError(options.status().message());
    return 2;
  }

  absl::Notification stop;
  std::thread signal_thread([&signals, &stop] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (signal_number != 0 && !stop.HasBeenNotified()) {
      LogInfo("signal ", signal_number, ": stopping");
      stop.Notify();
    }
  });
  const int code = RunAgent(*options, stop);
  if (!stop.HasBeenNotified()) {
    stop.Notify();
    pthread_kill(signal_thread.native_handle(), SIGTERM);  // wakes sigwait
  }
  signal_thread.join();
  return code;
}

}  // namespace
}  // namespace pkiwatch::agent

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "pkiwatch-agent --collector HOST:PORT --enroll-secret-file F --state-dir DIR "
      "[--watch-url URL]... [--cert-dir DIR]... [--config FILE] [--import-events FILE]... "
      "[--import-site SITE] [--once]");
  pkiwatch::CommandLine command_line(argc, argv);
  absl::ParseCommandLine(command_line.argc(), command_line.argv());
  return pkiwatch::agent::Run(command_line);
}
