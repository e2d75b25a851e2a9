// Ingest throughput: findings/s from an agent-shaped client through the gRPC
// Stream into PostgreSQL (validation, dimension lookup, COPY, current_state,
// ack after commit), against a raw COPY of the same rows in the same run.
// Prints figures; asserts nothing about time.
//
// usage: ingest_bench [--findings N] [--batch N] [--window N] [--rollups 0|1]
//                     [--steady 0|1]
// --steady 1: every URL keeps its status, so results only repeat (the
// steady state of a fleet); by default a URL's status changes on two of
// every three results (a fleet in turmoil, the worst case for the
// pattern counters).

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "collector/ingest/ingest_service.h"
#include "collector/store/pg_literals.h"
#include "common/error_catalogue.h"
#include "pkiwatch/v1/ingest.grpc.pb.h"
#include "tests/integration/in_process_collector.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch {
namespace {

struct Args {
  uint64_t findings = 200000;
  uint64_t batch = 500;
  size_t window = 4;
  bool rollups = true;
  bool steady = false;
};

Args ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const uint64_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--findings") == 0) args.findings = value;
    if (std::strcmp(argv[i], "--batch") == 0) args.batch = value;
    if (std::strcmp(argv[i], "--window") == 0) args.window = value;
    if (std::strcmp(argv[i], "--rollups") == 0) args.rollups = value != 0;
    if (std::strcmp(argv[i], "--steady") == 0) args.steady = value != 0;
  }
  return args;
}

// A fleet-like mix: 2,000 CDP URLs, 20 CAs, a third failing.
v1::Finding MakeFinding(uint64_t i, bool steady) {
  v1::Finding f;
  f.set_probe("crl");
  const std::string url = absl::StrCat("http://pki", i % 2000, ".corp.example/ca", i % 20, ".crl");
  f.set_target(url);
  f.mutable_observed_at()->set_seconds(1795000000 + static_cast<int64_t>(i));
  f.mutable_duration()->set_nanos(12000000);
  f.set_status((steady ? i % 2000 : i) % 3 == 0 ? v1::STATUS_FAIL : v1::STATUS_OK);
  if (f.status() == v1::STATUS_FAIL) {
    *f.mutable_error() = MakeErrorInfo(hr::kCryptERevocationOffline, "curl error 7: refused");
  }
  f.mutable_dimensions()->set_url(url);
  f.mutable_dimensions()->set_url_kind(v1::URL_KIND_CDP);
  f.mutable_dimensions()->set_ca(absl::StrCat("CN=Issuing CA ", i % 20, ",DC=corp,DC=example"));
  f.mutable_dimensions()->set_ca_key_id(absl::StrCat("a1b2c3d4", i % 20));
  f.set_summary("CRL fetch failed");
  return f;
}

int Run(const Args& args) {
  auto pg = testing::TestPostgres::Start();
  if (!pg.ok()) {
    std::fprintf(stderr, "PostgreSQL: %s\n", pg.status().ToString().c_str());
    return 1;
  }
  auto dsn = (*pg)->CreateDatabase();
  store::FindingWriter::Options writer_options;
  writer_options.maintain_rollups = args.rollups;
  auto collector = dsn.ok() ? testing::InProcessCollector::Start(*dsn, "bench-enroll-secret-0123",
                                                                 0, {}, writer_options)
                            : dsn.status();
  if (!collector.ok()) {
    std::fprintf(stderr, "collector: %s\n", collector.status().ToString().c_str());
    return 1;
  }
  auto stub = v1::IngestService::NewStub(
      grpc::CreateChannel((*collector)->address(), grpc::InsecureChannelCredentials()));
  v1::EnrollRequest enroll;
  enroll.set_enroll_secret("bench-enroll-secret-0123");
  v1::EnrollResponse node;
  {
    grpc::ClientContext context;
    if (!stub->Enroll(&context, enroll, &node).ok()) return 1;
  }

  // Pre-serialize, as the agent's spool holds serialized findings.
  std::vector<std::string> payloads;
  payloads.reserve(args.findings);
  for (uint64_t i = 0; i < args.findings; ++i) {
    payloads.push_back(MakeFinding(i, args.steady).SerializeAsString());
  }

  // --- through the Stream
  grpc::ClientContext context;
  context.AddMetadata(ingest::kNodeIdHeader, node.node_id());
  context.AddMetadata(ingest::kNodeKeyHeader, node.node_key());
  auto stream = stub->Stream(&context);
  v1::AgentMessage hello;
  hello.mutable_hello();
  v1::CollectorMessage reply;
  if (!stream->Write(hello) || !stream->Read(&reply)) return 1;
  const absl::Time start = absl::Now();
  uint64_t next = 0;
  uint64_t batch_id = 0;
  size_t inflight = 0;
  uint64_t acked = 0;
  while (acked < args.findings) {
    while (inflight < args.window && next < args.findings) {
      v1::AgentMessage m;
      m.mutable_batch()->set_batch_id(++batch_id);
      for (uint64_t i = next; i < std::min(next + args.batch, args.findings); ++i) {
        v1::SequencedFinding* item = m.mutable_batch()->add_findings();
        item->set_seq(i + 1);
        item->set_finding(payloads[i]);
      }
      next = std::min(next + args.batch, args.findings);
      if (!stream->Write(m)) return 1;
      ++inflight;
    }
    if (!stream->Read(&reply) || !reply.has_ack()) {
      std::fprintf(stderr, "stream ended: %s\n", stream->Finish().error_message().c_str());
      return 1;
    }
    --inflight;
    acked = reply.ack().durable_through_seq();
  }
  const absl::Duration stream_time = absl::Now() - start;
  stream->WritesDone();
  stream->Finish();

  // --- raw COPY of the same rows, same batch size, one transaction each
  auto conn = store::PgConnection::Connect(*dsn);
  if (!conn.ok()) return 1;
  if (!(*conn)->Exec("CREATE TABLE copy_only (LIKE findings INCLUDING ALL)").ok()) return 1;
  const absl::Time copy_start = absl::Now();
  for (uint64_t first = 0; first < args.findings; first += args.batch) {
    std::string data;
    for (uint64_t i = first; i < std::min(first + args.batch, args.findings); ++i) {
      const v1::Finding f = MakeFinding(i, args.steady);
      absl::StrAppend(&data, node.node_id(), "\t", i + 1, "\t",
                      store::PgTimestamp(f.observed_at()), "\t12\tcrl\t");
      store::CopyEscape(f.target(), &data);
      absl::StrAppend(&data, "\t", static_cast<int>(f.status()), "\t", f.error().hresult(),
                      "\t", i % 20 + 1, "\t\\N\t", i % 2000 + 1, "\t");
      store::CopyEscape(f.summary(), &data);
      data += "\t\t\\N\n";
    }
    if (!(*conn)->Begin().ok() ||
        !(*conn)
             ->CopyIn("COPY copy_only (node_id, seq, observed_at, duration_ms, probe, target, "
                      "status, hresult, ca_id, template_id, url_id, summary, native_detail, "
                      "detail) FROM STDIN",
                      data)
             .ok() ||
        !(*conn)->Commit().ok()) {
      std::fprintf(stderr, "raw COPY failed\n");
      return 1;
    }
  }
  const absl::Duration copy_time = absl::Now() - copy_start;

  const double stream_rate = args.findings / absl::ToDoubleSeconds(stream_time);
  const double copy_rate = args.findings / absl::ToDoubleSeconds(copy_time);
  std::printf("ingest_bench: %llu findings, batches of %llu, window %zu, rollups %s, %s "
              "statuses (fsync off)\n",
              static_cast<unsigned long long>(args.findings),
              static_cast<unsigned long long>(args.batch), args.window,
              args.rollups ? "on" : "off", args.steady ? "steady" : "changing");
  std::printf("  Stream -> PostgreSQL (ack after commit): %10.0f findings/s\n", stream_rate);
  std::printf("  raw COPY of the same rows:               %10.0f rows/s\n", copy_rate);
  std::printf("  ratio Stream / raw COPY:                 %10.2f\n", stream_rate / copy_rate);
  return 0;
}

}  // namespace
}  // namespace pkiwatch

int main(int argc, char** argv) { return pkiwatch::Run(pkiwatch::ParseArgs(argc, argv)); }
