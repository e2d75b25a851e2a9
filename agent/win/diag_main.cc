// pkiwatch-diag: runs every native PKI check of the agent once on this
// machine and prints the verdicts - a table, or JSON with --json. Needs no
// collector, no configuration and no network beyond what the checks probe.
// Exit code 0 when it ran (whatever the verdicts), 2 on a usage error.

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "agent/win/diag_checks.h"
#include "agent/win/diag_report.h"
#include "agent/win/host_info.h"
#include "agent/win/strings.h"

#ifndef PKIWATCH_VERSION
#define PKIWATCH_VERSION "dev"
#endif

namespace pkiwatch::win {
namespace {

constexpr char kUsage[] =
    "usage: pkiwatch-diag [--json] [options]\n"
    "  --json                  print JSON instead of a table\n"
    "  --ca HOST\\CA-NAME       ping this CA over DCOM (repeatable; Group Policy's\n"
    "                          EnrollmentServices are added). Without any, the\n"
    "                          enterprise CAs published in Active Directory are pinged\n"
    "  --ldap-server HOST[:PORT]\n"
    "                          read them from this LDAP server instead of a DC of\n"
    "                          this computer's domain\n"
    "  --ldap-anonymous        no LDAP bind (test directories; AD needs the bind)\n"
    "  --ldap-timeout-ms N     bound for the LDAP connection, bind and each search\n"
    "                          (default 10000)\n"
    "  --task-folder PATH      folder of SystemTask/UserTask\n"
    "                          (default \\Microsoft\\Windows\\CertificateServicesClient)\n"
    "  --store NAME            certificate store to check (default My)\n"
    "  --current-user          use the CurrentUser store instead of LocalMachine\n"
    "  --no-network            no URL retrieval (chains use cached URLs only), no\n"
    "                          clock check\n"
    "  --ntp-server HOST[:PORT] time source for the clock check (default: the first\n"
    "                          peer of W32Time's NtpServer)\n"
    "  --url-timeout-ms N      bound for each URL retrieval and chain (default 10000)\n"
    "  --events-file PATH      parse the <Event> records of this file (XML, or an\n"
    "                          exported .evtx) instead of the live event logs\n"
    "  --max-events N          newest events read per channel (default 500)\n"
    "  --no-key-providers      skip the key provider checks\n"
    "  --version, --help\n";

bool ParseNumber(std::string_view text, size_t* out) {
  if (text.empty() || text.size() > 9) return false;
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  *out = value;
  return true;
}

int Usage(const std::string& error) {
  std::fprintf(stderr, "pkiwatch-diag: %s\n%s", error.c_str(), kUsage);
  return 2;
}

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

int Main(const std::vector<std::string>& args) {
  DiagOptions options;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string text;
    if (arg == "--json") {
      json = true;
    } else if (arg == "--help" || arg == "-h") {
      Print(kUsage);
      return 0;
    } else if (arg == "--version") {
      Print(std::string("pkiwatch-diag ") + PKIWATCH_VERSION + "\n");
      return 0;
    } else if (arg == "--ca") {
      if (!value(&text)) return Usage("--ca needs a value");
      options.ca_configs.push_back(text);
    } else if (arg == "--ldap-server") {
      if (!value(&options.ca_discovery.server) || options.ca_discovery.server.empty()) {
        return Usage("--ldap-server needs a value");
      }
    } else if (arg == "--ldap-anonymous") {
      options.ca_discovery.anonymous = true;
    } else if (arg == "--ldap-timeout-ms") {
      size_t ms = 0;
      if (!value(&text) || !ParseNumber(text, &ms) || ms == 0) {
        return Usage("--ldap-timeout-ms needs a positive number");
      }
      options.ca_discovery.timeout = std::chrono::milliseconds(ms);
    } else if (arg == "--task-folder") {
      if (!value(&options.task_folder)) return Usage("--task-folder needs a value");
    } else if (arg == "--store") {
      if (!value(&options.store)) return Usage("--store needs a value");
    } else if (arg == "--current-user") {
      options.store_location = StoreLocation::kCurrentUser;
    } else if (arg == "--no-network") {
      options.network = false;
    } else if (arg == "--ntp-server") {
      if (!value(&options.ntp_server) || options.ntp_server.empty()) {
        return Usage("--ntp-server needs a value");
      }
    } else if (arg == "--url-timeout-ms") {
      size_t ms = 0;
      if (!value(&text) || !ParseNumber(text, &ms) || ms == 0) {
        return Usage("--url-timeout-ms needs a positive number");
      }
      options.url_timeout = std::chrono::milliseconds(ms);
    } else if (arg == "--events-file") {
      if (!value(&options.events_file)) return Usage("--events-file needs a value");
    } else if (arg == "--max-events") {
      if (!value(&text) || !ParseNumber(text, &options.max_events)) {
        return Usage("--max-events needs a number");
      }
    } else if (arg == "--no-key-providers") {
      options.key_providers = false;
    } else {
      return Usage("unknown argument " + arg);
    }
  }

  const HostInfo host = CollectHostInfo();
  DiagHeader header;
  header.tool_version = PKIWATCH_VERSION;
  header.generated_at = FormatUnixSecondsUtc(static_cast<int64_t>(std::time(nullptr)));
  header.host = {{"hostname", host.hostname},
                 {"fqdn", host.fqdn},
                 {"domain", host.domain},
                 {"site", host.site},
                 {"os", host.product_name},
                 {"os_build", OsBuildString(host)}};
  if (!host.site_status.ok()) header.host.emplace_back("site_error", host.site_status.message());

  const std::vector<DiagVerdict> verdicts = RunDiagChecks(options);
  Print(json ? RenderJson(header, verdicts) : RenderTable(header, verdicts));
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace pkiwatch::win

// wmain: arguments arrive as UTF-16 whatever the console code page.
int wmain(int argc, wchar_t** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.push_back(pkiwatch::win::WideToUtf8(argv[i]));
  return pkiwatch::win::Main(args);
}
