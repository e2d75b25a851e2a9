// pkiwatchctl: asks a collector's QueryService and prints the answer as a
// table or as the protobuf JSON mapping.

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "collector/query/pattern_query.h"
#include "common/command_line.h"
#include "google/protobuf/util/json_util.h"
#include "pkiwatch/v1/query.grpc.pb.h"

ABSL_FLAG(std::string, collector, "127.0.0.1:7300", "Collector gRPC address HOST:PORT");
ABSL_FLAG(std::string, by, "url", "patterns: group by url, ca, template or error");
ABSL_FLAG(std::string, format, "table", "Output: table or json");
ABSL_FLAG(bool, all, false, "patterns: include groups where nothing fails");
ABSL_FLAG(uint32_t, max_age, 0, "patterns: ignore results older than this many seconds");
ABSL_FLAG(std::string, tls_ca_file, "", "PEM CA bundle: connect with TLS");
ABSL_FLAG(int, timeout, 30, "RPC deadline in seconds");

namespace pkiwatch {
namespace {

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

void PrintTable(const v1::ListPatternsResponse& response, std::string_view by) {
  std::vector<std::vector<std::string>> rows = {
      {std::string(by), "FAILING", "WARN", "HOSTS", "SHARE", "FIRST SEEN", "LAST SEEN",
       "TOP ERROR"}};
  for (const v1::Pattern& p : response.patterns()) {
    std::string top = "-";
    if (p.top_errors_size() > 0) {
      const v1::ErrorCount& e = p.top_errors(0);
      top = absl::StrFormat("%s (0x%08X) x%d", e.error().symbolic_name(), e.error().hresult(),
                            e.hosts());
    }
    rows.push_back({p.key(), absl::StrCat(p.failing_hosts()), absl::StrCat(p.warning_hosts()),
                    absl::StrCat(p.total_hosts()),
                    absl::StrFormat("%.0f%%", p.failing_share() * 100), Time(p.first_seen()),
                    Time(p.last_seen()), top});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&line, row[c]);
      if (c + 1 < row.size()) line.append(width[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
  if (response.patterns_size() == 0) std::cout << "(no failing " << by << ")\n";
}

int Patterns() {
  const std::string by = absl::GetFlag(FLAGS_by);
  auto group = query::ParseGroupBy(by);
  if (!group.ok()) {
    std::cerr << "pkiwatchctl: " << group.status().message() << "\n";
    return 2;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (const std::string ca = absl::GetFlag(FLAGS_tls_ca_file); !ca.empty()) {
    FILE* f = std::fopen(ca.c_str(), "rb");
    if (f == nullptr) {
      std::cerr << "pkiwatchctl: cannot read " << ca << "\n";
      return 2;
    }
    std::string pem;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) pem.append(buffer, n);
    std::fclose(f);
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pem;
    credentials = grpc::SslCredentials(options);
  }
  auto stub = v1::QueryService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_collector), credentials));
  v1::ListPatternsRequest request;
  request.set_by(*group);
  request.set_include_healthy(absl::GetFlag(FLAGS_all));
  request.set_max_age_seconds(absl::GetFlag(FLAGS_max_age));
  v1::ListPatternsResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(absl::GetFlag(FLAGS_timeout)));
  grpc::Status status = stub->ListPatterns(&context, request, &response);
  if (!status.ok()) {
    std::cerr << "pkiwatchctl: ListPatterns from " << absl::GetFlag(FLAGS_collector) << ": "
              << status.error_message() << " (gRPC code " << status.error_code() << ")\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_format) == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(response, &json, options);
    std::cout << json;
  } else if (absl::GetFlag(FLAGS_format) == "table") {
    PrintTable(response, by);
  } else {
    std::cerr << "pkiwatchctl: --format is table or json\n";
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace pkiwatch

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "pkiwatchctl [--collector HOST:PORT] patterns --by url|ca|template|error "
      "[--format table|json] [--all]");
  pkiwatch::CommandLine command_line(argc, argv);
  std::vector<char*> args = absl::ParseCommandLine(command_line.argc(), command_line.argv());
  if (args.size() < 2) {
    std::cerr << "usage: " << absl::ProgramUsageMessage() << "\n";
    return 2;
  }
  const std::string command = args[1];
  if (command == "patterns") return pkiwatch::Patterns();
  std::cerr << "pkiwatchctl: unknown command '" << command << "' (known: patterns)\n";
  return 2;
}
