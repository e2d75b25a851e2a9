#include "collector/query/query_service.h"

#include "collector/ingest/ingest_service.h"

namespace pkiwatch::query {
namespace {

template <typename Response>
grpc::Status Answer(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) return ingest::ToGrpc(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status QueryServiceImpl::ListPatterns(grpc::ServerContext*,
                                            const v1::ListPatternsRequest* request,
                                            v1::ListPatternsResponse* response) {
  return Answer(backend_->ListPatterns(*request), response);
}

grpc::Status QueryServiceImpl::ListHosts(grpc::ServerContext*, const v1::ListHostsRequest* request,
                                         v1::ListHostsResponse* response) {
  return Answer(backend_->ListHosts(*request), response);
}

grpc::Status QueryServiceImpl::GetHost(grpc::ServerContext*, const v1::GetHostRequest* request,
                                       v1::GetHostResponse* response) {
  return Answer(backend_->GetHost(*request), response);
}

grpc::Status QueryServiceImpl::ListExpiring(grpc::ServerContext*,
                                            const v1::ListExpiringRequest* request,
                                            v1::ListExpiringResponse* response) {
  return Answer(backend_->ListExpiring(*request), response);
}

grpc::Status QueryServiceImpl::GetUrl(grpc::ServerContext*, const v1::GetUrlRequest* request,
                                      v1::GetUrlResponse* response) {
  return Answer(backend_->GetUrl(*request), response);
}

grpc::Status QueryServiceImpl::RunNow(grpc::ServerContext*, const v1::RunNowRequest* request,
                                      v1::RunNowResponse* response) {
  return Answer(backend_->RunNow(*request), response);
}

grpc::Status QueryServiceImpl::GetCommand(grpc::ServerContext*,
                                          const v1::GetCommandRequest* request,
                                          v1::CommandStatus* response) {
  return Answer(backend_->GetCommand(*request), response);
}

}  // namespace pkiwatch::query
