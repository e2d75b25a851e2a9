// CRL probe extensions: delta CRLs, CRL numbers going backwards, AKI against
// the configured CA, content type, redirects, run budgets and proxies (from
// the environment and explicit). Real HTTP servers on 127.0.0.1.
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "agent/probes/crl_probe.h"
#include "common/openssl_util.h"
#include "common/utf8.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/agent/probes/test_crl_maker.h"
#include "tests/unit/agent/probes/test_http_server.h"
#include "tests/unit/agent/probes/test_pki.h"

namespace pkiwatch {
namespace {

using ::pkiwatch::testing::MakeTestCert;
using ::pkiwatch::testing::MakeTestCrl;
using ::pkiwatch::testing::ScopedEnv;
using ::pkiwatch::testing::ScopedTempDir;
using ::pkiwatch::testing::SkiHexOf;
using ::pkiwatch::testing::TestCertSpec;
using ::pkiwatch::testing::TestCrlSpec;
using ::pkiwatch::testing::TestHttpServer;
using ::pkiwatch::testing::TestKeyCert;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2031, 3, 14, 12, 0, 0),
                                        absl::UTCTimeZone());

TestCertSpec CaSpec(int64_t serial) {
  TestCertSpec spec;
  spec.common_name = "pkiwatch Delta CA";
  spec.serial = serial;
  spec.is_ca = true;
  spec.key_usage = "critical,keyCertSign,cRLSign";
  spec.not_before = kNow - absl::Hours(24 * 365);
  spec.not_after = kNow + absl::Hours(24 * 3650);
  return spec;
}

// Files served by path; tests change them between runs.
class ContentStore {
 public:
  struct Entry {
    int status = 200;
    std::string body;
    std::string content_type = "application/pkix-crl";
    std::string location;  // redirect target for 3xx
    absl::Duration delay;  // before answering
  };

  void Set(const std::string& path, Entry e) {
    absl::MutexLock lock(&mu_);
    entries_[path] = std::move(e);
  }
  void SetCrl(const std::string& path, std::string der,
              std::string content_type = "application/pkix-crl") {
    Entry e;
    e.body = std::move(der);
    e.content_type = std::move(content_type);
    Set(path, std::move(e));
  }
  int hits(const std::string& path) {
    absl::MutexLock lock(&mu_);
    return hits_[path];
  }

  void Install(httplib::Server& server) {
    server.Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      Entry e;
      {
        absl::MutexLock lock(&mu_);
        ++hits_[req.path];
        auto it = entries_.find(req.path);
        if (it == entries_.end()) {
          res.status = 404;
          res.set_content("not here", "text/plain");
          return;
        }
        e = it->second;
      }
      if (e.delay > absl::ZeroDuration()) std::this_thread::sleep_for(absl::ToChronoNanoseconds(e.delay));
      res.status = e.status;
      if (!e.location.empty()) res.set_header("Location", e.location);
      res.set_content(e.body, e.content_type.c_str());
    });
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> hits_ ABSL_GUARDED_BY(mu_);
};

class CrlProbeExtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TestKeyCert> ca = MakeTestCert(CaSpec(1));
    absl::StatusOr<TestKeyCert> other = MakeTestCert(CaSpec(2));
    ASSERT_TRUE(ca.ok()) << ca.status();
    ASSERT_TRUE(other.ok()) << other.status();
    ca_ = new TestKeyCert(std::move(*ca));
    other_key_ca_ = new TestKeyCert(std::move(*other));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete other_key_ca_;
  }

  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    ca_file_ = tmp_.path() + "/ca.pem";
    ASSERT_TRUE(testing::WriteFile(ca_file_, testing::CertPem(ca_->cert.get())).ok());
    content_.Install(server_.server());
    ASSERT_TRUE(server_.Start()) << "cannot start the test HTTP server on 127.0.0.1";
    http_.no_proxy = true;
    http_.connect_timeout = absl::Seconds(5);
    http_.total_timeout = absl::Seconds(10);
  }

  TestCrlSpec Spec(long number) {
    TestCrlSpec s;
    s.this_update = kNow - absl::Hours(1);
    s.next_update = kNow + absl::Hours(24 * 7);
    s.number = number;
    return s;
  }
  std::string Crl(const TestCrlSpec& spec) { return MakeTestCrl(*ca_, ca_->key.get(), spec); }
  TestCrlSpec BaseSpec(long number) {
    TestCrlSpec s = Spec(number);
    s.freshest_crl = server_.Url("/delta.crl");
    return s;
  }
  TestCrlSpec DeltaSpec(long number, long base) {
    TestCrlSpec s = Spec(number);
    s.delta_base = base;
    s.revoked_serials = {2001};
    return s;
  }

  v1::CrlWatch Watch(std::string_view path, bool with_issuer = true) {
    v1::CrlWatch w;
    w.set_url(server_.Url(path));
    if (with_issuer) w.set_issuer_cert_file(ca_file_);
    return w;
  }

  std::unique_ptr<CrlProbe> Probe(std::vector<v1::CrlWatch> watches,
                                  absl::Duration budget = absl::Seconds(120)) {
    auto probe = CrlProbe::Create(std::move(watches), {}, http_, budget);
    EXPECT_TRUE(probe.ok()) << probe.status();
    return probe.ok() ? std::move(*probe) : nullptr;
  }

  static TestKeyCert* ca_;
  static TestKeyCert* other_key_ca_;
  ScopedTempDir tmp_;
  std::string ca_file_;
  ContentStore content_;
  TestHttpServer server_;
  HttpOptions http_;
};

TestKeyCert* CrlProbeExtTest::ca_ = nullptr;
TestKeyCert* CrlProbeExtTest::other_key_ca_ = nullptr;

// ---- Delta CRLs ----

TEST_F(CrlProbeExtTest, BaseWithFreshestCrlAlsoChecksTheDelta) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  content_.SetCrl("/delta.crl", Crl(DeltaSpec(43, 42)));
  auto probe = Probe({Watch("/base.crl")});
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].target(), server_.Url("/base.crl"));
  EXPECT_EQ(f[0].status(), v1::STATUS_OK) << f[0].summary();
  EXPECT_EQ(f[0].dimensions().url_kind(), v1::URL_KIND_CDP);

  EXPECT_EQ(f[1].target(), server_.Url("/delta.crl"));
  EXPECT_EQ(f[1].status(), v1::STATUS_OK) << f[1].summary();
  EXPECT_EQ(f[1].dimensions().url_kind(), v1::URL_KIND_DELTA_CDP);
  EXPECT_EQ(f[1].dimensions().url(), server_.Url("/delta.crl"));
  EXPECT_TRUE(f[1].crl().is_delta());
  EXPECT_EQ(f[1].crl().base_crl_number(), "42");
  EXPECT_EQ(f[1].crl().base_crl_url(), server_.Url("/base.crl"));
  EXPECT_TRUE(f[1].crl().signature_verified());
  EXPECT_EQ(f[1].dimensions().ca(), "CN=pkiwatch Delta CA,O=pkiwatch test");
}

TEST_F(CrlProbeExtTest, DeltaOnNewerBaseThanServedIsRevocationOffline) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  content_.SetCrl("/delta.crl", Crl(DeltaSpec(45, 44)));
  auto probe = Probe({Watch("/base.crl")});
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].status(), v1::STATUS_OK);
  EXPECT_EQ(f[1].status(), v1::STATUS_FAIL);
  EXPECT_EQ(f[1].error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_TRUE(absl::StrContains(f[1].error().native_detail(), "based on base CRL #44"))
      << f[1].error().native_detail();
  EXPECT_TRUE(absl::StrContains(f[1].error().native_detail(), "#42"));
}

TEST_F(CrlProbeExtTest, DeltaOnOlderBaseWarns) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  content_.SetCrl("/delta.crl", Crl(DeltaSpec(41, 40)));
  auto probe = Probe({Watch("/base.crl")});
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].status(), v1::STATUS_WARN) << f[1].summary();
  EXPECT_TRUE(absl::StrContains(f[1].summary(), "delta CRL publication is lagging"))
      << f[1].summary();
  EXPECT_EQ(f[1].error().hresult(), 0u);
}

TEST_F(CrlProbeExtTest, FullCrlAtDeltaUrlWarns) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  content_.SetCrl("/delta.crl", Crl(Spec(42)));
  auto probe = Probe({Watch("/base.crl")});
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].status(), v1::STATUS_WARN);
  EXPECT_EQ(f[1].dimensions().url_kind(), v1::URL_KIND_DELTA_CDP);
  EXPECT_TRUE(absl::StrContains(f[1].summary(), "not a delta CRL")) << f[1].summary();
}

TEST_F(CrlProbeExtTest, MissingDeltaIsRevocationOfflineAndKeepsItsKind) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  auto probe = Probe({Watch("/base.crl")});
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].status(), v1::STATUS_FAIL);
  EXPECT_EQ(f[1].error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_EQ(f[1].dimensions().url_kind(), v1::URL_KIND_DELTA_CDP);
  EXPECT_EQ(f[1].crl().http_status(), 404u);
  EXPECT_EQ(f[1].crl().base_crl_url(), server_.Url("/base.crl"));
  // Attributed to the configured CA although nothing parsed.
  EXPECT_EQ(f[1].dimensions().ca(), "CN=pkiwatch Delta CA,O=pkiwatch test");
}

TEST_F(CrlProbeExtTest, DeltaOfUnreadableBaseIsStillChecked) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  content_.SetCrl("/delta.crl", Crl(DeltaSpec(43, 42)));
  auto probe = Probe({Watch("/base.crl")});
  ASSERT_NE(probe, nullptr);
  ASSERT_EQ(probe->Run(ProbeContext{kNow}).size(), 2u);

  content_.SetCrl("/base.crl", "<html>maintenance</html>", "text/html");
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u) << "the delta remembered from the last readable base";
  EXPECT_EQ(f[0].error().symbolic_name(), "CRYPT_E_ASN1_BADTAG");
  EXPECT_EQ(f[1].target(), server_.Url("/delta.crl"));
  EXPECT_EQ(f[1].status(), v1::STATUS_OK) << f[1].summary();
  EXPECT_TRUE(absl::StrContains(f[1].summary(), "base CRL unavailable")) << f[1].summary();
}

TEST_F(CrlProbeExtTest, DeltaThatIsAlsoAWatchIsReportedOnce) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  content_.SetCrl("/delta.crl", Crl(DeltaSpec(43, 42)));
  auto probe = Probe({Watch("/base.crl"), Watch("/delta.crl")});
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].target(), server_.Url("/base.crl"));
  EXPECT_EQ(f[1].target(), server_.Url("/delta.crl"));
}

// ---- CRL numbers across runs ----

TEST_F(CrlProbeExtTest, CrlNumberGoingBackwardsWarnsUntilItRecovers) {
  content_.SetCrl("/good.crl", Crl(Spec(42)));
  auto probe = Probe({Watch("/good.crl")});
  ASSERT_NE(probe, nullptr);

  std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].status(), v1::STATUS_OK);
  EXPECT_EQ(f[0].crl().previous_crl_number(), "");

  // A stale copy: lower number, older thisUpdate.
  TestCrlSpec stale = Spec(41);
  stale.this_update = kNow - absl::Hours(30);
  content_.SetCrl("/good.crl", Crl(stale));
  for (int run = 0; run < 2; ++run) {
    f = probe->Run(ProbeContext{kNow});
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].status(), v1::STATUS_WARN) << "run " << run << ": " << f[0].summary();
    EXPECT_EQ(f[0].crl().crl_number(), "41");
    EXPECT_EQ(f[0].crl().previous_crl_number(), "42");
    EXPECT_TRUE(absl::StrContains(f[0].summary(), "CRL number went backwards: #41 after #42"))
        << f[0].summary();
  }

  content_.SetCrl("/good.crl", Crl(Spec(43)));
  f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].status(), v1::STATUS_OK) << f[0].summary();
  EXPECT_EQ(f[0].crl().previous_crl_number(), "42");
}

TEST_F(CrlProbeExtTest, CrlNumberResetWithNewerThisUpdateWarnsOnce) {
  content_.SetCrl("/good.crl", Crl(Spec(900)));
  auto probe = Probe({Watch("/good.crl")});
  ASSERT_NE(probe, nullptr);
  ASSERT_EQ(probe->Run(ProbeContext{kNow})[0].status(), v1::STATUS_OK);

  TestCrlSpec reset = Spec(1);
  reset.this_update = kNow - absl::Minutes(5);  // newer than the first one
  content_.SetCrl("/good.crl", Crl(reset));
  EXPECT_EQ(probe->Run(ProbeContext{kNow})[0].status(), v1::STATUS_WARN);
  const v1::Finding again = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(again.status(), v1::STATUS_OK) << again.summary();
  EXPECT_EQ(again.crl().previous_crl_number(), "1");
}

TEST_F(CrlProbeExtTest, NumbersOfFailedCrlsAreNotRemembered) {
  // Signed by another key: FAIL, and its (huge) number must not become the
  // high mark that later makes the genuine CRL look stale.
  content_.SetCrl("/good.crl", MakeTestCrl(*ca_, other_key_ca_->key.get(), Spec(1000)));
  auto probe = Probe({Watch("/good.crl")});
  ASSERT_NE(probe, nullptr);
  EXPECT_EQ(probe->Run(ProbeContext{kNow})[0].status(), v1::STATUS_FAIL);
  content_.SetCrl("/good.crl", Crl(Spec(42)));
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(f.crl().previous_crl_number(), "");
}

// ---- Signed by the right key ----

TEST_F(CrlProbeExtTest, AkiOfAnotherKeyIsIssuerChaining) {
  // Signed with the configured CA's key but naming another key as its
  // authority: a Windows client would look for the wrong CA certificate.
  TestCrlSpec spec = Spec(42);
  spec.aki_from = other_key_ca_;
  content_.SetCrl("/aki.crl", Crl(spec));
  auto probe = Probe({Watch("/aki.crl")});
  ASSERT_NE(probe, nullptr);
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "CERT_E_ISSUERCHAINING");
  EXPECT_TRUE(f.crl().signature_verified());
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), SkiHexOf(other_key_ca_->cert.get())))
      << f.error().native_detail();
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), SkiHexOf(ca_->cert.get())));
}

TEST_F(CrlProbeExtTest, OtherKeyAndOtherAkiKeepsBadSignatureAndNamesBoth) {
  TestCrlSpec spec = Spec(42);
  spec.aki_from = other_key_ca_;
  content_.SetCrl("/renewed.crl", MakeTestCrl(*ca_, other_key_ca_->key.get(), spec));
  auto probe = Probe({Watch("/renewed.crl")});
  ASSERT_NE(probe, nullptr);
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().symbolic_name(), "NTE_BAD_SIGNATURE");
  EXPECT_TRUE(absl::StrContains(f.error().native_detail(), "authorityKeyIdentifier"))
      << f.error().native_detail();
}

// ---- HTTP facts ----

TEST_F(CrlProbeExtTest, CrlServedAsHtmlWarns) {
  content_.SetCrl("/html.crl", Crl(Spec(42)), "text/html; charset=utf-8");
  auto probe = Probe({Watch("/html.crl")});
  ASSERT_NE(probe, nullptr);
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.status(), v1::STATUS_WARN);
  EXPECT_TRUE(absl::StrContains(f.summary(), "served as text/html")) << f.summary();
  EXPECT_EQ(f.crl().content_type(), "text/html; charset=utf-8");
}

TEST_F(CrlProbeExtTest, UnusualContentTypeIsOnlyANote) {
  content_.SetCrl("/odd.crl", Crl(Spec(42)), "application/x-odd");
  content_.SetCrl("/p7.crl", Crl(Spec(42)), "application/x-pkcs7-crl");
  auto probe = Probe({Watch("/odd.crl"), Watch("/p7.crl")});
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].status(), v1::STATUS_OK);
  EXPECT_TRUE(absl::StrContains(f[0].summary(), "unusual content type application/x-odd"))
      << f[0].summary();
  EXPECT_EQ(f[1].status(), v1::STATUS_OK);
  EXPECT_FALSE(absl::StrContains(f[1].summary(), "content type")) << f[1].summary();
}

TEST_F(CrlProbeExtTest, RedirectsAreRecorded) {
  const std::string der = Crl(Spec(42));
  content_.SetCrl("/final.crl", der);
  ContentStore::Entry hop;
  hop.status = 302;
  hop.location = server_.Url("/final.crl");
  content_.Set("/hop2.crl", hop);
  hop.location = server_.Url("/hop2.crl");
  content_.Set("/hop1.crl", hop);
  auto probe = Probe({Watch("/hop1.crl")});
  ASSERT_NE(probe, nullptr);
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(f.target(), server_.Url("/hop1.crl"));
  EXPECT_EQ(f.crl().redirect_count(), 2u);
  EXPECT_EQ(f.crl().final_url(), server_.Url("/final.crl"));
  EXPECT_EQ(f.crl().size_bytes(), der.size());
  EXPECT_TRUE(absl::StrContains(f.summary(), "redirected 2x to " + server_.Url("/final.crl")))
      << f.summary();
  EXPECT_TRUE(absl::StrContains(f.summary(), absl::StrCat(der.size(), " bytes in ")))
      << f.summary();
}

TEST_F(CrlProbeExtTest, NotRedirectedFinalUrlIsTheUrl) {
  content_.SetCrl("/good.crl", Crl(Spec(42)));
  auto probe = Probe({Watch("/good.crl")});
  ASSERT_NE(probe, nullptr);
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.crl().redirect_count(), 0u);
  EXPECT_EQ(f.crl().final_url(), server_.Url("/good.crl"));
  EXPECT_FALSE(absl::StrContains(f.summary(), "redirected"));
}

// ---- Budget ----

TEST_F(CrlProbeExtTest, SpentBudgetSkipsEveryTargetVisibly) {
  content_.SetCrl("/a.crl", Crl(Spec(1)));
  content_.SetCrl("/b.crl", Crl(Spec(2)));
  auto probe = Probe({Watch("/a.crl"), Watch("/b.crl")}, absl::ZeroDuration());
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  for (const v1::Finding& x : f) {
    EXPECT_EQ(x.status(), v1::STATUS_PROBE_ERROR);
    EXPECT_EQ(x.error().symbolic_name(), "ERROR_TIMEOUT");
    EXPECT_TRUE(absl::StrContains(x.summary(), "budget")) << x.summary();
    EXPECT_EQ(x.dimensions().url_kind(), v1::URL_KIND_CDP);
    EXPECT_EQ(x.dimensions().ca(), "CN=pkiwatch Delta CA,O=pkiwatch test");
  }
  EXPECT_EQ(f[0].target(), server_.Url("/a.crl"));
  EXPECT_EQ(f[1].target(), server_.Url("/b.crl"));
  EXPECT_EQ(content_.hits("/a.crl"), 0);
  EXPECT_EQ(content_.hits("/b.crl"), 0);
}

TEST_F(CrlProbeExtTest, TargetStartedWithinBudgetRunsAndLaterOnesAreSkipped) {
  ContentStore::Entry slow;
  slow.body = Crl(Spec(1));
  slow.delay = absl::Milliseconds(300);
  content_.Set("/slow.crl", slow);
  content_.SetCrl("/next.crl", Crl(Spec(2)));
  // The first target starts at once; it alone outlasts the budget.
  auto probe = Probe({Watch("/slow.crl"), Watch("/next.crl")}, absl::Milliseconds(100));
  ASSERT_NE(probe, nullptr);
  const std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].status(), v1::STATUS_OK) << f[0].summary();
  EXPECT_EQ(f[1].status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(f[1].target(), server_.Url("/next.crl"));
  EXPECT_EQ(content_.hits("/next.crl"), 0);
}

TEST_F(CrlProbeExtTest, RememberedDeltaOfSkippedBaseIsSkippedVisibly) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  content_.SetCrl("/delta.crl", Crl(DeltaSpec(43, 42)));
  content_.SetCrl("/first.crl", Crl(Spec(7)));
  // Three tiny loopback fetches fit a 2 s budget with a wide margin.
  auto probe = Probe({Watch("/first.crl"), Watch("/base.crl")}, absl::Seconds(2));
  ASSERT_NE(probe, nullptr);
  std::vector<v1::Finding> f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[2].target(), server_.Url("/delta.crl"));

  // Now the first watch alone outlasts the budget: the base is skipped, and
  // the delta it named last time is reported as skipped too.
  ContentStore::Entry slow;
  slow.body = Crl(Spec(7));
  slow.delay = absl::Milliseconds(2200);
  content_.Set("/first.crl", slow);
  f = probe->Run(ProbeContext{kNow});
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].status(), v1::STATUS_OK) << f[0].summary();
  EXPECT_EQ(f[1].status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(f[2].status(), v1::STATUS_PROBE_ERROR);
  EXPECT_EQ(f[2].target(), server_.Url("/delta.crl"));
  EXPECT_EQ(f[2].dimensions().url_kind(), v1::URL_KIND_DELTA_CDP);
}

// ---- Proxies ----

// A tiny forward proxy: answers absolute-form requests ("GET http://host/x")
// from the content store, as a proxy that fetched them would, and counts
// them. Origin hosts need not exist: they are never resolved.
class TinyProxy {
 public:
  explicit TinyProxy(std::string body) : body_(std::move(body)) {
    server_.server().Get(R"(.*)", [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock lock(&mu_);
      targets_.push_back(req.target.empty() ? req.path : req.target);
      res.set_content(body_, "application/pkix-crl");
    });
  }
  bool Start() { return server_.Start(); }
  std::string Url() const { return absl::StrCat("http://127.0.0.1:", server_.port()); }
  std::vector<std::string> targets() {
    absl::MutexLock lock(&mu_);
    return targets_;
  }

 private:
  std::string body_;
  TestHttpServer server_;
  absl::Mutex mu_;
  std::vector<std::string> targets_ ABSL_GUARDED_BY(mu_);
};

TEST_F(CrlProbeExtTest, EnvironmentProxyIsUsedWhenNoneIsConfigured) {
  TinyProxy proxy(Crl(Spec(42)));
  ASSERT_TRUE(proxy.Start());
  ScopedEnv http_proxy("http_proxy", proxy.Url());
  ScopedEnv all_proxy("all_proxy", std::nullopt);
  ScopedEnv all_proxy_uc("ALL_PROXY", std::nullopt);
  ScopedEnv no_proxy("no_proxy", std::nullopt);
  ScopedEnv no_proxy_uc("NO_PROXY", std::nullopt);
  http_.no_proxy = false;
  http_.proxy.clear();
  // .invalid never resolves: only the proxy can have answered.
  v1::CrlWatch w;
  w.set_url("http://cdp.pkiwatch-proxy-test.invalid/pki/ca.crl");
  w.set_issuer_cert_file(ca_file_);
  auto probe = Probe({w});
  ASSERT_NE(probe, nullptr);
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  const std::vector<std::string> seen = proxy.targets();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(absl::StrContains(seen[0], "cdp.pkiwatch-proxy-test.invalid/pki/ca.crl")) << seen[0];
}

TEST_F(CrlProbeExtTest, NoProxyEnvironmentBypassesTheProxy) {
  content_.SetCrl("/good.crl", Crl(Spec(42)));
  TinyProxy proxy("not a CRL");
  ASSERT_TRUE(proxy.Start());
  ScopedEnv http_proxy("http_proxy", proxy.Url());
  ScopedEnv no_proxy("no_proxy", "127.0.0.1");
  ScopedEnv no_proxy_uc("NO_PROXY", std::nullopt);
  http_.no_proxy = false;
  auto probe = Probe({Watch("/good.crl")});
  ASSERT_NE(probe, nullptr);
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_TRUE(proxy.targets().empty());
  EXPECT_EQ(content_.hits("/good.crl"), 1);
}

TEST_F(CrlProbeExtTest, ExplicitProxyWinsOverTheEnvironment) {
  TinyProxy env_proxy("not a CRL");
  TinyProxy explicit_proxy(Crl(Spec(42)));
  ASSERT_TRUE(env_proxy.Start());
  ASSERT_TRUE(explicit_proxy.Start());
  ScopedEnv http_proxy("http_proxy", env_proxy.Url());
  ScopedEnv no_proxy("no_proxy", std::nullopt);
  ScopedEnv no_proxy_uc("NO_PROXY", std::nullopt);
  http_.no_proxy = false;
  http_.proxy = explicit_proxy.Url();
  v1::CrlWatch w;
  w.set_url("http://cdp.pkiwatch-proxy-test.invalid/ca.crl");
  auto probe = Probe({w});
  ASSERT_NE(probe, nullptr);
  const v1::Finding f = probe->Run(ProbeContext{kNow})[0];
  EXPECT_EQ(f.status(), v1::STATUS_OK) << f.summary();
  EXPECT_EQ(explicit_proxy.targets().size(), 1u);
  EXPECT_TRUE(env_proxy.targets().empty());
}

TEST_F(CrlProbeExtTest, FindingsAreValidUtf8) {
  content_.SetCrl("/base.crl", Crl(BaseSpec(42)));
  content_.SetCrl("/delta.crl", Crl(DeltaSpec(45, 44)));
  auto probe = Probe({Watch("/base.crl")});
  ASSERT_NE(probe, nullptr);
  for (const v1::Finding& f : probe->Run(ProbeContext{kNow})) {
    EXPECT_TRUE(IsValidUtf8(f.summary()));
    EXPECT_EQ(f.summary().find('\n'), std::string::npos);
    EXPECT_TRUE(IsValidUtf8(f.error().native_detail()));
  }
}

}  // namespace
}  // namespace pkiwatch
