#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "collector/ingest/ingest_service.h"
#include "collector/ingest/node_registry.h"
#include "collector/query/query_backend.h"
#include "collector/query/query_service.h"
#include "collector/store/connection_pool.h"
#include "collector/store/finding_writer.h"

namespace grpc {
class Server;
}

namespace pkiwatch::testing {

// The collector's ingest and query services wired exactly as main.cc does,
// serving gRPC on 127.0.0.1, for tests and benchmarks that need to stop and
// restart the server or inspect its counters.
class InProcessCollector {
 public:
  // Applies the migrations to `dsn`. `port` 0 picks a free port.
  static absl::StatusOr<std::unique_ptr<InProcessCollector>> Start(
      const std::string& dsn, const std::string& secret, int port = 0,
      query::BlameThresholds thresholds = {},
      store::FindingWriter::Options writer_options = {});
  ~InProcessCollector();

  int port() const { return port_; }
  std::string address() const;
  ingest::IngestCounters& counters() { return counters_; }
  store::ConnectionPool& pool() { return *pool_; }
  query::QueryBackend& backend() { return *backend_; }
  ingest::StreamRegistry& streams() { return streams_; }
  // Stops serving at once: open streams are cancelled.
  void Stop();

 private:
  InProcessCollector() = default;

  std::unique_ptr<store::ConnectionPool> pool_;
  std::unique_ptr<store::FindingWriter> writer_;
  std::unique_ptr<ingest::NodeRegistry> registry_;
  ingest::IngestCounters counters_;
  ingest::StreamRegistry streams_;
  std::unique_ptr<ingest::CommandDispatcher> commands_;
  std::unique_ptr<query::QueryBackend> backend_;
  std::unique_ptr<ingest::IngestServiceImpl> ingest_;
  std::unique_ptr<query::QueryServiceImpl> query_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace pkiwatch::testing
