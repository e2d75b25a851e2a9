// Fleet intelligence against a real PostgreSQL: a synthetic fleet of 300
// hosts in 6 sites, written through the real ingest stream, must yield the
// right blame for an endpoint fault, a network-segment fault and a client
// fault; expiring CRLs show up before they expire; run-now reaches live
// agents whose new results close the pattern; every HTTP endpoint answers
// exactly as its gRPC twin.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/core/node_identity.h"
#include "agent/core/scheduler.h"
#include "agent/core/spool.h"
#include "agent/core/uplink.h"
#include "collector/http/http_api.h"
#include "collector/ingest/ingest_service.h"
#include "collector/query/pattern_query.h"
#include "common/error_catalogue.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "pkiwatch/v1/ingest.grpc.pb.h"
#include "pkiwatch/v1/query.grpc.pb.h"
#include "tests/integration/in_process_collector.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch {
namespace {

constexpr char kSecret[] = "fleet-test-enroll-secret";
constexpr int kSites = 6;
constexpr int kHostsPerSite = 50;
const std::string kCdpDown = "http://pki.corp.example/cdp/down.crl";      // endpoint fault
const std::string kCdpBranch = "http://pki.corp.example/cdp/branch.crl";  // site 3 cannot reach
const std::string kCdpOk = "http://pki.corp.example/cdp/ok.crl";          // only the skewed host
const std::string kCdpSoon = "http://pki.corp.example/cdp/soon.crl";      // expires in 2 days
const std::string kCdpHistory = "http://pki.corp.example/cdp/history.crl";  // GetUrl only
constexpr int kSkewedHost = 7;   // in site 0
constexpr int kBranchSite = 3;
constexpr int kStaleSite = 5;    // still sees the previous CRL of kCdpSoon

std::string Site(int host) { return absl::StrCat("site-", host / kHostsPerSite); }
std::string Hostname(int host) { return absl::StrCat("ws", host); }

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

v1::Finding Crl(const std::string& url, bool ok, absl::Time now, int crl_number = 7,
                absl::Duration next_update_in = absl::Hours(24 * 6)) {
  v1::Finding f;
  f.set_probe("crl");
  f.set_target(url);
  *f.mutable_observed_at() = Ts(now);
  f.set_status(ok ? v1::STATUS_OK : v1::STATUS_FAIL);
  f.mutable_dimensions()->set_url(url);
  f.mutable_dimensions()->set_url_kind(v1::URL_KIND_CDP);
  f.mutable_dimensions()->set_ca("CN=Corp Issuing CA,DC=corp,DC=example");
  f.mutable_dimensions()->set_ca_key_id("c0ffee");
  if (ok) {
    *f.mutable_crl()->mutable_this_update() = Ts(now - absl::Hours(1));
    *f.mutable_crl()->mutable_next_update() = Ts(now + next_update_in);
    f.mutable_crl()->set_crl_number(absl::StrCat(crl_number));
    f.set_summary("CRL valid");
  } else {
    *f.mutable_error() = MakeErrorInfo(hr::kCryptERevocationOffline, "curl error 7");
    f.set_summary("CRL fetch failed");
  }
  return f;
}

v1::Finding Clock(bool ok, absl::Time now) {
  v1::Finding f;
  f.set_probe("clock");
  f.set_target("ntp.corp.example");
  *f.mutable_observed_at() = Ts(now);
  f.set_status(ok ? v1::STATUS_OK : v1::STATUS_FAIL);
  if (!ok) *f.mutable_error() = MakeErrorInfo(hr::kEFail, "offset 600 s");
  return f;
}

// What host `h` observes in the synthetic fleet.
std::vector<v1::Finding> FleetFindings(int h, absl::Time now) {
  const bool skewed = h == kSkewedHost;
  std::vector<v1::Finding> out;
  // Down for everyone but every 20th host (a cached copy, say).
  out.push_back(Crl(kCdpDown, h % 20 == 0 && !skewed, now));
  out.push_back(Crl(kCdpBranch, h / kHostsPerSite != kBranchSite && !skewed, now));
  out.push_back(Crl(kCdpOk, !skewed, now));
  out.push_back(Crl(kCdpSoon, !skewed, now, h / kHostsPerSite == kStaleSite ? 41 : 42,
                    absl::Hours(48) - absl::Hours(h / kHostsPerSite == kStaleSite ? 6 : 0)));
  out.push_back(Clock(!skewed, now));
  return out;
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::TestPostgres::Shared();
    ASSERT_TRUE(pg.ok()) << pg.status();
    auto dsn = (*pg)->CreateDatabase();
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
    auto collector = testing::InProcessCollector::Start(dsn_, kSecret);
    ASSERT_TRUE(collector.ok()) << collector.status();
    collector_ = *std::move(collector);
    auto channel =
        grpc::CreateChannel(collector_->address(), grpc::InsecureChannelCredentials());
    ingest_ = v1::IngestService::NewStub(channel);
    query_ = v1::QueryService::NewStub(channel);
    auto http = http::HttpApi::Start("127.0.0.1:0", &collector_->backend(),
                                     &collector_->counters(), &collector_->streams());
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);

    const absl::Time now = absl::Now();
    for (int h = 0; h < kSites * kHostsPerSite; ++h) {
      nodes_.push_back(Enroll(h));
      Send(h, FleetFindings(h, now));
    }
  }

  v1::EnrollResponse Enroll(int h) {
    v1::EnrollRequest request;
    request.set_enroll_secret(kSecret);
    request.mutable_host()->set_hostname(Hostname(h));
    request.mutable_host()->set_site(Site(h));
    v1::EnrollResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(ingest_->Enroll(&context, request, &response).ok());
    return response;
  }

  // One stream per host, like its agent: Hello (with the site), one batch.
  void Send(int h, const std::vector<v1::Finding>& findings) {
    grpc::ClientContext context;
    context.AddMetadata(ingest::kNodeIdHeader, nodes_[h].node_id());
    context.AddMetadata(ingest::kNodeKeyHeader, nodes_[h].node_key());
    auto stream = ingest_->Stream(&context);
    v1::AgentMessage hello;
    hello.mutable_hello()->mutable_host()->set_hostname(Hostname(h));
    hello.mutable_hello()->mutable_host()->set_site(Site(h));
    v1::CollectorMessage reply;
    ASSERT_TRUE(stream->Write(hello) && stream->Read(&reply));
    uint64_t seq = reply.welcome().durable_through_seq();
    v1::AgentMessage batch;
    batch.mutable_batch()->set_batch_id(1);
    for (const v1::Finding& f : findings) {
      v1::SequencedFinding* item = batch.mutable_batch()->add_findings();
      item->set_seq(++seq);
      item->set_finding(f.SerializeAsString());
    }
    ASSERT_TRUE(stream->Write(batch) && stream->Read(&reply));
    ASSERT_EQ(reply.ack().rejected_size(), 0);
    stream->WritesDone();
    ASSERT_TRUE(stream->Finish().ok());
  }

  std::map<std::string, v1::Pattern> Patterns(v1::GroupBy by) {
    v1::ListPatternsRequest request;
    request.set_by(by);
    request.set_include_healthy(true);
    request.set_page_size(1000);
    v1::ListPatternsResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(query_->ListPatterns(&context, request, &response).ok());
    std::map<std::string, v1::Pattern> out;
    for (const v1::Pattern& p : response.patterns()) out[p.key()] = p;
    return out;
  }

  // The HTTP answer, parsed back into the response message.
  template <typename Message>
  Message HttpGet(const std::string& path) {
    httplib::Client client("127.0.0.1", http_->port());
    auto res = client.Get(path.c_str());
    Message m;
    EXPECT_TRUE(res) << path;
    if (!res) return m;
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(res->body, &m).ok()) << res->body;
    return m;
  }

  std::string dsn_;
  std::unique_ptr<testing::InProcessCollector> collector_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::QueryService::Stub> query_;
  std::unique_ptr<http::HttpApi> http_;
  std::vector<v1::EnrollResponse> nodes_;
};

TEST_F(FleetTest, BlameTellsEndpointNetworkSegmentAndClientApart) {
  auto patterns = Patterns(v1::GROUP_BY_URL);

  const v1::Pattern& down = patterns[kCdpDown];
  EXPECT_EQ(down.total_hosts(), 300u);
  EXPECT_EQ(down.failing_hosts(), 300u - 15u);  // every 20th host still works
  EXPECT_EQ(down.blame().blame(), v1::BLAME_ENDPOINT) << down.blame().reason();
  EXPECT_EQ(down.blame().sites_failing(), 6u);
  ASSERT_GT(down.next_steps_size(), 1);
  EXPECT_NE(down.next_steps(0).find("endpoint"), std::string::npos);
  EXPECT_EQ(down.top_errors(0).error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");

  const v1::Pattern& branch = patterns[kCdpBranch];
  EXPECT_EQ(branch.failing_hosts(), 51u);  // site 3, plus the skewed host
  EXPECT_EQ(branch.blame().blame(), v1::BLAME_NETWORK_SEGMENT) << branch.blame().reason();
  ASSERT_GE(branch.sites_size(), 1);
  EXPECT_EQ(branch.sites(0).site(), absl::StrCat("site-", kBranchSite));
  EXPECT_EQ(branch.sites(0).failing_hosts(), 50u);
  EXPECT_NE(branch.blame().reason().find("site-3"), std::string::npos);

  const v1::Pattern& ok = patterns[kCdpOk];
  EXPECT_EQ(ok.failing_hosts(), 1u);
  EXPECT_EQ(ok.blame().blame(), v1::BLAME_CLIENT) << ok.blame().reason();
  EXPECT_TRUE(ok.blame().clock_skew_seen());
  EXPECT_DOUBLE_EQ(ok.blame().failing_hosts_failing_other_share(), 1.0);

  // Grouped by host, the skewed host leads with everything failing.
  auto hosts = Patterns(v1::GROUP_BY_HOST);
  EXPECT_EQ(hosts[Hostname(kSkewedHost)].failing_hosts(), 1u);
  // Grouped by site, site 3 has all its hosts failing something.
  auto sites = Patterns(v1::GROUP_BY_SITE);
  EXPECT_EQ(sites["site-3"].failing_hosts(), 50u);
  EXPECT_EQ(sites["site-3"].total_hosts(), 50u);
}

TEST_F(FleetTest, TrendComesFromTheHourlyRollups) {
  v1::ListPatternsRequest request;
  request.set_by(v1::GROUP_BY_URL);
  request.set_max_age_seconds(3600);
  v1::ListPatternsResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(query_->ListPatterns(&context, request, &response).ok());
  std::map<std::string, v1::Pattern> patterns;
  for (const v1::Pattern& p : response.patterns()) patterns[p.key()] = p;
  EXPECT_EQ(patterns[kCdpDown].failing_findings(), 285u);
  EXPECT_EQ(patterns[kCdpDown].previous_failing_findings(), 0u);
  EXPECT_EQ(patterns[kCdpDown].trend(), 285);
  // A second round of the same failures doubles this window's count.
  const absl::Time now = absl::Now();
  for (int h = 0; h < 5; ++h) Send(h, {Crl(kCdpBranch, false, now)});
  request.set_by(v1::GROUP_BY_SITE);
  v1::ListPatternsResponse sites;
  grpc::ClientContext context2;
  ASSERT_TRUE(query_->ListPatterns(&context2, request, &sites).ok());
  for (const v1::Pattern& p : sites.patterns()) {
    if (p.key() == "site-0") {
      // site 0: 50 hosts failing "down" but for 3 (0, 20, 40), the skewed host
      // failing its 4 other results, and the 5 new branch failures.
      EXPECT_EQ(p.failing_findings(), 47u + 4u + 5u);
    }
  }
}

TEST_F(FleetTest, ExpiringCrlIsListedWithTheSitesBehind) {
  v1::ListExpiringRequest request;
  request.set_within_seconds(3 * 86400);
  v1::ListExpiringResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(query_->ListExpiring(&context, request, &response).ok());
  ASSERT_EQ(response.crls_size(), 1) << response.DebugString();  // the 6-day ones are beyond
  const v1::ExpiringCrl& crl = response.crls(0);
  EXPECT_EQ(crl.url(), kCdpSoon);
  EXPECT_EQ(crl.newest_crl_number(), "42");
  EXPECT_GT(crl.seconds_left(), 40 * 3600);
  EXPECT_LT(crl.seconds_left(), 49 * 3600);
  EXPECT_EQ(crl.hosts(), 299u);
  ASSERT_EQ(crl.sites_behind_size(), 1);
  EXPECT_EQ(crl.sites_behind(0), absl::StrCat("site-", kStaleSite));
}

// A CRL as fetched from kCdpHistory at `observed`.
v1::Finding HistoryCrl(absl::Time observed, int number, absl::Time this_update,
                       absl::Time next_update) {
  v1::Finding f = Crl(kCdpHistory, true, observed, number);
  *f.mutable_crl()->mutable_this_update() = Ts(this_update);
  *f.mutable_crl()->mutable_next_update() = Ts(next_update);
  return f;
}

TEST_F(FleetTest, UrlHistoryShowsCrlVersionsHostsAndTheLapse) {
  // Hosts 0-2 (site 0): CRL 10 expired at now-4h, the CA published 11 only
  // at now-2h (a lapse, with a failed fetch in between), then 12.
  const absl::Time now = absl::Now();
  Send(0, {HistoryCrl(now - absl::Hours(5), 10, now - absl::Hours(6), now - absl::Hours(4))});
  Send(1, {Crl(kCdpHistory, false, now - absl::Hours(3))});
  Send(0, {HistoryCrl(now - absl::Hours(2), 11, now - absl::Hours(2) - absl::Minutes(5),
                      now + absl::Hours(20))});
  Send(1, {HistoryCrl(now, 11, now - absl::Hours(2) - absl::Minutes(5), now + absl::Hours(20))});
  Send(2, {HistoryCrl(now, 12, now - absl::Minutes(30), now + absl::Hours(24))});

  v1::GetUrlRequest request;
  request.set_url(kCdpHistory);
  v1::GetUrlResponse url;
  grpc::ClientContext context;
  ASSERT_TRUE(query_->GetUrl(&context, request, &url).ok());
  EXPECT_EQ(url.url(), kCdpHistory);
  EXPECT_EQ(url.url_kind(), v1::URL_KIND_CDP);
  EXPECT_EQ(url.failing_hosts(), 0u);  // host 1's latest result is OK again
  EXPECT_EQ(url.total_hosts(), 3u);
  ASSERT_EQ(url.sites_size(), 1);
  EXPECT_EQ(url.sites(0).site(), "site-0");

  ASSERT_EQ(url.crl_versions_size(), 3) << url.DebugString();
  const v1::CrlVersion& v12 = url.crl_versions(0);
  const v1::CrlVersion& v11 = url.crl_versions(1);
  const v1::CrlVersion& v10 = url.crl_versions(2);
  EXPECT_EQ(v12.crl_number(), "12");
  EXPECT_EQ(v11.crl_number(), "11");
  EXPECT_EQ(v10.crl_number(), "10");
  EXPECT_EQ(v12.hosts_now(), 1u);
  EXPECT_EQ(v11.hosts_now(), 2u);
  EXPECT_EQ(v10.hosts_now(), 0u);
  EXPECT_EQ(v11.observations(), 2u);
  EXPECT_EQ(v11.first_seen().seconds(), absl::ToUnixSeconds(now - absl::Hours(2)));
  EXPECT_EQ(v11.last_seen().seconds(), absl::ToUnixSeconds(now));
  EXPECT_EQ(v10.next_update().seconds(), absl::ToUnixSeconds(now - absl::Hours(4)));
  EXPECT_TRUE(v10.lapsed());   // 11 first seen 2 h after 10 expired
  EXPECT_FALSE(v11.lapsed());  // 12 came while 11 was valid
  EXPECT_FALSE(v12.lapsed());

  // Hours with findings, oldest first; the failed fetch is in its hour.
  ASSERT_EQ(url.timeline_size(), 4) << url.DebugString();
  EXPECT_EQ(url.timeline(0).ok_findings(), 1u);
  EXPECT_EQ(url.timeline(1).failing_findings(), 1u);
  EXPECT_EQ(url.timeline(1).top_error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_EQ(url.timeline(3).ok_findings(), 2u);
  for (int i = 1; i < url.timeline_size(); ++i) {
    EXPECT_GT(url.timeline(i).start().seconds(), url.timeline(i - 1).start().seconds());
  }

  // A window of one hour keeps only what was seen in it.
  request.set_max_age_seconds(3600);
  grpc::ClientContext narrow_context;
  ASSERT_TRUE(query_->GetUrl(&narrow_context, request, &url).ok());
  EXPECT_EQ(url.crl_versions_size(), 2);  // 11 and 12 were seen now
  EXPECT_LE(url.timeline_size(), 2);

  // An unknown URL is NOT_FOUND; no URL is INVALID_ARGUMENT.
  request.set_url("http://nowhere.example/none.crl");
  grpc::ClientContext unknown_context;
  EXPECT_EQ(query_->GetUrl(&unknown_context, request, &url).error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.clear_url();
  grpc::ClientContext empty_context;
  EXPECT_EQ(query_->GetUrl(&empty_context, request, &url).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// The branch CDP as seen from the branch site: failing until the network
// is fixed.
class BranchProbe : public Probe {
 public:
  explicit BranchProbe(const std::atomic<bool>* fixed) : fixed_(fixed) {}
  const ProbeInfo& info() const override { return kCrlProbeInfo; }
  std::vector<v1::Finding> Run(const ProbeContext& ctx) override {
    return {Crl(kCdpBranch, fixed_->load(), ctx.now)};
  }

 private:
  const std::atomic<bool>* fixed_;
};

TEST_F(FleetTest, RunNowReachesLiveAgentsAndTheirResultsCloseThePattern) {
  // Two hosts of the branch site come online with real agents.
  testing::ScopedTempDir dir;
  struct LiveAgent {
    std::unique_ptr<agent::Spool> spool;
    std::unique_ptr<agent::Scheduler> scheduler;
    std::unique_ptr<agent::Uplink> uplink;
  };
  std::vector<LiveAgent> agents(2);
  std::atomic<bool> fixed{false};
  for (int i = 0; i < 2; ++i) {
    const int h = kBranchSite * kHostsPerSite + i;
    const std::string state = absl::StrCat(dir.path(), "/agent", i);
    ASSERT_EQ(mkdir(state.c_str(), 0700), 0);
    v1::NodeIdentity identity;
    identity.set_node_id(nodes_[h].node_id());
    identity.set_node_key(nodes_[h].node_key());
    ASSERT_TRUE(agent::NodeIdentityFile(state + "/identity.json").Save(identity).ok());
    LiveAgent& a = agents[i];
    auto spool = agent::Spool::Open({.path = state + "/spool.sqlite"});
    ASSERT_TRUE(spool.ok());
    a.spool = *std::move(spool);
    agent::Uplink::Options options;
    options.collector = collector_->address();
    options.identity_path = state + "/identity.json";
    options.host.set_hostname(Hostname(h));
    options.host.set_site(Site(h));
    options.settings.set_batch_max_findings(100);
    options.settings.set_max_inflight_batches(2);
    options.settings.set_backoff_initial_ms(50);
    options.settings.set_backoff_max_ms(500);
    options.on_command = [&a](const v1::Command&) { a.scheduler->RunNow({}); };
    auto uplink = agent::Uplink::Create(options, a.spool.get());
    ASSERT_TRUE(uplink.ok()) << uplink.status();
    a.uplink = *std::move(uplink);
    a.scheduler = std::make_unique<agent::Scheduler>(a.spool.get(),
                                                     [&a] { a.uplink->Notify(); });
    // Runs once at start, then only when a command asks.
    a.scheduler->Add(std::make_unique<BranchProbe>(&fixed), absl::Hours(24),
                     absl::ZeroDuration());
    a.uplink->Start();
    a.scheduler->Start();
  }
  // Their first (still failing) results are in before the fix.
  for (LiveAgent& a : agents) {
    for (int i = 0; i < 200 && a.spool->stats().next_seq == 1; ++i) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_TRUE(a.uplink->WaitDrained(absl::Now() + absl::Seconds(30)).ok());
  }
  fixed = true;
  // Bounded wait until both streams are registered.
  for (int i = 0; i < 200 && collector_->streams().connected() < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(collector_->streams().connected(), 2u);

  v1::RunNowRequest run;
  run.set_by(v1::GROUP_BY_URL);
  run.set_key(kCdpBranch);
  v1::RunNowResponse started;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(query_->RunNow(&context, run, &started).ok());
  }
  EXPECT_EQ(started.targeted_hosts(), 51u);

  v1::CommandStatus status;
  for (int i = 0; i < 300; ++i) {
    v1::GetCommandRequest get;
    get.set_command_id(started.command_id());
    grpc::ClientContext context;
    ASSERT_TRUE(query_->GetCommand(&context, get, &status).ok());
    if (status.results_in() >= 2 && status.acknowledged() >= 2) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(status.targeted(), 51u);
  EXPECT_EQ(status.sent(), 2u);
  EXPECT_EQ(status.acknowledged(), 2u);
  EXPECT_EQ(status.results_in(), 2u);
  EXPECT_EQ(status.still_failing(), 0u);
  EXPECT_EQ(status.pending_node_ids_size(), 49);
  EXPECT_EQ(Patterns(v1::GROUP_BY_URL)[kCdpBranch].failing_hosts(), 49u);

  // The HTTP twin of GetCommand says the same.
  v1::CommandStatus via_http =
      HttpGet<v1::CommandStatus>(absl::StrCat("/api/v1/commands/", started.command_id()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(via_http, status))
      << via_http.DebugString() << " vs " << status.DebugString();

  for (LiveAgent& a : agents) {
    a.scheduler->Stop();
    a.uplink->Stop();
  }
}

TEST_F(FleetTest, EveryHttpEndpointAnswersLikeItsGrpcTwin) {
  using google::protobuf::util::MessageDifferencer;
  for (const char* by : {"url", "ca", "error", "site", "host"}) {
    v1::ListPatternsRequest request;
    request.set_by(*query::ParseGroupBy(by));
    request.set_include_healthy(true);
    request.set_page_size(50);
    v1::ListPatternsResponse grpc_answer;
    grpc::ClientContext context;
    ASSERT_TRUE(query_->ListPatterns(&context, request, &grpc_answer).ok());
    auto http_answer = HttpGet<v1::ListPatternsResponse>(
        absl::StrCat("/api/v1/patterns?by=", by, "&include_healthy=true&page_size=50"));
    grpc_answer.clear_generated_at();
    http_answer.clear_generated_at();
    EXPECT_TRUE(MessageDifferencer::Equals(grpc_answer, http_answer)) << by;
  }
  {
    v1::ListHostsRequest request;
    request.set_by(v1::GROUP_BY_URL);
    request.set_key(kCdpBranch);
    request.set_failing_only(true);
    v1::ListHostsResponse grpc_answer;
    grpc::ClientContext context;
    ASSERT_TRUE(query_->ListHosts(&context, request, &grpc_answer).ok());
    EXPECT_EQ(grpc_answer.hosts_size(), 51);
    auto http_answer = HttpGet<v1::ListHostsResponse>(
        "/api/v1/hosts?by=url&failing_only=true&key=" +
        httplib::detail::encode_query_param(kCdpBranch));
    EXPECT_TRUE(MessageDifferencer::Equals(grpc_answer, http_answer));
  }
  {
    v1::GetHostRequest request;
    request.set_hostname(Hostname(kSkewedHost));
    v1::GetHostResponse grpc_answer;
    grpc::ClientContext context;
    ASSERT_TRUE(query_->GetHost(&context, request, &grpc_answer).ok());
    EXPECT_EQ(grpc_answer.results_size(), 5);
    auto http_answer = HttpGet<v1::GetHostResponse>(
        absl::StrCat("/api/v1/hosts/", grpc_answer.host().node_id()));
    EXPECT_TRUE(MessageDifferencer::Equals(grpc_answer, http_answer));
  }
  {
    v1::ListExpiringRequest request;
    v1::ListExpiringResponse grpc_answer;
    grpc::ClientContext context;
    ASSERT_TRUE(query_->ListExpiring(&context, request, &grpc_answer).ok());
    auto http_answer = HttpGet<v1::ListExpiringResponse>("/api/v1/expiring");
    EXPECT_TRUE(MessageDifferencer::Equals(grpc_answer, http_answer));
  }
  {
    v1::GetUrlRequest request;
    request.set_url(kCdpBranch);
    v1::GetUrlResponse grpc_answer;
    grpc::ClientContext context;
    ASSERT_TRUE(query_->GetUrl(&context, request, &grpc_answer).ok());
    EXPECT_EQ(grpc_answer.failing_hosts(), 51u);
    EXPECT_EQ(grpc_answer.sites_size(), kSites);
    auto http_answer = HttpGet<v1::GetUrlResponse>(
        "/api/v1/url?url=" + httplib::detail::encode_query_param(kCdpBranch));
    EXPECT_TRUE(MessageDifferencer::Equals(grpc_answer, http_answer));
  }
  // Errors come back as JSON too.
  httplib::Client client("127.0.0.1", http_->port());
  auto bad = client.Get("/api/v1/patterns?by=nonsense");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("unknown grouping"), std::string::npos);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(absl::StrCat("pkiwatch_failing_hosts{url=\"", kCdpDown, "\"} 285")),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("pkiwatch_ingest_findings_stored_total 1500"), std::string::npos);
  EXPECT_NE(metrics->body.find(absl::StrCat("pkiwatch_crl_seconds_to_next_update{url=\"",
                                            kCdpSoon, "\"}")),
            std::string::npos);
}

TEST_F(FleetTest, ReportingViewsAnswer) {
  auto conn = store::PgConnection::Connect(dsn_);
  ASSERT_TRUE(conn.ok());
  auto r = (*conn)->Query(
      "SELECT failing_hosts, total_hosts FROM v_failure_patterns WHERE dimension = 'url' "
      "AND key = $1",
      {kCdpBranch});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 1);
  EXPECT_EQ(r->GetInt64(0, 0), 51);
  EXPECT_EQ(r->GetInt64(0, 1), 300);
  r = (*conn)->Query("SELECT count(*) FROM v_crl_status WHERE url = $1 AND next_update IS NOT NULL",
                     {kCdpSoon});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->GetInt64(0, 0), 299);
  r = (*conn)->Query("SELECT failing FROM v_host_status WHERE hostname = 'ws7'");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->GetInt64(0, 0), 5);
  r = (*conn)->Query("SELECT count(*) FROM v_expiring WHERE kind = 'crl'");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->GetInt64(0, 0), 4);
}

}  // namespace
}  // namespace pkiwatch
