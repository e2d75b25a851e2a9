#include "collector/query/query_service.h"

#include "collector/ingest/ingest_service.h"
#include "collector/query/pattern_query.h"

namespace pkiwatch::query {

grpc::Status QueryServiceImpl::ListPatterns(grpc::ServerContext* context,
                                            const v1::ListPatternsRequest* request,
                                            v1::ListPatternsResponse* response) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return ingest::ToGrpc(lease.status());
  auto result = query::ListPatterns(**lease, *request);
  if (!result.ok()) return ingest::ToGrpc(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace pkiwatch::query
