// IngestService against a real PostgreSQL: exactly-once delivery across
// broken streams, ack-after-commit, authentication and bad input.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/core/spool.h"
#include "agent/core/uplink.h"
#include "collector/ingest/ingest_service.h"
#include "common/error_catalogue.h"
#include "pkiwatch/v1/ingest.grpc.pb.h"
#include "tests/integration/in_process_collector.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch {
namespace {

using testing::InProcessCollector;
using testing::TestPostgres;

constexpr char kSecret[] = "integration-test-enroll-secret";

v1::Finding MakeFinding(uint64_t i, int url_count = 50) {
  v1::Finding f;
  f.set_probe("crl");
  const std::string url = absl::StrCat("http://pki", i % url_count, ".corp.example/ca.crl");
  f.set_target(url);
  f.mutable_observed_at()->set_seconds(1795000000 + static_cast<int64_t>(i));
  f.set_status(i % 3 == 0 ? v1::STATUS_FAIL : v1::STATUS_OK);
  if (f.status() == v1::STATUS_FAIL) {
    *f.mutable_error() = MakeErrorInfo(hr::kCryptERevocationOffline, "curl error 7: refused");
  }
  f.mutable_dimensions()->set_url(url);
  f.mutable_dimensions()->set_url_kind(v1::URL_KIND_CDP);
  f.mutable_dimensions()->set_ca("CN=Issuing CA 1,DC=corp,DC=example");
  f.mutable_dimensions()->set_ca_key_id("0a1b2c");
  f.set_summary(absl::StrCat("finding ", i));
  return f;
}

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = TestPostgres::Shared();
    ASSERT_TRUE(pg.ok()) << pg.status();
    auto dsn = (*pg)->CreateDatabase();
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
    auto collector = InProcessCollector::Start(dsn_, kSecret);
    ASSERT_TRUE(collector.ok()) << collector.status();
    collector_ = *std::move(collector);
    channel_ = grpc::CreateChannel(collector_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::IngestService::NewStub(channel_);
    auto conn = store::PgConnection::Connect(dsn_);
    ASSERT_TRUE(conn.ok()) << conn.status();
    db_ = *std::move(conn);
  }

  v1::EnrollResponse Enroll() {
    v1::EnrollRequest request;
    request.set_enroll_secret(kSecret);
    request.mutable_host()->set_hostname("host-1");
    request.mutable_host()->set_site("Berlin");
    v1::EnrollResponse response;
    grpc::ClientContext context;
    grpc::Status s = stub_->Enroll(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  int64_t Count(const std::string& sql) {
    auto r = db_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->GetInt64(0, 0) : -1;
  }

  struct Session {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::CollectorMessage>> stream;
    uint64_t durable = 0;
  };

  Session Open(const v1::EnrollResponse& node) {
    Session s;
    s.context = std::make_unique<grpc::ClientContext>();
    s.context->AddMetadata(ingest::kNodeIdHeader, node.node_id());
    s.context->AddMetadata(ingest::kNodeKeyHeader, node.node_key());
    s.stream = stub_->Stream(s.context.get());
    v1::AgentMessage hello;
    hello.mutable_hello()->mutable_host()->set_hostname("host-1");
    EXPECT_TRUE(s.stream->Write(hello));
    v1::CollectorMessage welcome;
    EXPECT_TRUE(s.stream->Read(&welcome));
    EXPECT_TRUE(welcome.has_welcome());
    s.durable = welcome.welcome().durable_through_seq();
    return s;
  }

  static v1::AgentMessage Batch(uint64_t batch_id, uint64_t first_seq, uint64_t count) {
    v1::AgentMessage m;
    m.mutable_batch()->set_batch_id(batch_id);
    for (uint64_t seq = first_seq; seq < first_seq + count; ++seq) {
      v1::SequencedFinding* item = m.mutable_batch()->add_findings();
      item->set_seq(seq);
      item->set_finding(MakeFinding(seq).SerializeAsString());
    }
    return m;
  }

  std::string dsn_;
  std::unique_ptr<InProcessCollector> collector_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
  std::unique_ptr<store::PgConnection> db_;
};

TEST_F(IngestTest, ResendAfterBrokenStreamsStoresEachFindingExactlyOnce) {
  const v1::EnrollResponse node = Enroll();
  constexpr uint64_t kTotal = 10000;
  constexpr uint64_t kBatch = 500;
  const std::string node_filter = absl::StrCat("node_id = '", node.node_id(), "'");

  // Break the stream right after sending batches, before their acks can
  // arrive, several times; each time the collector may or may not have
  // committed some of them. Like the agent, every new stream continues after
  // what the Welcome says is durable.
  uint64_t batch_id = 0;
  uint64_t durable_before = 0;
  for (int round = 0; round < 4; ++round) {
    Session s = Open(node);
    EXPECT_GE(s.durable, durable_before);
    durable_before = s.durable;
    for (uint64_t first = s.durable + 1, i = 0; i < 3 && first <= kTotal; ++i, first += kBatch) {
      ASSERT_TRUE(s.stream->Write(Batch(++batch_id, first, kBatch)));
    }
    s.context->TryCancel();
    s.stream->Finish();
  }

  // Then resend everything from seq 1, as an agent whose acks were all lost
  // would. Each ack must follow its commit.
  Session s = Open(node);
  uint64_t acked = 0;
  for (uint64_t first = 1; first <= kTotal; first += kBatch) {
    ASSERT_TRUE(s.stream->Write(Batch(++batch_id, first, kBatch)));
    v1::CollectorMessage reply;
    ASSERT_TRUE(s.stream->Read(&reply));
    ASSERT_TRUE(reply.has_ack());
    const uint64_t durable = reply.ack().durable_through_seq();
    // A cancelled stream's last batch may still commit after this stream's
    // Welcome, so the mark can be ahead of both; it never goes back.
    EXPECT_GE(durable, std::max(s.durable, first + kBatch - 1));
    EXPECT_GE(durable, acked);
    EXPECT_EQ(reply.ack().accepted() + reply.ack().duplicates(), kBatch);
    // Visible to another connection the moment the ack arrives.
    EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM findings WHERE ", node_filter,
                                 " AND seq <= ", durable)),
              static_cast<int64_t>(durable));
    acked = durable;
  }
  s.stream->WritesDone();
  EXPECT_TRUE(s.stream->Finish().ok());
  EXPECT_EQ(acked, kTotal);

  EXPECT_EQ(Count("SELECT count(*) FROM findings"), static_cast<int64_t>(kTotal));
  EXPECT_EQ(Count("SELECT count(DISTINCT seq) FROM findings"), static_cast<int64_t>(kTotal));
  EXPECT_EQ(Count(absl::StrCat("SELECT durable_through_seq FROM nodes WHERE ", node_filter)),
            static_cast<int64_t>(kTotal));
  // 50 URLs, one current state each, holding the newest finding.
  EXPECT_EQ(Count("SELECT count(*) FROM current_state"), 50);
  EXPECT_EQ(Count("SELECT count(*) FROM urls"), 50);
  EXPECT_EQ(Count("SELECT max(seq) FROM current_state"), static_cast<int64_t>(kTotal));
  EXPECT_EQ(Count("SELECT count(*) FROM current_state WHERE status = 3 AND hresult = 2148081683"),
            Count("SELECT count(*) FROM current_state WHERE seq % 3 = 0"));
}

TEST_F(IngestTest, WrongEnrollSecretIsRefused) {
  v1::EnrollRequest request;
  request.set_enroll_secret("not-the-secret-at-all");
  v1::EnrollResponse response;
  grpc::ClientContext context;
  grpc::Status s = stub_->Enroll(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "enroll secret does not match");
  EXPECT_EQ(Count("SELECT count(*) FROM nodes"), 0);
}

TEST_F(IngestTest, WrongNodeKeyIsRefused) {
  const v1::EnrollResponse node = Enroll();
  for (const auto& [id, key] : std::vector<std::pair<std::string, std::string>>{
           {node.node_id(), "forged-key"},
           {"00000000-0000-4000-8000-000000000000", node.node_key()},
           {"not-a-uuid", node.node_key()},
           {"", ""}}) {
    grpc::ClientContext context;
    context.AddMetadata(ingest::kNodeIdHeader, id);
    context.AddMetadata(ingest::kNodeKeyHeader, key);
    auto stream = stub_->Stream(&context);
    v1::AgentMessage hello;
    hello.mutable_hello();
    stream->Write(hello);
    v1::CollectorMessage reply;
    EXPECT_FALSE(stream->Read(&reply));
    grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << id;
    EXPECT_EQ(s.error_message(), "node id or node key rejected");
  }
}

TEST_F(IngestTest, BadFindingsAreRejectedAloneAndTheRestOfTheBatchIsStored) {
  const v1::EnrollResponse node = Enroll();
  Session s = Open(node);
  v1::AgentMessage m = Batch(1, 1, 6);
  auto* items = m.mutable_batch()->mutable_findings();
  // seq 2: a 1 MB URL.
  v1::Finding huge = MakeFinding(2);
  huge.mutable_dimensions()->set_url("http://pki.corp.example/" + std::string(1 << 20, 'a'));
  items->at(1).set_finding(huge.SerializeAsString());
  // seq 3: invalid UTF-8 inside a string field (the summary "finding 3"
  // with its first byte replaced by 0xFF).
  std::string bytes = MakeFinding(3).SerializeAsString();
  const size_t pos = bytes.find("finding 3");
  ASSERT_NE(pos, std::string::npos);
  bytes[pos] = '\xff';
  items->at(2).set_finding(bytes);
  // seq 4: not a protobuf at all.
  items->at(3).set_finding("\x0a\xff\xff\xff\xff garbage");
  // seq 5: no probe name.
  v1::Finding nameless = MakeFinding(5);
  nameless.clear_probe();
  items->at(4).set_finding(nameless.SerializeAsString());

  ASSERT_TRUE(s.stream->Write(m));
  v1::CollectorMessage reply;
  ASSERT_TRUE(s.stream->Read(&reply));
  ASSERT_TRUE(reply.has_ack());
  const v1::Ack& ack = reply.ack();
  EXPECT_EQ(ack.durable_through_seq(), 6u);
  EXPECT_EQ(ack.accepted(), 2u);
  ASSERT_EQ(ack.rejected_size(), 4);
  EXPECT_EQ(ack.rejected(0).seq(), 2u);
  EXPECT_EQ(ack.rejected(0).reason(), "dimensions.url is 1048600 bytes, limit 2048 bytes");
  EXPECT_EQ(ack.rejected(1).seq(), 3u);
  EXPECT_NE(ack.rejected(1).reason().find("invalid UTF-8"), std::string::npos);
  EXPECT_EQ(ack.rejected(2).seq(), 4u);
  EXPECT_EQ(ack.rejected(3).seq(), 5u);
  EXPECT_NE(ack.rejected(3).reason().find("probe"), std::string::npos);
  s.stream->WritesDone();
  EXPECT_TRUE(s.stream->Finish().ok());

  EXPECT_EQ(Count("SELECT count(*) FROM findings WHERE seq IN (1, 6)"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM findings"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM rejected_findings"), 4);
  EXPECT_EQ(Count("SELECT rejected_total FROM nodes"), 4);
}

TEST_F(IngestTest, BatchBeforeHelloEndsTheStream) {
  const v1::EnrollResponse node = Enroll();
  grpc::ClientContext context;
  context.AddMetadata(ingest::kNodeIdHeader, node.node_id());
  context.AddMetadata(ingest::kNodeKeyHeader, node.node_key());
  auto stream = stub_->Stream(&context);
  stream->Write(Batch(1, 1, 3));
  v1::CollectorMessage reply;
  EXPECT_FALSE(stream->Read(&reply));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Count("SELECT count(*) FROM findings"), 0);
}

// The real agent uplink and spool against a collector that goes away and
// comes back on the same port: nothing is lost, nothing is stored twice.
TEST_F(IngestTest, UplinkDeliversEverythingAcrossACollectorRestart) {
  testing::ScopedTempDir dir;
  auto spool = agent::Spool::Open({.path = dir.path() + "/spool.sqlite"});
  ASSERT_TRUE(spool.ok()) << spool.status();
  v1::UplinkSettings settings;
  settings.set_batch_max_findings(200);
  settings.set_max_inflight_batches(4);
  settings.set_backoff_initial_ms(50);
  settings.set_backoff_max_ms(400);
  agent::Uplink::Options options;
  options.collector = collector_->address();
  options.enroll_secret = kSecret;
  options.identity_path = dir.path() + "/identity.json";
  options.settings = settings;
  auto uplink = agent::Uplink::Create(options, spool->get());
  ASSERT_TRUE(uplink.ok()) << uplink.status();

  auto append = [&](uint64_t first, uint64_t count) {
    std::vector<std::string> payloads;
    for (uint64_t i = first; i < first + count; ++i) {
      payloads.push_back(MakeFinding(i).SerializeAsString());
    }
    ASSERT_TRUE((*spool)->Append(std::move(payloads)).ok());
    (*uplink)->Notify();
  };
  append(0, 3000);
  (*uplink)->Start();
  ASSERT_TRUE((*uplink)->WaitDrained(absl::Now() + absl::Seconds(60)).ok());

  const int port = collector_->port();
  collector_->Stop();
  append(3000, 2000);  // spooled while the collector is down
  absl::SleepFor(absl::Milliseconds(300));
  auto restarted = InProcessCollector::Start(dsn_, kSecret, port);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  collector_ = *std::move(restarted);
  absl::Status drained = (*uplink)->WaitDrained(absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(drained.ok()) << drained;
  (*uplink)->Stop();

  EXPECT_EQ((*spool)->stats().depth, 0u);
  EXPECT_EQ(Count("SELECT count(*) FROM findings"), 5000);
  EXPECT_EQ(Count("SELECT count(DISTINCT seq) FROM findings"), 5000);
  EXPECT_EQ(Count("SELECT max(seq) FROM findings"), 5000);
}

TEST_F(IngestTest, UplinkWithWrongSecretReportsItInsteadOfHanging) {
  testing::ScopedTempDir dir;
  auto spool = agent::Spool::Open({.path = dir.path() + "/spool.sqlite"});
  ASSERT_TRUE(spool.ok()) << spool.status();
  ASSERT_TRUE((*spool)->Append({MakeFinding(1).SerializeAsString()}).ok());
  v1::UplinkSettings settings;
  settings.set_batch_max_findings(100);
  settings.set_max_inflight_batches(1);
  settings.set_backoff_initial_ms(50);
  settings.set_backoff_max_ms(200);
  agent::Uplink::Options options;
  options.collector = collector_->address();
  options.enroll_secret = "a-wrong-secret-of-some-length";
  options.identity_path = dir.path() + "/identity.json";
  options.settings = settings;
  auto uplink = agent::Uplink::Create(options, spool->get());
  ASSERT_TRUE(uplink.ok());
  (*uplink)->Start();
  absl::Status s = (*uplink)->WaitDrained(absl::Now() + absl::Seconds(30));
  (*uplink)->Stop();
  EXPECT_TRUE(absl::IsUnauthenticated(s)) << s;
  EXPECT_NE(s.message().find("enroll secret does not match"), absl::string_view::npos);
}

}  // namespace
}  // namespace pkiwatch
