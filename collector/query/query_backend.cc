#include "collector/query/query_backend.h"

#include "collector/query/host_query.h"
#include "collector/query/pattern_query.h"
#include "collector/query/url_query.h"

namespace pkiwatch::query {

absl::StatusOr<v1::ListPatternsResponse> QueryBackend::ListPatterns(
    const v1::ListPatternsRequest& r) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return query::ListPatterns(**lease, r, thresholds_);
}

absl::StatusOr<v1::ListHostsResponse> QueryBackend::ListHosts(const v1::ListHostsRequest& r) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return query::ListHosts(**lease, r);
}

absl::StatusOr<v1::GetHostResponse> QueryBackend::GetHost(const v1::GetHostRequest& r) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return query::GetHost(**lease, r);
}

absl::StatusOr<v1::ListExpiringResponse> QueryBackend::ListExpiring(
    const v1::ListExpiringRequest& r) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return query::ListExpiring(**lease, r);
}

absl::StatusOr<v1::GetUrlResponse> QueryBackend::GetUrl(const v1::GetUrlRequest& r) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  return query::GetUrl(**lease, r);
}

absl::StatusOr<v1::RunNowResponse> QueryBackend::RunNow(const v1::RunNowRequest& r) {
  return commands_->RunNow(r);
}

absl::StatusOr<v1::CommandStatus> QueryBackend::GetCommand(const v1::GetCommandRequest& r) {
  return commands_->Get(r.command_id());
}

}  // namespace pkiwatch::query
