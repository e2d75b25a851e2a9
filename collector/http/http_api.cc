#include "collector/http/http_api.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "collector/query/pattern_query.h"
#include "common/log.h"
#include "google/protobuf/util/json_util.h"

namespace pkiwatch::http {
namespace {

constexpr char kJson[] = "application/json";

int HttpStatusFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

void SendError(httplib::Response& res, const absl::Status& s) {
  res.status = HttpStatusFor(s);
  // Same shape as google.rpc.Status in JSON: {"code": .., "message": ..}.
  std::string message;
  for (char c : s.message()) {
    if (c == '"' || c == '\\') message += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    message += c;
  }
  res.set_content(absl::StrCat("{\"code\":", static_cast<int>(s.code()), ",\"message\":\"",
                               message, "\"}\n"),
                  kJson);
}

void SendMessage(httplib::Response& res, const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // a zero count is an answer
  auto s = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!s.ok()) {
    SendError(res, absl::InternalError(std::string(s.message())));
    return;
  }
  json += '\n';
  res.set_content(json, kJson);
}

absl::StatusOr<v1::ListPatternsRequest> PatternsRequest(const httplib::Request& req) {
  v1::ListPatternsRequest request;
  auto by = query::ParseGroupBy(req.has_param("by") ? req.get_param_value("by") : "url");
  if (!by.ok()) return by.status();
  request.set_by(*by);
  if (req.has_param("max_age_seconds")) {
    uint32_t age = 0;
    if (!absl::SimpleAtoi(req.get_param_value("max_age_seconds"), &age)) {
      return absl::InvalidArgumentError("max_age_seconds must be a non-negative integer");
    }
    request.set_max_age_seconds(age);
  }
  if (req.has_param("include_healthy")) {
    const std::string v = req.get_param_value("include_healthy");
    request.set_include_healthy(v == "1" || v == "true");
  }
  return request;
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& listen) {
  std::string host;
  std::string port_text;
  if (!listen.empty() && listen[0] == '[') {
    const size_t close = listen.find("]:");
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad listen address '", listen, "'"));
    }
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address '", listen, "' needs HOST:PORT"));
    }
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
    // An IPv6 address needs brackets: "::1" must not become host ":" port 1.
    if (host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad listen address '", listen, "' (write IPv6 as [ADDR]:PORT)"));
    }
  }
  int port = 0;
  if (host.empty() || !absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad listen address '", listen, "'"));
  }
  return std::make_pair(host, port);
}

absl::StatusOr<std::unique_ptr<HttpApi>> HttpApi::Start(const std::string& listen,
                                                        store::ConnectionPool* pool) {
  auto host_port = SplitHostPort(listen);
  if (!host_port.ok()) return host_port.status();
  std::unique_ptr<HttpApi> api(new HttpApi());
  api->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *api->server_;

  server.Get("/healthz", [pool](const httplib::Request&, httplib::Response& res) {
    auto lease = pool->Acquire();
    absl::Status s = lease.ok() ? (*lease)->Exec("SELECT 1") : lease.status();
    if (!s.ok()) {
      SendError(res, absl::UnavailableError(absl::StrCat("database: ", s.message())));
      return;
    }
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/api/v1/patterns", [pool](const httplib::Request& req, httplib::Response& res) {
    auto request = PatternsRequest(req);
    if (!request.ok()) return SendError(res, request.status());
    auto lease = pool->Acquire();
    if (!lease.ok()) return SendError(res, lease.status());
    auto response = query::ListPatterns(**lease, *request);
    if (!response.ok()) return SendError(res, response.status());
    SendMessage(res, *response);
  });

  int port = host_port->second;
  if (port == 0) {
    port = server.bind_to_any_port(host_port->first);
  } else if (!server.bind_to_port(host_port->first, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat("HTTP: cannot listen on ", listen));
  }
  api->port_ = port;
  api->thread_ = std::thread([&server] { server.listen_after_bind(); });
  return api;
}

void HttpApi::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

HttpApi::~HttpApi() { Stop(); }

}  // namespace pkiwatch::http
