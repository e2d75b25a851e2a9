#pragma once

#include "absl/status/statusor.h"
#include "collector/ingest/command_dispatcher.h"
#include "collector/query/blame.h"
#include "collector/store/connection_pool.h"
#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::query {

// Every QueryService operation, transport-neutral: the gRPC service and the
// HTTP JSON API both call these, so the two surfaces give the same answer.
// Thread-safe.
class QueryBackend {
 public:
  QueryBackend(store::ConnectionPool* pool, ingest::CommandDispatcher* commands,
               BlameThresholds thresholds)
      : pool_(pool), commands_(commands), thresholds_(thresholds) {}

  absl::StatusOr<v1::ListPatternsResponse> ListPatterns(const v1::ListPatternsRequest& r);
  absl::StatusOr<v1::ListHostsResponse> ListHosts(const v1::ListHostsRequest& r);
  absl::StatusOr<v1::GetHostResponse> GetHost(const v1::GetHostRequest& r);
  absl::StatusOr<v1::ListExpiringResponse> ListExpiring(const v1::ListExpiringRequest& r);
  absl::StatusOr<v1::GetUrlResponse> GetUrl(const v1::GetUrlRequest& r);
  absl::StatusOr<v1::RunNowResponse> RunNow(const v1::RunNowRequest& r);
  absl::StatusOr<v1::CommandStatus> GetCommand(const v1::GetCommandRequest& r);

  store::ConnectionPool* pool() const { return pool_; }

 private:
  store::ConnectionPool* const pool_;
  ingest::CommandDispatcher* const commands_;
  const BlameThresholds thresholds_;
};

}  // namespace pkiwatch::query
