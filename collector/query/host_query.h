#pragma once

#include "absl/status/statusor.h"
#include "collector/store/pg_connection.h"
#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::query {

// Hosts, optionally only those in a pattern (by + key), failing ones first.
absl::StatusOr<v1::ListHostsResponse> ListHosts(store::PgConnection& conn,
                                                const v1::ListHostsRequest& request);

// One host with every current result. NotFound for an unknown host.
absl::StatusOr<v1::GetHostResponse> GetHost(store::PgConnection& conn,
                                            const v1::GetHostRequest& request);

// CRLs by nextUpdate (the newest CRL seen anywhere, and the sites still
// behind it) and certificates by notAfter, as the fleet sees them.
absl::StatusOr<v1::ListExpiringResponse> ListExpiring(store::PgConnection& conn,
                                                      const v1::ListExpiringRequest& request);

}  // namespace pkiwatch::query
