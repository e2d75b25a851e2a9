#include "agent/core/agent_flags.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/core/config.h"
#include "agent/core/host_facts.h"

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

absl::StatusOr<v1::AgentConfig> LoadConfigFromFlags(const std::string& default_path) {
  std::string path = absl::GetFlag(FLAGS_config);
  std::error_code ec;
  if (path.empty() && !default_path.empty() && std::filesystem::exists(default_path, ec)) {
    path = default_path;
  }
  if (path.empty()) return v1::AgentConfig();
  return LoadConfigFile(path);
}

void ApplyConfigFlags(const CommandLine& command_line, v1::AgentConfig* config) {
  auto override_with = [](const std::string& flag, std::string* field) {
    if (!flag.empty()) *field = flag;
  };
  override_with(absl::GetFlag(FLAGS_collector), config->mutable_collector());
  override_with(absl::GetFlag(FLAGS_enroll_secret_file), config->mutable_enroll_secret_file());
  override_with(absl::GetFlag(FLAGS_state_dir), config->mutable_state_dir());
  override_with(absl::GetFlag(FLAGS_site), config->mutable_site());
  // Repeatable flags: every occurrence counts (see CommandLine).
  if (std::vector<std::string> urls = command_line.AllValues("watch-url"); !urls.empty()) {
    config->clear_crl_watches();
    for (std::string& url : urls) config->add_crl_watches()->set_url(std::move(url));
  }
  if (std::vector<std::string> dirs = command_line.AllValues("cert-dir"); !dirs.empty()) {
    config->clear_cert_dirs();
    for (std::string& dir : dirs) config->add_cert_dirs(std::move(dir));
  }
}

absl::StatusOr<AgentRunOptions> RunOptionsFor(const CommandLine& command_line,
                                              const v1::AgentConfig& config) {
  auto secret = ReadEnrollSecret(config.enroll_secret_file());
  if (!secret.ok()) return secret.status();
  AgentRunOptions options;
  options.config = config;
  options.enroll_secret = *std::move(secret);
  options.host = CollectHostFacts(config);
  options.once = absl::GetFlag(FLAGS_once);
  options.once_timeout = absl::Seconds(absl::GetFlag(FLAGS_once_timeout));
  options.import_files = command_line.AllValues("import-events");
  options.import_site = absl::GetFlag(FLAGS_import_site);
  return options;
}

bool ListProbesRequested() { return absl::GetFlag(FLAGS_list_probes); }

absl::StatusOr<std::string> ReadEnrollSecret(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read enroll secret file ", path));
  std::string line;
  std::getline(in, line);
  return std::string(absl::StripAsciiWhitespace(line));
}

}  // namespace pkiwatch::agent
