// pkiwatchctl: asks a collector's QueryService and prints the answer as a
// table, CSV, or the protobuf JSON mapping (the same JSON as the HTTP API).

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collector/query/pattern_query.h"
#include "common/command_line.h"
#include "google/protobuf/util/json_util.h"
#include "pkiwatch/v1/query.grpc.pb.h"

ABSL_FLAG(std::string, collector, "127.0.0.1:7300", "Collector gRPC address HOST:PORT");
ABSL_FLAG(std::string, by, "url",
          "patterns, hosts, run-now: group by url, ca, template, error, site or host");
ABSL_FLAG(std::string, key, "", "hosts, run-now: the pattern's key (a URL, CA, ...)");
ABSL_FLAG(std::vector<std::string>, node, {}, "run-now: node ids (comma-separated)");
ABSL_FLAG(std::vector<std::string>, probes, {}, "run-now: probes to run (default all)");
ABSL_FLAG(std::string, format, "table", "Output: table, csv or json");
ABSL_FLAG(bool, all, false, "patterns: include groups where nothing fails");
ABSL_FLAG(bool, failing, false, "hosts: only hosts failing in the pattern");
ABSL_FLAG(uint32_t, max_age, 0,
          "patterns: window in seconds (0: every current result); url: history (0: 7 days)");
ABSL_FLAG(uint32_t, within, 0, "expiring: horizon in seconds (default 14 days)");
ABSL_FLAG(std::string, tls_ca_file, "", "PEM CA bundle: connect with TLS");
ABSL_FLAG(int, timeout, 30, "RPC deadline in seconds");

namespace pkiwatch {
namespace {

using Table = std::vector<std::vector<std::string>>;

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

std::string Left(int64_t seconds) {
  const absl::Duration d = absl::Seconds(seconds);
  if (seconds < 0) return absl::StrCat("expired ", absl::FormatDuration(-d), " ago");
  return absl::FormatDuration(absl::Trunc(d, absl::Minutes(1)));
}

std::string BlameName(v1::Blame b) {
  switch (b) {
    case v1::BLAME_ENDPOINT: return "endpoint/CA";
    case v1::BLAME_NETWORK_SEGMENT: return "network segment";
    case v1::BLAME_CLIENT: return "client";
    case v1::BLAME_UNDETERMINED: return "undetermined";
    default: return "-";
  }
}

std::string Csv(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void Print(const Table& table, const std::string& format) {
  if (format == "csv") {
    for (const auto& row : table) {
      std::vector<std::string> cells;
      for (const auto& c : row) cells.push_back(Csv(c));
      std::cout << absl::StrJoin(cells, ",") << "\n";
    }
    return;
  }
  std::vector<size_t> width(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : table) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&line, row[c]);
      if (c + 1 < row.size()) line.append(width[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

// --by as a GroupBy; prints the error and returns nullopt when unknown.
std::optional<v1::GroupBy> GroupByFlag() {
  auto group = query::ParseGroupBy(absl::GetFlag(FLAGS_by));
  if (!group.ok()) {
    std::cerr << "pkiwatchctl: " << group.status().message() << "\n";
    return std::nullopt;
  }
  return *group;
}

class Ctl {
 public:
  explicit Ctl(std::unique_ptr<v1::QueryService::Stub> stub) : stub_(std::move(stub)) {}

  int Patterns();
  int Hosts();
  int Host(const std::string& id);
  int Expiring();
  int Url(const std::string& url);
  int RunNow();
  int Command(const std::string& id);

 private:
  // Calls one RPC with the deadline; prints the error and returns false.
  template <typename Request, typename Response, typename Method>
  bool Call(const char* name, Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(absl::GetFlag(FLAGS_timeout)));
    grpc::Status status = (stub_.get()->*method)(&context, request, response);
    if (!status.ok()) {
      std::cerr << "pkiwatchctl: " << name << " from " << absl::GetFlag(FLAGS_collector) << ": "
                << status.error_message() << " (gRPC code " << status.error_code() << ")\n";
      return false;
    }
    return true;
  }
  // JSON output is the protobuf JSON mapping, whatever the command.
  bool MaybeJson(const google::protobuf::Message& m) {
    if (absl::GetFlag(FLAGS_format) != "json") return false;
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(m, &json, options);
    std::cout << json;
    return true;
  }

  std::unique_ptr<v1::QueryService::Stub> stub_;
};

int Ctl::Patterns() {
  const std::string by = absl::GetFlag(FLAGS_by);
  auto group = GroupByFlag();
  if (!group.has_value()) return 2;
  v1::ListPatternsRequest request;
  request.set_by(*group);
  request.set_include_healthy(absl::GetFlag(FLAGS_all));
  request.set_max_age_seconds(absl::GetFlag(FLAGS_max_age));
  request.set_page_size(1000);
  v1::ListPatternsResponse response;
  if (!Call("ListPatterns", &v1::QueryService::Stub::ListPatterns, request, &response)) return 1;
  if (MaybeJson(response)) return 0;
  Table table = {{by, "FAILING", "WARN", "HOSTS", "SHARE", "FIRST SEEN", "LAST SEEN", "TOP ERROR",
                  "BLAME"}};
  for (const v1::Pattern& p : response.patterns()) {
    std::string top = "-";
    if (p.top_errors_size() > 0) {
      const v1::ErrorCount& e = p.top_errors(0);
      top = absl::StrFormat("%s (0x%08X) x%d", e.error().symbolic_name(), e.error().hresult(),
                            e.hosts());
    }
    table.push_back({p.key(), absl::StrCat(p.failing_hosts()), absl::StrCat(p.warning_hosts()),
                     absl::StrCat(p.total_hosts()),
                     absl::StrFormat("%.0f%%", p.failing_share() * 100), Time(p.first_seen()),
                     Time(p.last_seen()), top, BlameName(p.blame().blame())});
  }
  Print(table, absl::GetFlag(FLAGS_format));
  if (absl::GetFlag(FLAGS_format) == "table") {
    if (response.patterns_size() == 0) std::cout << "(no failing " << by << ")\n";
    for (const v1::Pattern& p : response.patterns()) {
      if (p.failing_hosts() == 0) continue;
      std::cout << "\n" << p.key() << ": " << BlameName(p.blame().blame());
      if (!p.blame().reason().empty()) std::cout << " — " << p.blame().reason();
      std::cout << "\n";
      for (const std::string& step : p.next_steps()) std::cout << "  - " << step << "\n";
    }
  }
  return 0;
}

int Ctl::Hosts() {
  v1::ListHostsRequest request;
  request.set_key(absl::GetFlag(FLAGS_key));
  if (!request.key().empty()) {
    auto group = GroupByFlag();
    if (!group.has_value()) return 2;
    request.set_by(*group);
  }
  request.set_failing_only(absl::GetFlag(FLAGS_failing));
  request.set_page_size(1000);
  v1::ListHostsResponse response;
  if (!Call("ListHosts", &v1::QueryService::Stub::ListHosts, request, &response)) return 1;
  if (MaybeJson(response)) return 0;
  Table table = {{"HOST", "NODE", "SITE", "FAILING", "WARN", "RESULTS", "LAST SEEN", "DROPPED"}};
  for (const v1::HostSummary& h : response.hosts()) {
    table.push_back({h.hostname(), h.node_id(), h.site(), absl::StrCat(h.failing()),
                     absl::StrCat(h.warning()), absl::StrCat(h.total()), Time(h.last_seen()),
                     absl::StrCat(h.spool_dropped_total())});
  }
  Print(table, absl::GetFlag(FLAGS_format));
  return 0;
}

int Ctl::Host(const std::string& id) {
  v1::GetHostRequest request;
  if (id.size() == 36 && id[8] == '-') {
    request.set_node_id(id);
  } else {
    request.set_hostname(id);
  }
  v1::GetHostResponse response;
  if (!Call("GetHost", &v1::QueryService::Stub::GetHost, request, &response)) return 1;
  if (MaybeJson(response)) return 0;
  const v1::HostSummary& h = response.host();
  if (absl::GetFlag(FLAGS_format) == "table") {
    std::cout << h.hostname() << " (" << h.node_id() << "), site " << h.site() << ", "
              << h.os() << ", agent " << h.agent_version() << ", last seen "
              << Time(h.last_seen()) << "\n\n";
  }
  Table table = {{"PROBE", "TARGET", "STATUS", "SINCE", "ERROR", "SUMMARY"}};
  for (const v1::HostResult& r : response.results()) {
    table.push_back({r.probe(), r.target(), v1::Status_Name(r.status()).substr(7),
                     Time(r.status_since()),
                     r.error().hresult() == 0 ? "-" : r.error().symbolic_name(), r.summary()});
  }
  Print(table, absl::GetFlag(FLAGS_format));
  return 0;
}

int Ctl::Url(const std::string& url) {
  v1::GetUrlRequest request;
  request.set_url(url);
  request.set_max_age_seconds(absl::GetFlag(FLAGS_max_age));
  v1::GetUrlResponse response;
  if (!Call("GetUrl", &v1::QueryService::Stub::GetUrl, request, &response)) return 1;
  if (MaybeJson(response)) return 0;
  const std::string format = absl::GetFlag(FLAGS_format);
  const bool table = format == "table";
  if (table) {
    std::cout << response.url() << ": " << response.failing_hosts() << " of "
              << response.total_hosts() << " hosts failing, " << response.warning_hosts()
              << " warning now";
    for (const v1::ErrorCount& e : response.top_errors()) {
      std::cout << "; " << e.error().symbolic_name() << " x" << e.hosts();
    }
    std::cout << "\n\n";
  }
  Table sites = {{"SITE", "FAILING", "HOSTS"}};
  for (const v1::SiteCount& s : response.sites()) {
    sites.push_back({s.site(), absl::StrCat(s.failing_hosts()), absl::StrCat(s.total_hosts())});
  }
  Print(sites, format);
  if (table) std::cout << "\n";
  Table crls = {{"CRL NUMBER", "THIS UPDATE", "NEXT UPDATE", "DELTA", "FIRST SEEN", "LAST SEEN",
                 "HOSTS NOW", "LAPSED"}};
  for (const v1::CrlVersion& v : response.crl_versions()) {
    crls.push_back({v.crl_number().empty() ? "-" : v.crl_number(), Time(v.this_update()),
                    v.has_next_update() ? Time(v.next_update()) : "-", v.is_delta() ? "yes" : "no",
                    Time(v.first_seen()), Time(v.last_seen()), absl::StrCat(v.hosts_now()),
                    v.lapsed() ? "LAPSED" : "-"});
  }
  if (crls.size() > 1) {
    Print(crls, format);
    if (table) std::cout << "\n";
  }
  Table hours = {{"HOUR", "OK", "WARN", "FAIL", "TOP ERROR"}};
  for (const v1::UrlTimelineBucket& b : response.timeline()) {
    hours.push_back({Time(b.start()), absl::StrCat(b.ok_findings()),
                     absl::StrCat(b.warning_findings()), absl::StrCat(b.failing_findings()),
                     b.has_top_error() ? b.top_error().symbolic_name() : "-"});
  }
  Print(hours, format);
  return 0;
}

int Ctl::Expiring() {
  v1::ListExpiringRequest request;
  request.set_within_seconds(absl::GetFlag(FLAGS_within));
  v1::ListExpiringResponse response;
  if (!Call("ListExpiring", &v1::QueryService::Stub::ListExpiring, request, &response)) return 1;
  if (MaybeJson(response)) return 0;
  Table table = {{"KIND", "NAME", "CA", "EXPIRES", "LEFT", "HOSTS", "SITES BEHIND"}};
  for (const v1::ExpiringCrl& c : response.crls()) {
    table.push_back({"crl", c.url(), c.ca(), Time(c.next_update()), Left(c.seconds_left()),
                     absl::StrCat(c.hosts()),
                     c.sites_behind().empty() ? "-" : absl::StrJoin(c.sites_behind(), " ")});
  }
  for (const v1::ExpiringCert& c : response.certs()) {
    table.push_back({absl::StrCat("cert (", c.probe(), ")"), c.subject(), c.ca(),
                     Time(c.not_after()), Left(c.seconds_left()), absl::StrCat(c.hosts()), "-"});
  }
  Print(table, absl::GetFlag(FLAGS_format));
  return 0;
}

int Ctl::RunNow() {
  v1::RunNowRequest request;
  request.set_key(absl::GetFlag(FLAGS_key));
  if (!request.key().empty()) {
    auto group = GroupByFlag();
    if (!group.has_value()) return 2;
    request.set_by(*group);
  }
  for (const std::string& n : absl::GetFlag(FLAGS_node)) request.add_node_ids(n);
  for (const std::string& p : absl::GetFlag(FLAGS_probes)) request.add_probes(p);
  v1::RunNowResponse response;
  if (!Call("RunNow", &v1::QueryService::Stub::RunNow, request, &response)) return 1;
  if (MaybeJson(response)) return 0;
  std::cout << "command " << response.command_id() << " sent to " << response.targeted_hosts()
            << " hosts; follow it with: pkiwatchctl command " << response.command_id() << "\n";
  return 0;
}

int Ctl::Command(const std::string& id) {
  v1::GetCommandRequest request;
  request.set_command_id(id);
  v1::CommandStatus response;
  if (!Call("GetCommand", &v1::QueryService::Stub::GetCommand, request, &response)) return 1;
  if (MaybeJson(response)) return 0;
  Print({{"COMMAND", "CREATED", "TARGETED", "SENT", "ACKED", "RESULTS IN", "STILL FAILING"},
         {response.command_id(), Time(response.created_at()), absl::StrCat(response.targeted()),
          absl::StrCat(response.sent()), absl::StrCat(response.acknowledged()),
          absl::StrCat(response.results_in()), absl::StrCat(response.still_failing())}},
        absl::GetFlag(FLAGS_format));
  return 0;
}

std::shared_ptr<grpc::ChannelCredentials> Credentials() {
  const std::string ca = absl::GetFlag(FLAGS_tls_ca_file);
  if (ca.empty()) return grpc::InsecureChannelCredentials();
  std::ifstream in(ca, std::ios::binary);
  if (!in) return nullptr;
  std::ostringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem.str();
  return grpc::SslCredentials(options);
}

}  // namespace
}  // namespace pkiwatch

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "pkiwatchctl [--collector HOST:PORT] [--format table|csv|json] COMMAND\n"
      "  patterns --by url|ca|template|error|site|host [--all] [--max-age SECONDS]\n"
      "  hosts [--by B --key K] [--failing]\n"
      "  host NODE_ID|HOSTNAME\n"
      "  expiring [--within SECONDS]\n"
      "  url URL [--max-age SECONDS]   (now, per site, CRLs seen, hourly history; default 7 days)\n"
      "  run-now (--by B --key K | --node ID,...) [--probes crl,...]\n"
      "  command COMMAND_ID");
  pkiwatch::CommandLine command_line(argc, argv);
  std::vector<char*> args = absl::ParseCommandLine(command_line.argc(), command_line.argv());
  if (args.size() < 2) {
    std::cerr << "usage: " << absl::ProgramUsageMessage() << "\n";
    return 2;
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "csv" && format != "json") {
    std::cerr << "pkiwatchctl: --format is table, csv or json\n";
    return 2;
  }
  auto credentials = pkiwatch::Credentials();
  if (credentials == nullptr) {
    std::cerr << "pkiwatchctl: cannot read " << absl::GetFlag(FLAGS_tls_ca_file) << "\n";
    return 2;
  }
  pkiwatch::Ctl ctl(pkiwatch::v1::QueryService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_collector), credentials)));
  const std::string command = args[1];
  const std::string arg = args.size() > 2 ? args[2] : "";
  if (command == "patterns") return ctl.Patterns();
  if (command == "hosts") return ctl.Hosts();
  if (command == "expiring") return ctl.Expiring();
  if (command == "run-now") return ctl.RunNow();
  if ((command == "host" || command == "command" || command == "url") && arg.empty()) {
    std::cerr << "pkiwatchctl: " << command << " needs an argument\n";
    return 2;
  }
  if (command == "host") return ctl.Host(arg);
  if (command == "command") return ctl.Command(arg);
  if (command == "url") return ctl.Url(arg);
  std::cerr << "pkiwatchctl: unknown command '" << command
            << "' (patterns, hosts, host, expiring, url, run-now, command)\n";
  return 2;
}
