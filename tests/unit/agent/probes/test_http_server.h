// A real cpp-httplib server on 127.0.0.1 (ephemeral port) for probe tests.
// Register handlers on server() first, then Start(); Stop() (or the
// destructor) shuts it down and joins the listener thread.
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"

namespace pkiwatch::testing {

class TestHttpServer {
 public:
  TestHttpServer() = default;
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;
  ~TestHttpServer() { Stop(); }

  httplib::Server& server() { return server_; }

  // Binds and starts serving. False when no port could be bound or the
  // listener did not come up within 5 s.
  bool Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return false;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib's stop() is a no-op until the accept loop runs; wait for it so
    // that Stop() can never hang.
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return server_.is_running();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string Url(std::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", port_, std::string(path));
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

}  // namespace pkiwatch::testing
