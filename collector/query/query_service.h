#pragma once

#include "collector/store/connection_pool.h"
#include "pkiwatch/v1/query.grpc.pb.h"

namespace pkiwatch::query {

// QueryService over gRPC; the HTTP JSON API serves the same messages.
class QueryServiceImpl final : public v1::QueryService::Service {
 public:
  explicit QueryServiceImpl(store::ConnectionPool* pool) : pool_(pool) {}

  grpc::Status ListPatterns(grpc::ServerContext* context, const v1::ListPatternsRequest* request,
                            v1::ListPatternsResponse* response) override;

 private:
  store::ConnectionPool* const pool_;
};

}  // namespace pkiwatch::query
