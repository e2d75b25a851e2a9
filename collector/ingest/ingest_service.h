#pragma once

#include "collector/ingest/command_dispatcher.h"
#include "collector/ingest/ingest_counters.h"
#include "collector/ingest/node_registry.h"
#include "collector/ingest/stream_registry.h"
#include "collector/store/finding_writer.h"
#include "pkiwatch/v1/ingest.grpc.pb.h"

namespace pkiwatch::ingest {

// IngestService over gRPC: enrollment and the per-agent stream. Each batch
// is validated finding by finding (a bad finding is rejected alone, listed in
// the Ack and recorded in rejected_findings), written in one transaction,
// and acknowledged only after COMMIT. A failed write ends the stream with
// UNAVAILABLE: the agent reconnects and resends, and the seq high-water mark
// drops whatever was already stored.
class IngestServiceImpl final : public v1::IngestService::Service {
 public:
  // `streams` and `commands` may be null (no run-now commands then).
  IngestServiceImpl(NodeRegistry* registry, store::FindingWriter* writer,
                    IngestCounters* counters, StreamRegistry* streams = nullptr,
                    CommandDispatcher* commands = nullptr)
      : registry_(registry),
        writer_(writer),
        counters_(counters),
        streams_(streams),
        commands_(commands) {}

  grpc::Status Enroll(grpc::ServerContext* context, const v1::EnrollRequest* request,
                      v1::EnrollResponse* response) override;
  grpc::Status Stream(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<v1::CollectorMessage, v1::AgentMessage>* stream)
      override;

 private:
  // Turns a batch into what the writer stores and what it refuses.
  store::NodeBatch Validate(const std::string& node_id, const v1::FindingBatch& batch);

  NodeRegistry* const registry_;
  store::FindingWriter* const writer_;
  IngestCounters* const counters_;
  StreamRegistry* const streams_;
  CommandDispatcher* const commands_;
};

// Metadata keys that authenticate a stream.
inline constexpr char kNodeIdHeader[] = "x-pkiwatch-node-id";
inline constexpr char kNodeKeyHeader[] = "x-pkiwatch-node-key";

// absl::Status -> grpc::Status with the same canonical code and message.
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace pkiwatch::ingest
