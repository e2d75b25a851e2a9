// pkiwatch-agent: runs the PKI probes on a schedule, spools every finding
// durably and streams it to the collector.

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "agent/core/agent_runtime.h"
#include "agent/core/config.h"
#include "agent/core/host_facts.h"
#include "agent/probes/probe.h"
#include "common/command_line.h"
#include "common/log.h"

ABSL_FLAG(std::string, config, "", "AgentConfig as JSON (protobuf JSON mapping)");
ABSL_FLAG(std::string, collector, "", "Collector gRPC address HOST:PORT (overrides config)");
ABSL_FLAG(std::string, enroll_secret_file, "", "File holding the fleet's enroll secret");
ABSL_FLAG(std::string, state_dir, "", "Directory for the spool and the node identity");
ABSL_FLAG(std::vector<std::string>, watch_url, {},
          "CDP URL to probe; repeat the flag for several (replaces the config's list)");
ABSL_FLAG(std::vector<std::string>, cert_dir, {},
          "Folder of PEM/DER/PKCS#7 certificates for the chain, ocsp and aia probes; repeat the "
          "flag for several (replaces the config's certDirs)");
ABSL_FLAG(std::string, site, "", "Site label of this host (overrides config)");
ABSL_FLAG(bool, once, false,
          "Run every probe once, deliver the findings, exit 0 when all were acknowledged");
ABSL_FLAG(int, once_timeout, 120, "With --once: seconds to wait for the acknowledgements");
ABSL_FLAG(bool, list_probes, false, "Print the probes this agent has and exit");
ABSL_FLAG(std::vector<std::string>, import_events, {},
          "Exported event log to replay (wevtutil qe /f:xml output, UTF-8 or UTF-16, or .evtx); "
          "repeat the flag for several. Each computer in the records reports as a node of its "
          "own; delivery is awaited up to --once-timeout");
ABSL_FLAG(std::string, import_site, "", "Site label of the computers in --import-events files");

namespace pkiwatch::agent {
namespace {

absl::StatusOr<v1::AgentConfig> BuildConfig(const CommandLine& command_line) {
  v1::AgentConfig config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    auto loaded = LoadConfigFile(path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  auto override_with = [](const std::string& flag, std::string* field) {
    if (!flag.empty()) *field = flag;
  };
  override_with(absl::GetFlag(FLAGS_collector), config.mutable_collector());
  override_with(absl::GetFlag(FLAGS_enroll_secret_file), config.mutable_enroll_secret_file());
  override_with(absl::GetFlag(FLAGS_state_dir), config.mutable_state_dir());
  override_with(absl::GetFlag(FLAGS_site), config.mutable_site());
  if (std::vector<std::string> urls = command_line.AllValues("watch-url"); !urls.empty()) {
    config.clear_crl_watches();
    for (std::string& url : urls) config.add_crl_watches()->set_url(std::move(url));
  }
  if (std::vector<std::string> dirs = command_line.AllValues("cert-dir"); !dirs.empty()) {
    config.clear_cert_dirs();
    for (std::string& dir : dirs) config.add_cert_dirs(std::move(dir));
  }
  ApplyDefaults(&config);
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  return config;
}

absl::StatusOr<std::string> ReadSecret(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read enroll secret file ", path));
  std::string line;
  std::getline(in, line);
  return std::string(absl::StripAsciiWhitespace(line));
}

int Run(const CommandLine& command_line) {
  if (absl::GetFlag(FLAGS_list_probes)) {
    std::cout << FormatProbeTable();
    return 0;
  }
  // SIGINT/SIGTERM are taken by a thread that stops the agent.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = BuildConfig(command_line);
  if (!config.ok()) {
    LogError(config.status().message());
    return 2;
  }
  auto secret = ReadSecret(config->enroll_secret_file());
  if (!secret.ok()) {
    LogError(secret.status().message());
    return 2;
  }
  if (mkdir(config->state_dir().c_str(), 0700) != 0 && errno != EEXIST) {
    LogError("cannot create state directory ", config->state_dir(), ": ", std::strerror(errno));
    return 2;
  }
  AgentRunOptions options;
  options.config = *config;
  options.enroll_secret = *secret;
  options.host = CollectHostFacts(*config);
  options.once = absl::GetFlag(FLAGS_once);
  options.once_timeout = absl::Seconds(absl::GetFlag(FLAGS_once_timeout));
  options.import_files = command_line.AllValues("import-events");
  options.import_site = absl::GetFlag(FLAGS_import_site);

  absl::Notification stop;
  std::thread signal_thread([&signals, &stop] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (signal_number != 0 && !stop.HasBeenNotified()) {
      LogInfo("signal ", signal_number, ": stopping");
      stop.Notify();
    }
  });
  const int code = RunAgent(options, stop);
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
