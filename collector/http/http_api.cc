#include "collector/http/http_api.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "collector/http/metrics.h"
#include "collector/query/pattern_query.h"
#include "common/log.h"
#include "google/protobuf/util/json_util.h"

namespace pkiwatch::http {
namespace {

constexpr char kJson[] = "application/json";
constexpr size_t kMaxBodyBytes = 1 << 20;

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

template <typename Message>
void Send(httplib::Response& res, const absl::StatusOr<Message>& message) {
  if (!message.ok()) return SendError(res, message.status());
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // a zero count is an answer
  auto s = google::protobuf::util::MessageToJsonString(*message, &json, options);
  if (!s.ok()) return SendError(res, absl::InternalError(std::string(s.message())));
  json += '\n';
  res.set_content(json, kJson);
}

std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

absl::Status ParseUint(const httplib::Request& req, const char* name, uint32_t* out) {
  const std::string v = Param(req, name);
  if (v.empty()) return absl::OkStatus();
  if (!absl::SimpleAtoi(v, out)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be a non-negative integer"));
  }
  return absl::OkStatus();
}

bool ParseBool(const httplib::Request& req, const char* name) {
  const std::string v = Param(req, name);
  return v == "1" || v == "true";
}

// Query parameters use the proto field names; `by` takes url, ca, ...
absl::StatusOr<v1::GroupBy> ParseBy(const httplib::Request& req, const char* fallback) {
  const std::string by = Param(req, "by");
  return query::ParseGroupBy(by.empty() ? fallback : by);
}

absl::StatusOr<v1::ListPatternsRequest> PatternsRequest(const httplib::Request& req) {
  v1::ListPatternsRequest request;
  auto by = ParseBy(req, "url");
  if (!by.ok()) return by.status();
  request.set_by(*by);
  uint32_t age = 0, page_size = 0;
  if (absl::Status s = ParseUint(req, "max_age_seconds", &age); !s.ok()) return s;
  if (absl::Status s = ParseUint(req, "page_size", &page_size); !s.ok()) return s;
  request.set_max_age_seconds(age);
  request.set_page_size(page_size);
  request.set_include_healthy(ParseBool(req, "include_healthy"));
  request.set_page_token(Param(req, "page_token"));
  return request;
}

absl::StatusOr<v1::ListHostsRequest> HostsRequest(const httplib::Request& req) {
  v1::ListHostsRequest request;
  request.set_key(Param(req, "key"));
  if (!request.key().empty()) {
    auto by = ParseBy(req, "url");
    if (!by.ok()) return by.status();
    request.set_by(*by);
  }
  uint32_t page_size = 0;
  if (absl::Status s = ParseUint(req, "page_size", &page_size); !s.ok()) return s;
  request.set_page_size(page_size);
  request.set_page_token(Param(req, "page_token"));
  request.set_failing_only(ParseBool(req, "failing_only"));
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
                                                        query::QueryBackend* backend,
                                                        const ingest::IngestCounters* counters,
                                                        ingest::StreamRegistry* streams) {
  auto host_port = SplitHostPort(listen);
  if (!host_port.ok()) return host_port.status();
  std::unique_ptr<HttpApi> api(new HttpApi());
  api->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *api->server_;
  server.set_payload_max_length(kMaxBodyBytes);
  store::ConnectionPool* pool = backend->pool();

  server.Get("/healthz", [pool](const httplib::Request&, httplib::Response& res) {
    auto lease = pool->Acquire();
    absl::Status s = lease.ok() ? (*lease)->Exec("SELECT 1") : lease.status();
    if (!s.ok()) {
      SendError(res, absl::UnavailableError(absl::StrCat("database: ", s.message())));
      return;
    }
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/metrics", [pool, counters, streams](const httplib::Request&,
                                                   httplib::Response& res) {
    auto lease = pool->Acquire();
    if (!lease.ok()) return SendError(res, lease.status());
    ingest::IngestCounters empty;
    auto text = RenderMetrics(**lease, counters != nullptr ? *counters : empty,
                              streams != nullptr ? streams->connected() : 0);
    if (!text.ok()) return SendError(res, text.status());
    res.set_content(*text, "text/plain; version=0.0.4");
  });
  server.Get("/api/v1/patterns", [backend](const httplib::Request& req, httplib::Response& res) {
    auto request = PatternsRequest(req);
    if (!request.ok()) return SendError(res, request.status());
    Send(res, backend->ListPatterns(*request));
  });
  server.Get("/api/v1/hosts", [backend](const httplib::Request& req, httplib::Response& res) {
    auto request = HostsRequest(req);
    if (!request.ok()) return SendError(res, request.status());
    Send(res, backend->ListHosts(*request));
  });
  server.Get(R"(/api/v1/hosts/([^/]+))",
             [backend](const httplib::Request& req, httplib::Response& res) {
               v1::GetHostRequest request;
               const std::string id = req.matches[1];
               // A node id is a UUID; anything else is taken as a host name.
               if (id.size() == 36 && id[8] == '-') {
                 request.set_node_id(id);
               } else {
                 request.set_hostname(id);
               }
               Send(res, backend->GetHost(request));
             });
  server.Get("/api/v1/expiring", [backend](const httplib::Request& req, httplib::Response& res) {
    v1::ListExpiringRequest request;
    uint32_t within = 0;
    if (absl::Status s = ParseUint(req, "within_seconds", &within); !s.ok()) {
      return SendError(res, s);
    }
    request.set_within_seconds(within);
    Send(res, backend->ListExpiring(request));
  });
  // The URL goes in the query string: it holds slashes of its own.
  server.Get("/api/v1/url", [backend](const httplib::Request& req, httplib::Response& res) {
    v1::GetUrlRequest request;
    request.set_url(req.get_param_value("url"));
    uint32_t max_age = 0;
    if (absl::Status s = ParseUint(req, "max_age_seconds", &max_age); !s.ok()) {
      return SendError(res, s);
    }
    request.set_max_age_seconds(max_age);
    Send(res, backend->GetUrl(request));
  });
  server.Post("/api/v1/commands", [backend](const httplib::Request& req, httplib::Response& res) {
    v1::RunNowRequest request;
    auto parsed = google::protobuf::util::JsonStringToMessage(req.body, &request);
    if (!parsed.ok()) {
      return SendError(res, absl::InvalidArgumentError(absl::StrCat(
                                "body is not a RunNowRequest: ", std::string(parsed.message()))));
    }
    Send(res, backend->RunNow(request));
  });
  server.Get(R"(/api/v1/commands/([0-9a-fA-F-]+))",
             [backend](const httplib::Request& req, httplib::Response& res) {
               v1::GetCommandRequest request;
               request.set_command_id(req.matches[1]);
               Send(res, backend->GetCommand(request));
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
