#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "collector/store/connection_pool.h"

namespace httplib {
class Server;
}

namespace pkiwatch::http {

// The collector's HTTP surface: /healthz and the JSON API under /api/v1 (the
// protobuf JSON mapping of the QueryService messages). Serves on its own
// threads until Stop() or destruction.
class HttpApi {
 public:
  // `listen` is HOST:PORT ("127.0.0.1:8080", "[::1]:8080"); port 0 picks one.
  static absl::StatusOr<std::unique_ptr<HttpApi>> Start(const std::string& listen,
                                                        store::ConnectionPool* pool);
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
