#include "collector/ingest/command_dispatcher.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "collector/query/pattern_query.h"
#include "collector/store/pg_literals.h"
#include "common/error_catalogue.h"
#include "common/log.h"

namespace pkiwatch::ingest {
namespace {

constexpr size_t kMaxTargets = 100000;

absl::StatusOr<std::string> NewUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return absl::InternalError("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  const std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(b), sizeof b));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

// Pattern keys of the error grouping are symbolic names (or 0x... for codes
// the catalogue does not know); the database holds the number.
std::string GroupKeyForSql(v1::GroupBy by, const std::string& key) {
  if (by != v1::GROUP_BY_ERROR) return key;
  if (auto entry = LookupErrorByName(key)) return absl::StrCat(entry->code);
  uint32_t code = 0;
  if (absl::StartsWith(key, "0x") && absl::SimpleHexAtoi(key.substr(2), &code)) {
    return absl::StrCat(code);
  }
  return key;
}


}  // namespace

absl::Status CommandDispatcher::Dispatch(store::PgConnection& conn, const std::string& command_id,
                                         const std::vector<std::string>& probes,
                                         const std::vector<std::string>& node_ids) {
  v1::CollectorMessage message;
  message.mutable_command()->set_command_id(command_id);
  for (const std::string& p : probes) message.mutable_command()->mutable_run_now()->add_probes(p);
  std::vector<std::string> sent;
  for (const std::string& node : node_ids) {
    if (streams_->Send(node, message)) sent.push_back(node);
  }
  if (sent.empty()) return absl::OkStatus();
  auto r = conn.Query(
      "UPDATE command_targets SET sent_at = now() WHERE command_id = $1 "
      "AND node_id = ANY($2::uuid[])",
      {command_id, store::PgTextArray(sent)});
  return r.status();
}

absl::StatusOr<v1::RunNowResponse> CommandDispatcher::RunNow(const v1::RunNowRequest& request) {
  if (request.node_ids().empty() && request.key().empty()) {
    return absl::InvalidArgumentError("run-now needs a pattern (by + key) or node ids");
  }
  for (const std::string& p : request.probes()) {
    if (p.empty() || p.size() > 64 || p.find_first_of(",{}\" \\") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad probe name '", p, "'"));
    }
  }
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  store::PgConnection& conn = **lease;

  std::vector<std::string> targets;
  if (!request.key().empty()) {
    auto g = query::GroupingFor(request.by());
    if (!g.ok()) return g.status();
    auto rows = conn.Query(
        absl::StrCat("SELECT DISTINCT cs.node_id FROM current_state cs JOIN nodes n ON "
                     "n.node_id = cs.node_id ", g->join, " WHERE ", g->where, " AND ", g->key,
                     " = $1 AND cs.status = ", static_cast<int>(v1::STATUS_FAIL)),
        {GroupKeyForSql(request.by(), request.key())});
    if (!rows.ok()) return rows.status();
    for (int r = 0; r < rows->rows(); ++r) targets.emplace_back(rows->Get(r, 0));
    if (targets.empty()) {
      return absl::NotFoundError(absl::StrCat("no failing hosts in pattern '", request.key(), "'"));
    }
  }
  targets.insert(targets.end(), request.node_ids().begin(), request.node_ids().end());
  if (targets.size() > kMaxTargets) {
    return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxTargets, " hosts"));
  }
  auto id = NewUuid();
  if (!id.ok()) return id.status();
  const std::vector<std::string> probes(request.probes().begin(), request.probes().end());

  if (absl::Status s = conn.Begin(); !s.ok()) return s;
  auto created = conn.Query(
      "INSERT INTO commands (command_id, probes, group_by, group_key) VALUES ($1, $2::text[], "
      "$3, $4)",
      {*id, store::PgTextArray(probes), absl::StrCat(static_cast<int>(request.by())),
       request.key()});
  // Unknown node ids are dropped by the join rather than failing the command.
  auto inserted = created.ok() ? conn.Query(
                                     "INSERT INTO command_targets (command_id, node_id) "
                                     "SELECT $1, n.node_id FROM nodes n "
                                     "WHERE n.node_id::text = ANY($2::text[]) "
                                     "ON CONFLICT DO NOTHING RETURNING node_id",
                                     {*id, store::PgTextArray(targets)})
                               : created.status();
  if (!inserted.ok()) {
    (void)conn.Rollback();
    return inserted.status();
  }
  if (absl::Status s = conn.Commit(); !s.ok()) return s;
  std::vector<std::string> nodes;
  for (int r = 0; r < inserted->rows(); ++r) nodes.emplace_back(inserted->Get(r, 0));
  if (absl::Status s = Dispatch(conn, *id, probes, nodes); !s.ok()) return s;
  LogInfo("command ", *id, ": run-now for ", nodes.size(), " hosts");

  v1::RunNowResponse response;
  response.set_command_id(*id);
  response.set_targeted_hosts(static_cast<uint32_t>(nodes.size()));
  return response;
}

absl::Status CommandDispatcher::DeliverPending(const std::string& node_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto pending = (*lease)->Query(
      "SELECT c.command_id, c.probes FROM command_targets t JOIN commands c USING (command_id) "
      "WHERE t.node_id = $1 AND t.sent_at IS NULL AND c.created_at > now() - interval '1 hour' "
      "ORDER BY c.created_at",
      {node_id});
  if (!pending.ok()) return pending.status();
  for (int r = 0; r < pending->rows(); ++r) {
    absl::Status s = Dispatch(**lease, std::string(pending->Get(r, 0)),
                              store::ParsePgTextArray(pending->Get(r, 1)), {node_id});
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CommandDispatcher::RecordAck(const std::string& node_id,
                                          const std::string& command_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto r = (*lease)->Query(
      "UPDATE command_targets SET acked_at = now() WHERE command_id::text = $1 AND node_id = $2",
      {command_id, node_id});
  return r.status();
}

absl::StatusOr<v1::CommandStatus> CommandDispatcher::Get(const std::string& command_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  // A host has "results in" when the collector received one of its results
  // of the command's probes after the command; "still failing" when such a
  // result fails. Collector time, not the agents' clocks.
  auto r = (*lease)->Query(
      "SELECT extract(epoch FROM c.created_at), count(t.node_id), count(t.sent_at), "
      "  count(t.acked_at), count(*) FILTER (WHERE x.newest > c.created_at), "
      "  count(*) FILTER (WHERE x.failing), "
      "  array_agg(t.node_id::text ORDER BY t.node_id) FILTER (WHERE t.sent_at IS NULL) "
      "FROM commands c JOIN command_targets t USING (command_id) "
      "LEFT JOIN LATERAL (SELECT max(cs.received_at) AS newest, "
      "  bool_or(cs.status = 3 AND cs.received_at > c.created_at) AS failing "
      "  FROM current_state cs WHERE cs.node_id = t.node_id "
      "  AND (cardinality(c.probes) = 0 OR cs.probe = ANY(c.probes))) x ON TRUE "
      "WHERE c.command_id::text = $1 GROUP BY c.created_at",
      {command_id});
  if (!r.ok()) return r.status();
  if (r->rows() != 1) return absl::NotFoundError(absl::StrCat("no command ", command_id));
  v1::CommandStatus status;
  status.set_command_id(command_id);
  double created = 0;
  (void)absl::SimpleAtod(absl::string_view(r->Get(0, 0).data(), r->Get(0, 0).size()), &created);
  status.mutable_created_at()->set_seconds(static_cast<int64_t>(created));
  status.set_targeted(static_cast<uint32_t>(r->GetInt64(0, 1)));
  status.set_sent(static_cast<uint32_t>(r->GetInt64(0, 2)));
  status.set_acknowledged(static_cast<uint32_t>(r->GetInt64(0, 3)));
  status.set_results_in(static_cast<uint32_t>(r->GetInt64(0, 4)));
  status.set_still_failing(static_cast<uint32_t>(r->GetInt64(0, 5)));
  if (!r->IsNull(0, 6)) {
    for (std::string& id : store::ParsePgTextArray(r->Get(0, 6))) status.add_pending_node_ids(std::move(id));
  }
  return status;
}

}  // namespace pkiwatch::ingest
