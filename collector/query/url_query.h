#pragma once

#include "absl/status/statusor.h"
#include "collector/store/pg_connection.h"
#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::query {

// One URL as the fleet sees it: hosts failing it now (per site, with the top
// errors), its hourly history from the rollups, and the CRLs fetched from it
// with their validity and whether publication lapsed. NotFound for a URL no
// agent has reported.
absl::StatusOr<v1::GetUrlResponse> GetUrl(store::PgConnection& conn,
                                          const v1::GetUrlRequest& request);

}  // namespace pkiwatch::query
