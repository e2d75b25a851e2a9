#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "collector/ingest/ingest_counters.h"
#include "collector/ingest/stream_registry.h"
#include "collector/query/query_backend.h"

namespace httplib {
class Server;
}

namespace pkiwatch::http {

// The collector's HTTP surface: /healthz, /metrics (Prometheus) and the JSON
// API under /api/v1 — the protobuf JSON mapping of the QueryService messages,
// answered by the same backend as gRPC:
//   GET  /api/v1/patterns?by=url|ca|template|error|site|host&max_age_seconds=&
//        include_healthy=&page_size=&page_token=
//   GET  /api/v1/hosts?by=&key=&failing_only=&page_size=&page_token=
//   GET  /api/v1/hosts/{node id or host name}
//   GET  /api/v1/expiring?within_seconds=
//   POST /api/v1/commands   (body: RunNowRequest JSON)
//   GET  /api/v1/commands/{command id}
// Serves on its own threads until Stop() or destruction.
class HttpApi {
 public:
  // `listen` is HOST:PORT ("127.0.0.1:8080", "[::1]:8080"); port 0 picks one.
  // `counters` and `streams` may be null (metrics then show zeros).
  static absl::StatusOr<std::unique_ptr<HttpApi>> Start(const std::string& listen,
                                                        query::QueryBackend* backend,
                                                        const ingest::IngestCounters* counters,
                                                        ingest::StreamRegistry* streams);
  ~HttpApi();
  void Stop();
  int port() const { return port_; }

 private:
  HttpApi() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "host:port" / "[v6]:port". InvalidArgument for anything else.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& listen);

}  // namespace pkiwatch::http
