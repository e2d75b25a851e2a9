#include "agent/win/diag_verdicts.h"

#include <string>

#include "agent/win/diag_report.h"
#include "gtest/gtest.h"

namespace pkiwatch::win {
namespace {

constexpr int64_t kNow = 1'750'000'000;  // 2025-06-15

AePolicyReading Reading(std::string scope, bool policy, std::optional<uint32_t> value) {
  AePolicyReading r;
  r.scope = std::move(scope);
  r.from_group_policy = policy;
  r.key = policy ? "policy-key" : "local-key";
  r.ae_policy = value;
  return r;
}

std::string DetailOf(const DiagVerdict& v, const std::string& key) {
  for (const auto& [k, value] : v.details) {
    if (k == key) return value;
  }
  return "";
}

TEST(JudgeAePolicyTest, GroupPolicyWinsOverLocal) {
  const DiagVerdict v = JudgeAePolicy(
      "machine", {Reading("machine", true, 0x8000), Reading("machine", false, 7)});
  EXPECT_EQ(v.verdict, Verdict::kFail);
  EXPECT_NE(v.summary.find("0x8000"), std::string::npos) << v.summary;
  EXPECT_EQ(DetailOf(v, "effective"), "0x8000 (group policy)");
}

TEST(JudgeAePolicyTest, ModesToVerdicts) {
  EXPECT_EQ(JudgeAePolicy("m", {Reading("m", true, 7)}).verdict, Verdict::kOk);
  EXPECT_EQ(JudgeAePolicy("m", {Reading("m", true, 1)}).verdict, Verdict::kOk);
  EXPECT_EQ(JudgeAePolicy("m", {Reading("m", true, 6)}).verdict, Verdict::kWarn);
  EXPECT_EQ(JudgeAePolicy("m", {Reading("m", true, std::nullopt)}).verdict, Verdict::kWarn);
  EXPECT_EQ(JudgeAePolicy("m", {Reading("m", false, 7)}).verdict, Verdict::kOk);
}

TEST(JudgeAePolicyTest, ReadErrorIsError) {
  AePolicyReading bad = Reading("S-1-5-21-1", true, std::nullopt);
  bad.status = Status::Error(0x80070005u, "RegOpenKeyExW(x): denied");
  const DiagVerdict v = JudgeAePolicy("S-1-5-21-1", {bad});
  EXPECT_EQ(v.verdict, Verdict::kError);
  EXPECT_EQ(v.hresult, 0x80070005u);
}

TEST(JudgeAePolicyTest, GroupsByScopeInOrder) {
  const std::vector<DiagVerdict> verdicts = JudgeAePolicies(
      {Reading("machine", true, 7), Reading("machine", false, std::nullopt),
       Reading("S-1-5-21-9", true, 1), Reading("S-1-5-21-9", false, std::nullopt)});
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].target, "machine");
  EXPECT_EQ(verdicts[1].target, "S-1-5-21-9");
}

TEST(JudgeTaskTest, UsesTheEventCoreVerdict) {
  TaskInfo task;
  task.path = "\\Microsoft\\Windows\\CertificateServicesClient\\SystemTask";
  task.state = 1;  // disabled
  EXPECT_EQ(JudgeTask(task, kNow).verdict, Verdict::kFail);
  task.state = 3;  // ready
  task.last_run_unix = kNow - 3600;
  task.last_task_result = 0;
  const DiagVerdict ok = JudgeTask(task, kNow);
  EXPECT_EQ(ok.verdict, Verdict::kOk) << ok.summary;
  task.state = 4;  // running for two hours
  task.last_run_unix = kNow - 7200;
  task.last_task_result = 0x41301u;
  EXPECT_EQ(JudgeTask(task, kNow).verdict, Verdict::kFail);
}

TEST(JudgeCryptSvcTest, RunningOrNot) {
  ServiceState state;
  state.name = "CryptSvc";
  state.current_state = kServiceRunning;
  EXPECT_EQ(JudgeCryptSvc(state).verdict, Verdict::kOk);
  state.current_state = kServiceStopped;
  state.start_type = kServiceDisabled;
  const DiagVerdict v = JudgeCryptSvc(state);
  EXPECT_EQ(v.verdict, Verdict::kFail);
  EXPECT_NE(v.summary.find("stopped and disabled"), std::string::npos) << v.summary;
}

TEST(JudgeAuthRootTest, SyncAgeAndPolicy) {
  AuthRootSettings settings;
  EXPECT_EQ(JudgeAuthRoot(settings, kNow).verdict, Verdict::kWarn);  // never synced
  settings.last_sync_filetime = static_cast<uint64_t>(kNow - 86400 + 11'644'473'600) * 10'000'000;
  EXPECT_EQ(JudgeAuthRoot(settings, kNow).verdict, Verdict::kOk);
  settings.last_sync_filetime = static_cast<uint64_t>(kNow - 90 * 86400 + 11'644'473'600) * 10'000'000;
  EXPECT_EQ(JudgeAuthRoot(settings, kNow).verdict, Verdict::kWarn);
  settings.disable_root_auto_update = 1;
  EXPECT_NE(JudgeAuthRoot(settings, kNow).summary.find("disabled by policy"), std::string::npos);
}

TEST(JudgeProxyTest, WarnsWhenOnlyTheUserHasAProxy) {
  WinHttpProxyConfig winhttp;
  winhttp.access_type = kWinHttpAccessNoProxy;
  IeProxyConfig ie;
  EXPECT_EQ(JudgeProxy(winhttp, &ie).verdict, Verdict::kOk);
  ie.proxy = "proxy.corp.example:8080";
  const DiagVerdict v = JudgeProxy(winhttp, &ie);
  EXPECT_EQ(v.verdict, Verdict::kWarn);
  EXPECT_NE(v.summary.find("netsh winhttp import proxy"), std::string::npos);
  winhttp.access_type = kWinHttpAccessNamedProxy;
  winhttp.proxy = "proxy.corp.example:8080";
  EXPECT_EQ(JudgeProxy(winhttp, &ie).verdict, Verdict::kOk);
  EXPECT_EQ(JudgeProxy(winhttp, nullptr).verdict, Verdict::kOk);
}

TEST(JudgeCertificateTest, PolicyStatusDecides) {
  StoreCertificate cert;
  cert.thumbprint = "AB";
  cert.not_after_unix = kNow + 365 * 86400;
  ChainReport chain;
  EXPECT_EQ(JudgeCertificate(cert, chain, kNow).verdict, Verdict::kOk);
  chain.policy_status = kCryptERevocationOffline;
  DiagVerdict offline = JudgeCertificate(cert, chain, kNow);
  EXPECT_EQ(offline.verdict, Verdict::kFail);
  EXPECT_EQ(offline.hresult, kCryptERevocationOffline);
  EXPECT_NE(offline.error.find("CRYPT_E_REVOCATION_OFFLINE"), std::string::npos);
  chain.policy_status = kCryptENoRevocationCheck;
  EXPECT_EQ(JudgeCertificate(cert, chain, kNow).verdict, Verdict::kWarn);
  chain.policy_status = 0;
  cert.not_after_unix = kNow + 3 * 86400;
  EXPECT_EQ(JudgeCertificate(cert, chain, kNow).verdict, Verdict::kWarn);
}

TEST(JudgeCertificateTest, TrustBitsWhenThePolicySaysNothing) {
  StoreCertificate cert;
  cert.not_after_unix = kNow + 365 * 86400;
  ChainReport chain;
  chain.error_status = kTrustIsRevoked;
  EXPECT_EQ(ChainErrorCode(chain), kCryptERevoked);
  const DiagVerdict v = JudgeCertificate(cert, chain, kNow);
  EXPECT_EQ(v.verdict, Verdict::kFail);
  EXPECT_EQ(v.hresult, kCryptERevoked);
  chain.error_status = kTrustRevocationStatusUnknown | kTrustIsOfflineRevocation;
  EXPECT_EQ(ChainErrorCode(chain), kCryptERevocationOffline);
  chain.error_status = kTrustIsPartialChain;
  EXPECT_EQ(ChainErrorCode(chain), kCertEChaining);
  chain.policy_status = kCertEUntrustedRoot;  // the policy's answer wins
  EXPECT_EQ(ChainErrorCode(chain), kCertEUntrustedRoot);
}

TEST(DiagReportTest, JsonEscapesAndCounts) {
  DiagHeader header;
  header.tool_version = "1.0";
  header.generated_at = "2025-06-15T00:00:00Z";
  header.host = {{"hostname", "HOST"}};
  DiagVerdict v;
  v.check = "x";
  v.target = "a\"b\\c\n";
  v.verdict = Verdict::kFail;
  v.hresult = 0x80092013;
  v.Detail("k", std::string("\x01", 1));
  const std::string json = RenderJson(header, {v});
  EXPECT_NE(json.find("\"target\":\"a\\\"b\\\\c\\n\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"hresult\":\"0x80092013\""), std::string::npos);
  EXPECT_NE(json.find("\"k\":\"\\u0001\""), std::string::npos);
  EXPECT_NE(json.find("\"counts\":{\"OK\":0,\"WARN\":0,\"FAIL\":1,\"ERROR\":0}"), std::string::npos);
  const std::string table = RenderTable(header, {v});
  EXPECT_NE(table.find("FAIL"), std::string::npos);
  EXPECT_NE(table.find("0 OK, 0 WARN, 1 FAIL, 0 ERROR"), std::string::npos);
}

TEST(FirstNtpPeerTest, StripsFlagsAndTakesTheFirst) {
  EXPECT_EQ(FirstNtpPeer("time.windows.com,0x9"), "time.windows.com");
  EXPECT_EQ(FirstNtpPeer("  dc1.corp.example,0x8 dc2.corp.example,0x8"), "dc1.corp.example");
  EXPECT_EQ(FirstNtpPeer("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(FirstNtpPeer("127.0.0.1:4123,0x9"), "127.0.0.1:4123");
  EXPECT_EQ(FirstNtpPeer(""), "");
  EXPECT_EQ(FirstNtpPeer(" \t "), "");
}

sntp::Sample ClockSample(std::chrono::nanoseconds offset) {
  sntp::Sample s;
  s.offset = offset;
  s.delay = std::chrono::milliseconds(3);
  s.stratum = 2;
  s.server_address = "192.0.2.1:123";
  s.reference_id = "192.0.2.9";
  return s;
}

TEST(JudgeClockTest, AgentThresholds) {
  DiagVerdict v = JudgeClock("time.test", "--ntp-server", ClockSample(std::chrono::milliseconds(250)));
  EXPECT_EQ(v.check, "clock");
  EXPECT_EQ(v.target, "time.test");
  EXPECT_EQ(v.verdict, Verdict::kOk) << v.summary;
  EXPECT_EQ(DetailOf(v, "offset_ms"), "250");
  EXPECT_EQ(DetailOf(v, "offset"), "+0.250s");
  EXPECT_EQ(DetailOf(v, "source"), "--ntp-server");
  EXPECT_EQ(DetailOf(v, "stratum"), "2");
  EXPECT_EQ(DetailOf(v, "server_address"), "192.0.2.1:123");

  v = JudgeClock("time.test", "W32Time NtpServer", ClockSample(-std::chrono::seconds(90)));
  EXPECT_EQ(v.verdict, Verdict::kWarn) << v.summary;
  EXPECT_NE(v.summary.find("1m30.000s ahead of time.test (offset -1m30.000s"), std::string::npos)
      << v.summary;
  EXPECT_EQ(v.hresult, 0u);

  v = JudgeClock("time.test", "x", ClockSample(std::chrono::seconds(300)));
  EXPECT_EQ(v.verdict, Verdict::kWarn);  // the limit itself is tolerated
  v = JudgeClock("time.test", "x", ClockSample(std::chrono::seconds(301)));
  EXPECT_EQ(v.verdict, Verdict::kFail);
  EXPECT_EQ(v.hresult, 0x80090324u);
  EXPECT_NE(v.error.find("SEC_E_TIME_SKEW"), std::string::npos) << v.error;
  EXPECT_NE(v.summary.find("5m1.000s behind time.test"), std::string::npos) << v.summary;
}

TEST(JudgeClockTest, NoAnswerIsAnErrorNotAFailure) {
  const DiagVerdict v = JudgeClock(
      "time.test", "--ntp-server",
      Status::Error(0x8007274Cu, "no valid SNTP reply from 192.0.2.1:123 within 300 ms"));
  EXPECT_EQ(v.verdict, Verdict::kError);
  EXPECT_EQ(v.hresult, 0x8007274Cu);
  EXPECT_NE(v.error.find("within 300 ms"), std::string::npos) << v.error;
  EXPECT_EQ(DetailOf(v, "source"), "--ntp-server");
}

}  // namespace
}  // namespace pkiwatch::win
