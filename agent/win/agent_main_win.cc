// pkiwatch-agent.exe: the agent on Windows, built by the native build (MSVC +
// vcpkg, see README). The same runtime as on Linux (agent/core/agent_runtime)
// plus the event-log subscriptions and Group Policy.
//
//   pkiwatch-agent.exe service           run by the Service Control Manager
//                                        (the MSI installs it so)
//   pkiwatch-agent.exe install|uninstall the service, without the MSI
//   pkiwatch-agent.exe [flags]           in a console, Ctrl+C stops; the Linux
//                                        flags (--once, --import-events, ...)
//
// Configuration: the file (--config, else %ProgramData%\pkiwatch\agent.json),
// then Group Policy (HKLM\Software\Policies\pkiwatch\Agent), then flags. The
// state directory (default %ProgramData%\pkiwatch) gets a DACL for SYSTEM
// and Administrators only; as a service the agent logs to agent.log there.

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/notification.h"
#include "agent/core/agent_flags.h"
#include "agent/core/agent_policy.h"
#include "agent/core/agent_runtime.h"
#include "agent/core/config.h"
#include "agent/eventlog/event_channels.h"
#include "agent/probes/probe.h"
#include "agent/win/absl_status.h"
#include "agent/win/event_log.h"
#include "agent/win/files.h"
#include "agent/win/pki_settings.h"
#include "agent/win/service_host.h"
#include "agent/win/services.h"
#include "agent/win/strings.h"
#include "common/command_line.h"
#include "common/log.h"

namespace pkiwatch::agent {
namespace {

constexpr char kServiceName[] = "pkiwatch-agent";
constexpr size_t kMaxBackfill = 500;
// agent.log is started afresh beyond this size.
constexpr long kMaxLogBytes = 16l << 20;

// An event-log subscription as the runtime's event source; destroying it
// stops delivery and saves the bookmark.
class ChannelSource final : public EventSource {
 public:
  explicit ChannelSource(std::unique_ptr<win::EventSubscription> subscription)
      : subscription_(std::move(subscription)) {}

 private:
  std::unique_ptr<win::EventSubscription> subscription_;
};

absl::StatusOr<std::vector<std::unique_ptr<EventSource>>> StartChannels(
    const v1::AgentConfig& config, EventSource::Sink sink) {
  if (config.enable_capi2_operational()) {
    auto changed = win::EnableChannel(eventlog::kCapi2OperationalChannel);
    if (!changed.ok()) {
      LogWarning("cannot enable ", std::string(eventlog::kCapi2OperationalChannel), ": ",
                 changed.status().message());
    } else if (*changed) {
      LogInfo("enabled the event log ", std::string(eventlog::kCapi2OperationalChannel));
    }
  }
  std::vector<std::unique_ptr<EventSource>> sources;
  for (const eventlog::WatchedChannel& watched : eventlog::kWatchedChannels) {
    win::EventSubscription::Options options;
    options.channel = std::string(watched.channel);
    options.xpath = std::string(watched.query);
    options.bookmark_path = config.state_dir() + "\\" + std::string(watched.bookmark_name);
    options.max_backfill = kMaxBackfill;
    auto subscription = win::EventSubscription::Start(
        options, [sink](std::string xml) { sink(xml); });
    if (!subscription.ok()) {
      // A channel that is missing or off must not stop the rest.
      LogWarning("event log ", std::string(watched.channel), " not watched: ",
                 subscription.status().message());
      continue;
    }
    if (!(*subscription)->bookmark_warning().empty()) {
      LogWarning((*subscription)->bookmark_warning());
    }
    sources.push_back(std::make_unique<ChannelSource>(*std::move(subscription)));
  }
  return sources;
}

absl::StatusOr<v1::AgentConfig> WindowsConfig(const CommandLine& command_line,
                                              const std::string& program_data) {
  auto config = LoadConfigFromFlags(program_data + "\\pkiwatch\\agent.json");
  if (!config.ok()) return config.status();
  auto values = win::ReadAgentPolicyValues();
  if (!values.ok()) {
    if (values.status().code() != win::StatusCode::kNotFound) {
      LogWarning("Group Policy not read: ", values.status().message());
    }
  } else {
    // A policy that does not check out is reported and left out as a
    // whole; the agent keeps watching with the rest of its configuration.
    auto applied = ApplyAgentPolicy(*values, &*config);
    if (!applied.ok()) {
      LogError("Group Policy ", kAgentPolicyKey, " ignored: ", applied.status().message());
    } else {
      for (const std::string& warning : applied->warnings) LogWarning(warning);
    }
  }
  ApplyConfigFlags(command_line, &*config);
  if (config->state_dir().empty()) config->set_state_dir(program_data + "\\pkiwatch");
  ApplyDefaults(&*config);
  if (absl::Status s = ValidateConfig(*config); !s.ok()) return s;
  return config;
}

// As a service stderr goes nowhere: send it to the state directory.
void LogToFile(const std::string& state_dir) {
  const std::string path = state_dir + "\\agent.log";
  FILE* existing = std::fopen(path.c_str(), "rb");
  long size = 0;
  if (existing != nullptr) {
    std::fseek(existing, 0, SEEK_END);
    size = std::ftell(existing);
    std::fclose(existing);
  }
  if (std::freopen(path.c_str(), size > kMaxLogBytes ? "w" : "a", stderr) != nullptr) {
    std::setvbuf(stderr, nullptr, _IONBF, 0);
  }
}

int RunWindowsAgent(const CommandLine& command_line, bool as_service,
                    const win::StopSignal& stop_signal) {
  auto program_data = win::ProgramDataDirectory();
  if (!program_data.ok()) {
    LogError(program_data.status().message());
    return 2;
  }
  if (as_service) {
    // The default state directory exists before the configuration is read,
    // so that even a configuration error is logged somewhere.
    const std::string default_state = *program_data + "\\pkiwatch";
    if (win::EnsurePrivateDirectory(default_state).ok()) LogToFile(default_state);
  }
  auto config = WindowsConfig(command_line, *program_data);
  if (!config.ok()) {
    LogError(config.status().message());
    return 2;
  }
  if (win::Status s = win::EnsurePrivateDirectory(config->state_dir()); !s.ok()) {
    LogError("state directory: ", s.message());
    return 2;
  }
  auto options = RunOptionsFor(command_line, *config);
  if (!options.ok()) {
    LogError(options.status().message());
    return 2;
  }
  options->event_sources = StartChannels;

  absl::Notification stop;
  std::thread bridge([&stop_signal, &stop] {
    while (!stop_signal.WaitFor(std::chrono::milliseconds(500))) {
      if (stop.HasBeenNotified()) return;  // the run ended by itself (--once)
    }
    if (!stop.HasBeenNotified()) stop.Notify();
  });
  const int code = RunAgent(*options, stop);
  if (!stop.HasBeenNotified()) stop.Notify();
  bridge.join();
  return code;
}

int InstallOrUninstall(const std::string& mode) {
  if (mode == "uninstall") {
    win::Status s = win::UninstallService(kServiceName, std::chrono::seconds(30));
    if (!s.ok()) {
      std::fprintf(stderr, "pkiwatch-agent: %s\n", s.message().c_str());
      return 1;
    }
    return 0;
  }
  auto self = win::CurrentExecutablePath();
  if (!self.ok()) {
    std::fprintf(stderr, "pkiwatch-agent: %s\n", self.status().message().c_str());
    return 1;
  }
  win::ServiceInstallOptions options;
  options.name = kServiceName;
  options.display_name = "pkiwatch agent";
  options.description =
      "Watches this computer's PKI health (CRL/OCSP/AIA, autoenrollment, CAPI2 and enrollment "
      "events) and reports it to the pkiwatch collector.";
  options.executable = *self;
  options.arguments = {"service"};
  win::Status s = win::InstallService(options);
  if (!s.ok()) {
    std::fprintf(stderr, "pkiwatch-agent: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace pkiwatch::agent

int wmain(int argc, wchar_t** wargv) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) args.push_back(pkiwatch::win::WideToUtf8(wargv[i]));
  const std::string mode = args.size() > 1 ? args[1] : "";
  if (mode == "install" || mode == "uninstall") return pkiwatch::agent::InstallOrUninstall(mode);
  const bool as_service = mode == "service";
  if (as_service) args.erase(args.begin() + 1);

  absl::SetProgramUsageMessage(
      "pkiwatch-agent.exe [service | install | uninstall] [--config FILE] [--collector HOST:PORT] "
      "[--enroll-secret-file F] [--state-dir DIR] [--import-events FILE]... [--once]");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  pkiwatch::CommandLine command_line(static_cast<int>(argv.size()), argv.data());
  absl::ParseCommandLine(command_line.argc(), command_line.argv());
  if (pkiwatch::agent::ListProbesRequested()) {
    std::fputs(pkiwatch::FormatProbeTable().c_str(), stdout);
    return 0;
  }
  auto body = [&command_line, as_service](const pkiwatch::win::StopSignal& stop) {
    return pkiwatch::agent::RunWindowsAgent(command_line, as_service, stop);
  };
  if (!as_service) return pkiwatch::win::RunInConsole(body);
  pkiwatch::win::Status s = pkiwatch::win::RunAsService(pkiwatch::agent::kServiceName, body);
  if (!s.ok()) {
    std::fprintf(stderr, "pkiwatch-agent: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}
