#pragma once

#include "collector/query/query_backend.h"
#include "pkiwatch/v1/query.grpc.pb.h"

namespace pkiwatch::query {

// QueryService over gRPC; the HTTP JSON API serves the same messages from
// the same backend.
class QueryServiceImpl final : public v1::QueryService::Service {
 public:
  explicit QueryServiceImpl(QueryBackend* backend) : backend_(backend) {}

  grpc::Status ListPatterns(grpc::ServerContext*, const v1::ListPatternsRequest* request,
                            v1::ListPatternsResponse* response) override;
  grpc::Status ListHosts(grpc::ServerContext*, const v1::ListHostsRequest* request,
                         v1::ListHostsResponse* response) override;
  grpc::Status GetHost(grpc::ServerContext*, const v1::GetHostRequest* request,
                       v1::GetHostResponse* response) override;
  grpc::Status ListExpiring(grpc::ServerContext*, const v1::ListExpiringRequest* request,
                            v1::ListExpiringResponse* response) override;
  grpc::Status GetUrl(grpc::ServerContext*, const v1::GetUrlRequest* request,
                      v1::GetUrlResponse* response) override;
  grpc::Status RunNow(grpc::ServerContext*, const v1::RunNowRequest* request,
                      v1::RunNowResponse* response) override;
  grpc::Status GetCommand(grpc::ServerContext*, const v1::GetCommandRequest* request,
                          v1::CommandStatus* response) override;

 private:
  QueryBackend* const backend_;
};

}  // namespace pkiwatch::query
