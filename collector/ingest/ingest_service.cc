#include "collector/ingest/ingest_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "collector/ingest/finding_validation.h"
#include "common/log.h"

namespace pkiwatch::ingest {
namespace {

std::string Metadata(const grpc::ServerContext& context, std::string_view key) {
  const auto& md = context.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::Status IngestServiceImpl::Enroll(grpc::ServerContext* context,
                                       const v1::EnrollRequest* request,
                                       v1::EnrollResponse* response) {
  auto enrolled = registry_->Enroll(*request);
  if (!enrolled.ok()) {
    if (absl::IsUnauthenticated(enrolled.status())) {
      ++counters_->auth_failures;
      LogWarning("enroll refused from ", context->peer(), ": ", enrolled.status().message());
    }
    return ToGrpc(enrolled.status());
  }
  *response = *std::move(enrolled);
  LogInfo("enrolled node ", response->node_id(), " (", request->host().hostname(), ") from ",
          context->peer());
  return grpc::Status::OK;
}

store::NodeBatch IngestServiceImpl::Validate(const std::string& node_id,
                                             const v1::FindingBatch& batch) {
  store::NodeBatch out;
  out.node_id = node_id;
  out.stats = batch.has_stats() ? &batch.stats() : nullptr;
  uint64_t previous = 0;
  for (const v1::SequencedFinding& item : batch.findings()) {
    if (item.seq() != 0 && item.seq() <= previous) {
      out.rejected.push_back({item.seq(), "seq not ascending within the batch"});
      continue;
    }
    previous = item.seq();
    out.max_seq = std::max(out.max_seq, item.seq());
    auto finding = ParseAndValidateFinding(item);
    if (!finding.ok()) {
      if (item.seq() != 0) out.rejected.push_back({item.seq(), std::string(finding.status().message())});
      continue;
    }
    out.accepted.push_back({item.seq(), *std::move(finding)});
  }
  return out;
}

grpc::Status IngestServiceImpl::Stream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::CollectorMessage, v1::AgentMessage>* stream) {
  const std::string node_id = Metadata(*context, kNodeIdHeader);
  if (absl::Status s = registry_->Authenticate(node_id, Metadata(*context, kNodeKeyHeader));
      !s.ok()) {
    if (absl::IsUnauthenticated(s)) {
      ++counters_->auth_failures;
      LogWarning("stream refused from ", context->peer(), ": ", s.message());
    }
    return ToGrpc(s);
  }

  // Acks (this thread) and commands (other threads) share the stream; one
  // writer at a time.
  absl::Mutex write_mu;
  auto write = [&](const v1::CollectorMessage& m) {
    absl::MutexLock lock(&write_mu);
    return stream->Write(m);
  };
  std::unique_ptr<StreamRegistry::Registration> registration;

  bool hello_seen = false;
  v1::AgentMessage message;
  while (stream->Read(&message)) {
    v1::CollectorMessage reply;
    switch (message.kind_case()) {
      case v1::AgentMessage::kHello: {
        auto durable = registry_->RecordHello(node_id, message.hello());
        if (!durable.ok()) return ToGrpc(durable.status());
        hello_seen = true;
        reply.mutable_welcome()->set_node_id(node_id);
        reply.mutable_welcome()->set_durable_through_seq(*durable);
        if (!write(reply)) return grpc::Status::OK;
        if (streams_ != nullptr && registration == nullptr) {
          registration = streams_->Register(node_id, write);
          if (commands_ != nullptr) {
            if (absl::Status s = commands_->DeliverPending(node_id); !s.ok()) {
              LogWarning("pending commands for node ", node_id, ": ", s.message());
            }
          }
        }
        continue;
      }
      case v1::AgentMessage::kCommandAck: {
        if (commands_ != nullptr) {
          absl::Status s = commands_->RecordAck(node_id, message.command_ack().command_id());
          if (!s.ok()) LogWarning("command ack of node ", node_id, ": ", s.message());
        }
        continue;
      }
      case v1::AgentMessage::kBatch: {
        if (!hello_seen) {
          return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              "send Hello before the first batch");
        }
        const v1::FindingBatch& batch = message.batch();
        if (static_cast<size_t>(batch.findings_size()) > kMaxFindingsPerBatch) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              absl::StrCat("batch of ", batch.findings_size(),
                                           " findings exceeds the limit of ",
                                           kMaxFindingsPerBatch));
        }
        store::NodeBatch node_batch = Validate(node_id, batch);
        const absl::Time write_start = absl::Now();
        auto written = writer_->Write(node_batch);
        counters_->RecordWrite(absl::ToDoubleSeconds(absl::Now() - write_start));
        if (!written.ok()) {
          ++counters_->write_errors;
          LogError("storing batch ", batch.batch_id(), " of node ", node_id,
                   " failed: ", written.status().ToString());
          // Not acknowledged: the agent keeps the findings and resends.
          return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              absl::StrCat("storing the batch failed, resend: ",
                                           written.status().message()));
        }
        ++counters_->batches;
        counters_->findings_stored += written->stored;
        counters_->findings_duplicate += written->duplicates;
        counters_->findings_rejected += node_batch.rejected.size();
        v1::Ack* ack = reply.mutable_ack();
        ack->set_batch_id(batch.batch_id());
        ack->set_durable_through_seq(written->durable_through_seq);
        ack->set_accepted(written->stored);
        ack->set_duplicates(written->duplicates);
        for (const store::RejectedFinding& r : node_batch.rejected) {
          v1::Rejection* rejection = ack->add_rejected();
          rejection->set_seq(r.seq);
          rejection->set_reason(r.reason);
        }
        break;
      }
      case v1::AgentMessage::KIND_NOT_SET:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty AgentMessage");
    }
    if (!write(reply)) break;  // the agent went away; it resends what is unacked
  }
  return grpc::Status::OK;
}

}  // namespace pkiwatch::ingest
