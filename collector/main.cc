// pkiwatch-collector: receives agent findings over gRPC, stores them in
// PostgreSQL (its own embedded cluster by default) and answers queries over
// gRPC and HTTP.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "collector/http/http_api.h"
#include "collector/ingest/ingest_service.h"
#include "collector/ingest/node_registry.h"
#include "collector/query/query_backend.h"
#include "collector/query/query_service.h"
#include "collector/store/connection_pool.h"
#include "collector/store/embedded_postgres.h"
#include "collector/store/finding_writer.h"
#include "collector/store/maintenance.h"
#include "collector/store/migrations.h"
#include "common/command_line.h"
#include "common/log.h"

ABSL_FLAG(std::string, data_dir, "/var/lib/pkiwatch",
          "State directory; the embedded PostgreSQL cluster lives under it");
ABSL_FLAG(std::string, database_url, "",
          "libpq connection string of an existing PostgreSQL database; empty runs the "
          "embedded cluster under --data-dir");
ABSL_FLAG(std::string, postgres_bindir, "",
          "Directory with initdb and pg_ctl for the embedded cluster (default: newest "
          "/usr/lib/postgresql/N/bin)");
ABSL_FLAG(std::string, grpc_listen, "0.0.0.0:7300", "HOST:PORT for agent and query gRPC");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:7301", "HOST:PORT for /healthz and /api/v1");
ABSL_FLAG(std::string, enroll_secret_file, "",
          "File whose first line is the fleet's enroll secret; empty disables enrollment");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain for gRPC TLS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for gRPC TLS");
ABSL_FLAG(int, db_connections, 8, "PostgreSQL connections for ingest and queries");
ABSL_FLAG(int, retention_days, 30, "Days of raw findings kept (whole daily partitions dropped)");
ABSL_FLAG(int, rollup_retention_days, 400, "Days of hourly rollups kept");
ABSL_FLAG(bool, rollups, true, "Maintain hourly rollups while writing");
ABSL_FLAG(double, blame_endpoint_share, 0.5,
          "Blame endpoint/CA when at least this share of hosts fail ...");
ABSL_FLAG(double, blame_endpoint_site_share, 0.6, "... in at least this share of sites");
ABSL_FLAG(double, blame_segment_top_share, 0.8,
          "Blame a network segment when the top sites hold this share of failing hosts ...");
ABSL_FLAG(double, blame_segment_outside_share, 0.1, "... and elsewhere at most this share fails");
ABSL_FLAG(uint32_t, blame_client_max_hosts, 3,
          "Blame the client when at most this many hosts fail ...");
ABSL_FLAG(double, blame_client_other_share, 0.5,
          "... and they fail at least this share of everything they probe");
ABSL_FLAG(std::string, ready_file, "",
          "Written once listening: JSON with the gRPC and HTTP ports (for scripts and tests)");

namespace pkiwatch {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials() {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert_file);
  const std::string key = absl::GetFlag(FLAGS_tls_key_file);
  if (cert.empty() && key.empty()) return grpc::InsecureServerCredentials();
  if (cert.empty() || key.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  auto cert_pem = ReadFile(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = ReadFile(key);
  if (!key_pem.ok()) return key_pem.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});
  return grpc::SslServerCredentials(options);
}

query::BlameThresholds BlameThresholdsFromFlags() {
  query::BlameThresholds t;
  t.endpoint_failing_share = absl::GetFlag(FLAGS_blame_endpoint_share);
  t.endpoint_site_share = absl::GetFlag(FLAGS_blame_endpoint_site_share);
  t.segment_top_share = absl::GetFlag(FLAGS_blame_segment_top_share);
  t.segment_outside_share = absl::GetFlag(FLAGS_blame_segment_outside_share);
  t.client_max_hosts = absl::GetFlag(FLAGS_blame_client_max_hosts);
  t.client_other_failing_share = absl::GetFlag(FLAGS_blame_client_other_share);
  return t;
}

int Run() {
  // Signals are taken synchronously by sigwait below; block them before any
  // thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string enroll_secret;
  if (const std::string path = absl::GetFlag(FLAGS_enroll_secret_file); !path.empty()) {
    auto secret = ingest::ReadSecretFile(path);
    if (!secret.ok()) {
      LogError(secret.status().message());
      return 2;
    }
    enroll_secret = *std::move(secret);
  } else {
    LogWarning("no --enroll_secret_file: new agents cannot enroll");
  }
  auto credentials = ServerCredentials();
  if (!credentials.ok()) {
    LogError(credentials.status().message());
    return 2;
  }

  std::unique_ptr<store::EmbeddedPostgres> embedded;
  std::string dsn = absl::GetFlag(FLAGS_database_url);
  if (dsn.empty()) {
    store::EmbeddedPostgres::Options options;
    options.data_dir = absl::GetFlag(FLAGS_data_dir);
    options.bindir = absl::GetFlag(FLAGS_postgres_bindir);
    auto started = store::EmbeddedPostgres::Start(options);
    if (!started.ok()) {
      LogError("embedded PostgreSQL: ", started.status().message());
      return 1;
    }
    embedded = *std::move(started);
    dsn = embedded->dsn();
    LogInfo("embedded PostgreSQL running under ", options.data_dir);
  }

  {
    auto conn = store::PgConnection::Connect(dsn);
    if (!conn.ok()) {
      LogError(conn.status().message());
      return 1;
    }
    if (absl::Status s = store::ApplyMigrations(**conn); !s.ok()) {
      LogError("migrations: ", s.message());
      return 1;
    }
    LogInfo("database ready: ", (*conn)->redacted_dsn());
  }
  auto pool = store::ConnectionPool::Create(dsn, absl::GetFlag(FLAGS_db_connections));
  if (!pool.ok()) {
    LogError(pool.status().message());
    return 1;
  }
  store::Maintenance::Options maintenance_options;
  maintenance_options.findings_retention = absl::Hours(24 * absl::GetFlag(FLAGS_retention_days));
  maintenance_options.rollup_retention =
      absl::Hours(24 * absl::GetFlag(FLAGS_rollup_retention_days));
  auto maintenance = store::Maintenance::Start(pool->get(), maintenance_options);
  if (!maintenance.ok()) {
    LogError("database maintenance: ", maintenance.status().message());
    return 1;
  }
  store::FindingWriter::Options writer_options;
  writer_options.maintain_rollups = absl::GetFlag(FLAGS_rollups);
  auto writer = store::FindingWriter::Create(pool->get(), writer_options);
  if (!writer.ok()) {
    LogError(writer.status().message());
    return 1;
  }
  ingest::NodeRegistry registry(pool->get(), enroll_secret);
  ingest::IngestCounters counters;
  ingest::StreamRegistry streams;
  ingest::CommandDispatcher commands(pool->get(), &streams);
  ingest::IngestServiceImpl ingest_service(&registry, writer->get(), &counters, &streams,
                                           &commands);
  query::QueryBackend backend(pool->get(), &commands, BlameThresholdsFromFlags());
  query::QueryServiceImpl query_service(&backend);

  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_grpc_listen), *credentials, &grpc_port);
  builder.SetMaxReceiveMessageSize(32 << 20);
  builder.RegisterService(&ingest_service);
  builder.RegisterService(&query_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    LogError("gRPC: cannot listen on ", absl::GetFlag(FLAGS_grpc_listen));
    return 1;
  }
  auto http = http::HttpApi::Start(absl::GetFlag(FLAGS_http_listen), &backend, &counters,
                                   &streams);
  if (!http.ok()) {
    LogError(http.status().message());
    server->Shutdown();
    return 1;
  }
  LogInfo("listening: grpc port ", grpc_port, ", http port ", (*http)->port());
  if (const std::string ready = absl::GetFlag(FLAGS_ready_file); !ready.empty()) {
    std::ofstream out(ready + ".tmp");
    out << "{\"grpc_port\": " << grpc_port << ", \"http_port\": " << (*http)->port() << "}\n";
    out.close();
    std::rename((ready + ".tmp").c_str(), ready.c_str());
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("signal ", signal_number, ": shutting down");
  (*http)->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  LogInfo("ingested ", counters.findings_stored.load(), " findings in ",
          counters.batches.load(), " batches (", counters.findings_duplicate.load(),
          " duplicates, ", counters.findings_rejected.load(), " rejected)");
  (*maintenance)->Stop();
  pool->reset();
  if (embedded != nullptr) {
    if (absl::Status s = embedded->Stop(); !s.ok()) LogError(s.message());
  }
  return 0;
}

}  // namespace
}  // namespace pkiwatch

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "pkiwatch-collector [--data-dir DIR | --database-url DSN] --enroll-secret-file F");
  pkiwatch::CommandLine command_line(argc, argv);
  absl::ParseCommandLine(command_line.argc(), command_line.argv());
  return pkiwatch::Run();
}
