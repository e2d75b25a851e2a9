#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "collector/ingest/stream_registry.h"
#include "collector/store/connection_pool.h"
#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::ingest {

// Run-now commands: a PKI engineer asks the hosts of a pattern (or a list of
// hosts) to run their probes at once, e.g. to verify a fix. Commands and
// their per-host progress live in PostgreSQL (commands, command_targets);
// connected agents get them over their open stream at once, the others at
// their next Hello. Thread-safe.
class CommandDispatcher {
 public:
  CommandDispatcher(store::ConnectionPool* pool, StreamRegistry* streams)
      : pool_(pool), streams_(streams) {}

  // InvalidArgument when neither a pattern nor node ids are given, NotFound
  // when the pattern has no failing hosts.
  absl::StatusOr<v1::RunNowResponse> RunNow(const v1::RunNowRequest& request);
  absl::StatusOr<v1::CommandStatus> Get(const std::string& command_id);

  // Pushes the node's undelivered commands of the last hour; call after
  // the node's stream is registered.
  absl::Status DeliverPending(const std::string& node_id);
  absl::Status RecordAck(const std::string& node_id, const std::string& command_id);

 private:
  // Sends to each target that is connected and records sent_at.
  absl::Status Dispatch(store::PgConnection& conn, const std::string& command_id,
                        const std::vector<std::string>& probes,
                        const std::vector<std::string>& node_ids);

  store::ConnectionPool* const pool_;
  StreamRegistry* const streams_;
};

}  // namespace pkiwatch::ingest
