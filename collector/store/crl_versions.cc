#include "collector/store/crl_versions.h"

#include "absl/strings/str_cat.h"

namespace pkiwatch::store {

absl::Status RecordCrlVersions(PgConnection& conn, const std::string& node_id,
                               uint64_t after_seq, uint64_t through_seq) {
  // Sorted, so concurrent writers lock shared rows in one order. The detail
  // is the protobuf JSON mapping (RFC 3339 timestamps cast cleanly).
  auto r = conn.Query(
      "INSERT INTO crl_versions AS v (url_id, crl_number, this_update, next_update, is_delta, "
      "  first_seen, last_seen, observations) "
      "SELECT url_id, COALESCE(detail -> 'crl' ->> 'crlNumber', ''), "
      "  (detail -> 'crl' ->> 'thisUpdate')::timestamptz, "
      "  max((detail -> 'crl' ->> 'nextUpdate')::timestamptz), "
      "  bool_or(COALESCE((detail -> 'crl' ->> 'isDelta')::boolean, false)), "
      "  min(observed_at), max(observed_at), count(*) "
      "FROM findings WHERE node_id = $1 AND seq > $2 AND seq <= $3 AND received_at = now() "
      "  AND probe = 'crl' AND url_id IS NOT NULL "
      "  AND detail -> 'crl' ->> 'thisUpdate' IS NOT NULL "
      "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
      "ON CONFLICT (url_id, crl_number, this_update) DO UPDATE SET "
      "  first_seen = least(v.first_seen, EXCLUDED.first_seen), "
      "  last_seen = greatest(v.last_seen, EXCLUDED.last_seen), "
      "  next_update = COALESCE(EXCLUDED.next_update, v.next_update), "
      "  observations = v.observations + EXCLUDED.observations",
      {node_id, absl::StrCat(after_seq), absl::StrCat(through_seq)});
  return r.status();
}

}  // namespace pkiwatch::store
