// pkiwatch-agent: runs the PKI probes on a schedule, spools every finding
// durably and streams it to the collector.

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/core/config.h"
#include "agent/core/event_import.h"
#include "agent/core/host_facts.h"
#include "agent/core/imported_delivery.h"
#include "agent/core/probe_set.h"
#include "agent/core/scheduler.h"
#include "agent/core/spool.h"
#include "agent/core/uplink.h"
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

// --import-events: replays the files into the imported computers' spools and
// delivers them. False when a file could not be read or something was left
// undelivered (it stays spooled for the next import run).
bool ImportEvents(const std::vector<std::string>& files, const v1::AgentConfig& config,
                  const std::string& secret) {
  const std::string root = config.state_dir() + "/imported";
  Spool::Options bounds;
  bounds.max_findings = config.spool().max_findings();
  bounds.max_bytes = config.spool().max_bytes();
  bool ok = true;
  for (const std::string& file : files) {
    EventImportOptions options;
    options.root = root;
    options.spool_bounds = bounds;
    auto report = ImportEventFile(file, options);
    if (!report.ok()) {
      LogError("import of ", file, " failed: ", report.status().message());
      ok = false;
      continue;
    }
    std::cout << FormatImportReport(file, *report) << std::flush;
  }
  ImportedDeliveryReport delivery;
  absl::Status s = DeliverImportedHosts(
      {.root = root,
       .spool_bounds = bounds,
       .collector = config.collector(),
       .enroll_secret = secret,
       .settings = config.uplink(),
       .site = absl::GetFlag(FLAGS_import_site)},
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_once_timeout)), &delivery);
  std::cout << "imported computers delivered: " << delivery.delivered << " of "
            << delivery.computers << ", findings left in their spools: " << delivery.findings_left
            << "\n" << std::flush;
  if (!s.ok()) {
    LogError("delivery of imported events: ", s.message());
    return false;
  }
  return ok;
}

int Run(const CommandLine& command_line) {
  if (absl::GetFlag(FLAGS_list_probes)) {
    std::cout << FormatProbeTable();
    return 0;
  }
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
  auto probes = BuildProbes(*config);
  if (!probes.ok()) {
    LogError(probes.status().message());
    return 2;
  }
  // An import on a machine with no probes of its own (an admin's box) ends
  // the run: that machine is not a node of the fleet. Otherwise the agent
  // goes on with its probes (once, with --once).
  const std::vector<std::string> imports = command_line.AllValues("import-events");
  if (!imports.empty()) {
    const bool imported = ImportEvents(imports, *config, *secret);
    if (probes->empty() || (!imported && absl::GetFlag(FLAGS_once))) return imported ? 0 : 1;
  }
  auto spool = Spool::Open({.path = config->state_dir() + "/spool.sqlite",
                            .max_findings = config->spool().max_findings(),
                            .max_bytes = config->spool().max_bytes()});
  if (!spool.ok()) {
    LogError(spool.status().message());
    return 1;
  }

  std::unique_ptr<Scheduler> scheduler;
  auto uplink = Uplink::Create(
      {.collector = config->collector(),
       .enroll_secret = *secret,
       .identity_path = config->state_dir() + "/node_identity.json",
       .host = CollectHostFacts(*config),
       .settings = config->uplink(),
       .on_command =
           [&scheduler](const v1::Command& command) {
             if (command.has_run_now() && scheduler != nullptr) {
               LogInfo("collector command ", command.command_id(), ": run probes now");
               scheduler->RunNow({command.run_now().probes().begin(),
                                  command.run_now().probes().end()});
             }
           }},
      spool->get());
  if (!uplink.ok()) {
    LogError(uplink.status().message());
    return 2;
  }
  scheduler = std::make_unique<Scheduler>(spool->get(), [&uplink] { (*uplink)->Notify(); });

  if (probes->empty()) LogWarning("no probes configured (e.g. --watch-url, --cert-dir, ndes, clock)");
  const size_t probe_count = probes->size();
  for (ScheduledProbe& p : *probes) {
    scheduler->Add(std::move(p.probe), p.interval, p.jitter);
  }

  if (absl::GetFlag(FLAGS_once)) {
    if (absl::Status s = scheduler->RunAllOnce(); !s.ok()) {
      LogError(s.message());
      return 1;
    }
    (*uplink)->Start();
    absl::Status drained =
        (*uplink)->WaitDrained(absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_once_timeout)));
    (*uplink)->Stop();
    if (!drained.ok()) {
      LogError(drained.message());
      return 1;
    }
    LogInfo("all findings acknowledged by the collector");
    return 0;
  }

  (*uplink)->Start();
  scheduler->Start();
  LogInfo("agent running: ", probe_count, " probes, collector ", config->collector());
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("signal ", signal_number, ": stopping");
  scheduler->Stop();
  (*uplink)->Stop();
  return 0;
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
