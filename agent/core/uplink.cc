#include "agent/core/uplink.h"

#include <grpcpp/grpcpp.h>

#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/core/node_identity.h"
#include "common/log.h"
#include "pkiwatch/v1/ingest.grpc.pb.h"

namespace pkiwatch::agent {
namespace {

constexpr char kNodeIdHeader[] = "x-pkiwatch-node-id";
constexpr char kNodeKeyHeader[] = "x-pkiwatch-node-key";
constexpr size_t kMaxBatchBytes = 4 << 20;  // well under the collector's 32 MiB limit
constexpr absl::Duration kIdlePoll = absl::Seconds(5);

absl::Status FromGrpc(absl::string_view what, const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

// The collector will not accept this agent until an operator acts.
bool IsPermanent(const absl::Status& s) {
  return absl::IsUnauthenticated(s) || absl::IsPermissionDenied(s) ||
         absl::IsFailedPrecondition(s);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const v1::UplinkSettings& settings) {
  if (settings.tls_ca_file().empty()) return grpc::InsecureChannelCredentials();
  std::ifstream in(settings.tls_ca_file(), std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", settings.tls_ca_file()));
  std::ostringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem.str();
  return grpc::SslCredentials(options);
}

class GrpcUplink final : public Uplink {
 public:
  GrpcUplink(Options options, Spool* spool, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)),
        spool_(spool),
        identity_file_(options_.identity_path),
        stub_(v1::IngestService::NewStub(channel)) {}
  ~GrpcUplink() override { Stop(); }

  void Start() override { thread_ = std::thread([this] { Loop(); }); }

  void Stop() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  void Notify() override {
    absl::MutexLock lock(&mu_);
    data_hint_ = true;
  }

  absl::Status WaitDrained(absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !permanent_error_.ok() || (spool_->stats().depth == 0 && inflight_.empty());
    };
    // The spool's depth changes under its own lock; re-check periodically as
    // well as on every ack.
    while (!mu_.AwaitWithDeadline(absl::Condition(&done),
                                  std::min(deadline, absl::Now() + absl::Milliseconds(200)))) {
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            spool_->stats().depth, " findings not acknowledged by the collector",
            last_error_.ok() ? "" : absl::StrCat(" (last error: ", last_error_.message(), ")")));
      }
    }
    return permanent_error_;
  }

 private:
  struct InFlight {
    uint64_t batch_id;
    uint64_t last_seq;
  };

  absl::Status EnsureEnrolled();
  absl::Status RunStream();
  void ReadLoop(grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>* stream);
  v1::AgentStats Stats();
  void Loop();

  const Options options_;
  Spool* const spool_;
  const NodeIdentityFile identity_file_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
  std::thread thread_;

  // Only the uplink thread touches these two.
  std::string node_id_;
  std::string node_key_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool data_hint_ ABSL_GUARDED_BY(mu_) = true;
  uint64_t sent_through_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_batch_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<InFlight> inflight_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> pending_command_acks_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  absl::Status permanent_error_ ABSL_GUARDED_BY(mu_);
};

v1::AgentStats GrpcUplink::Stats() {
  const Spool::Stats s = spool_->stats();
  v1::AgentStats stats;
  stats.set_spool_depth(s.depth);
  stats.set_spool_dropped_total(s.dropped_total);
  return stats;
}

absl::Status GrpcUplink::EnsureEnrolled() {
  if (!node_id_.empty()) return absl::OkStatus();
  auto stored = identity_file_.Load();
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    node_id_ = (*stored)->node_id();
    node_key_ = (*stored)->node_key();
    return absl::OkStatus();
  }
  if (options_.enroll_secret.empty()) {
    return absl::FailedPreconditionError(
        "not enrolled and no enroll secret configured (--enroll-secret-file)");
  }
  v1::EnrollRequest request;
  request.set_enroll_secret(options_.enroll_secret);
  *request.mutable_host() = options_.host;
  v1::EnrollResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = FromGrpc(absl::StrCat("Enroll at ", options_.collector),
                                stub_->Enroll(&context, request, &response));
      !s.ok()) {
    return s;
  }
  v1::NodeIdentity identity;
  identity.set_node_id(response.node_id());
  identity.set_node_key(response.node_key());
  identity.set_collector(options_.collector);
  identity.mutable_enrolled_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  if (absl::Status s = identity_file_.Save(identity); !s.ok()) return s;
  node_id_ = response.node_id();
  node_key_ = response.node_key();
  LogInfo("enrolled as node ", node_id_);
  return absl::OkStatus();
}

void GrpcUplink::ReadLoop(
    grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>* stream) {
  v1::CollectorMessage message;
  while (stream->Read(&message)) {
    if (message.has_ack()) {
      const v1::Ack& ack = message.ack();
      for (const v1::Rejection& r : ack.rejected()) {
        LogWarning("collector rejected finding ", r.seq(), ": ", r.reason());
      }
      // Deleting is safe: the collector acks only after its commit.
      absl::Status s = spool_->AckThrough(ack.durable_through_seq());
      absl::MutexLock lock(&mu_);
      if (!s.ok()) last_error_ = s;
      while (!inflight_.empty() && inflight_.front().batch_id <= ack.batch_id()) {
        inflight_.pop_front();
      }
      data_hint_ = true;  // room in the window
    } else if (message.has_command()) {
      if (options_.on_command) options_.on_command(message.command());
      // Acknowledged by the writer loop: only one thread writes the stream.
      absl::MutexLock lock(&mu_);
      pending_command_acks_.push_back(message.command().command_id());
    }
  }
  absl::MutexLock lock(&mu_);
  broken_ = true;
}

absl::Status GrpcUplink::RunStream() {
  grpc::ClientContext context;
  context.AddMetadata(kNodeIdHeader, node_id_);
  context.AddMetadata(kNodeKeyHeader, node_key_);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    context_ = &context;
    broken_ = false;
    inflight_.clear();
  }
  auto stream = stub_->Stream(&context);
  // Before the reader thread runs: the server's status, if it sent one,
  // explains the failure better than ours (e.g. a rejected node key).
  auto finish = [&](absl::Status local, bool cancel) {
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
    }
    if (cancel) context.TryCancel();  // the stream is still open: end it first
    absl::Status remote = FromGrpc("Stream", stream->Finish());
    return remote.ok() ? local : remote;
  };

  v1::AgentMessage hello;
  *hello.mutable_hello()->mutable_host() = options_.host;
  *hello.mutable_hello()->mutable_stats() = Stats();
  v1::CollectorMessage welcome;
  if (!stream->Write(hello) || !stream->Read(&welcome)) {
    return finish(absl::UnavailableError("Stream closed before Welcome"), false);
  }
  if (!welcome.has_welcome()) {
    return finish(absl::InternalError("collector did not answer Hello with Welcome"), true);
  }
  const uint64_t durable = welcome.welcome().durable_through_seq();
  if (absl::Status s = spool_->EnsureSeqAbove(durable); !s.ok()) return finish(s, true);
  {
    absl::MutexLock lock(&mu_);
    sent_through_ = durable;  // resend everything the collector does not hold
    data_hint_ = true;
    last_error_ = absl::OkStatus();
  }
  LogInfo("connected to ", options_.collector, " as node ", node_id_,
          ", collector holds through seq ", durable);

  std::thread reader([this, &stream] { ReadLoop(stream.get()); });
  absl::Status local = absl::OkStatus();
  const size_t window = std::max<uint32_t>(1, options_.settings.max_inflight_batches());
  for (;;) {
    uint64_t after = 0;
    uint64_t batch_id = 0;
    std::vector<std::string> command_acks;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || broken_ || !pending_command_acks_.empty() ||
               (data_hint_ && inflight_.size() < window);
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), kIdlePoll);
      if (stopping_ || broken_) break;
      command_acks.swap(pending_command_acks_);
    }
    bool written = true;
    for (const std::string& id : command_acks) {
      v1::AgentMessage ack;
      ack.mutable_command_ack()->set_command_id(id);
      written = written && stream->Write(ack);
    }
    if (!written) break;
    {
      absl::MutexLock lock(&mu_);
      if (inflight_.size() >= window || !data_hint_) continue;
      data_hint_ = false;
      after = sent_through_;
      batch_id = ++next_batch_id_;
    }
    auto entries = spool_->ReadAfter(after, options_.settings.batch_max_findings(), kMaxBatchBytes);
    if (!entries.ok()) {
      local = entries.status();
      break;
    }
    if (entries->empty()) continue;
    v1::AgentMessage message;
    v1::FindingBatch* batch = message.mutable_batch();
    batch->set_batch_id(batch_id);
    for (Spool::Entry& e : *entries) {
      v1::SequencedFinding* item = batch->add_findings();
      item->set_seq(e.seq);
      item->set_finding(std::move(e.payload));
    }
    *batch->mutable_stats() = Stats();
    {
      absl::MutexLock lock(&mu_);
      inflight_.push_back({batch_id, entries->back().seq});
      sent_through_ = entries->back().seq;
      data_hint_ = true;  // there may be more behind this batch
    }
    if (!stream->Write(message)) break;
  }
  bool cancel = !local.ok();
  {
    absl::MutexLock lock(&mu_);
    cancel |= stopping_;
    context_ = nullptr;
  }
  // Finish may only run once the reader saw the end of the stream.
  if (cancel) context.TryCancel();
  reader.join();
  absl::Status remote = FromGrpc("Stream", stream->Finish());
  if (!local.ok()) return local;
  if (!remote.ok()) return remote;
  return absl::UnavailableError("stream closed by the collector");
}

void GrpcUplink::Loop() {
  absl::BitGen random;
  const absl::Duration initial = absl::Milliseconds(options_.settings.backoff_initial_ms());
  const absl::Duration maximum = absl::Milliseconds(options_.settings.backoff_max_ms());
  absl::Duration backoff = initial;
  for (;;) {
    absl::Status s = EnsureEnrolled();
    bool had_identity = !node_id_.empty();
    const absl::Time attempt_start = absl::Now();
    if (s.ok()) s = RunStream();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (had_identity && absl::IsUnauthenticated(s) && !options_.enroll_secret.empty()) {
      // The collector no longer knows this node (e.g. its database was
      // rebuilt): enroll again; the spool keeps its data and numbering.
      LogWarning("node key rejected (", s.message(), "); enrolling again");
      (void)identity_file_.Remove();
      node_id_.clear();
      node_key_.clear();
      s = absl::UnavailableError("re-enrolling");
      backoff = initial;
    }
    // A connection that lasted a while proves the path: start over small.
    if (absl::Now() - attempt_start > maximum) backoff = initial;
    {
      absl::MutexLock lock(&mu_);
      last_error_ = s;
      if (IsPermanent(s) && !(had_identity && absl::IsUnauthenticated(s))) permanent_error_ = s;
    }
    LogWarning("uplink: ", s.message(), "; retrying in about ",
               absl::FormatDuration(backoff));
    const absl::Duration sleep = backoff * absl::Uniform(random, 0.5, 1.5);
    backoff = std::min(backoff * 2, maximum);
    absl::MutexLock lock(&mu_);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), sleep)) return;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Uplink>> Uplink::Create(Options options, Spool* spool) {
  if (options.collector.empty()) return absl::InvalidArgumentError("no collector address");
  auto credentials = Credentials(options.settings);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  // Detect a silently dead connection (NAT, firewall) within minutes.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, options.settings.backoff_max_ms());
  if (!options.settings.tls_server_name().empty()) {
    args.SetSslTargetNameOverride(options.settings.tls_server_name());
  }
  auto channel = grpc::CreateCustomChannel(options.collector, *credentials, args);
  return std::unique_ptr<Uplink>(new GrpcUplink(std::move(options), spool, std::move(channel)));
}

}  // namespace pkiwatch::agent
