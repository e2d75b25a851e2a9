#include "tests/integration/in_process_collector.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "collector/store/migrations.h"
#include "collector/store/partitions.h"
#include "absl/time/clock.h"

namespace pkiwatch::testing {

absl::StatusOr<std::unique_ptr<InProcessCollector>> InProcessCollector::Start(
    const std::string& dsn, const std::string& secret, int port,
    query::BlameThresholds thresholds, store::FindingWriter::Options writer_options) {
  std::unique_ptr<InProcessCollector> c(new InProcessCollector());
  {
    auto conn = store::PgConnection::Connect(dsn);
    if (!conn.ok()) return conn.status();
    if (absl::Status s = store::ApplyMigrations(**conn); !s.ok()) return s;
    if (absl::Status s = store::EnsureFindingPartitions(**conn, absl::Now()); !s.ok()) return s;
  }
  auto pool = store::ConnectionPool::Create(dsn, 4);
  if (!pool.ok()) return pool.status();
  c->pool_ = *std::move(pool);
  auto writer = store::FindingWriter::Create(c->pool_.get(), writer_options);
  if (!writer.ok()) return writer.status();
  c->writer_ = *std::move(writer);
  c->registry_ = std::make_unique<ingest::NodeRegistry>(c->pool_.get(), secret);
  c->commands_ = std::make_unique<ingest::CommandDispatcher>(c->pool_.get(), &c->streams_);
  c->backend_ = std::make_unique<query::QueryBackend>(c->pool_.get(), c->commands_.get(),
                                                      thresholds);
  c->ingest_ = std::make_unique<ingest::IngestServiceImpl>(
      c->registry_.get(), c->writer_.get(), &c->counters_, &c->streams_, c->commands_.get());
  c->query_ = std::make_unique<query::QueryServiceImpl>(c->backend_.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                           &c->port_);
  builder.SetMaxReceiveMessageSize(32 << 20);
  builder.RegisterService(c->ingest_.get());
  builder.RegisterService(c->query_.get());
  c->server_ = builder.BuildAndStart();
  if (c->server_ == nullptr || c->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on 127.0.0.1:", port));
  }
  return c;
}

std::string InProcessCollector::address() const { return absl::StrCat("127.0.0.1:", port_); }

void InProcessCollector::Stop() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }
}

InProcessCollector::~InProcessCollector() { Stop(); }

}  // namespace pkiwatch::testing
