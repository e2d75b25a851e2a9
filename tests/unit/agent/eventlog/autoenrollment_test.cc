#include "agent/eventlog/autoenrollment.h"

#include <chrono>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pkiwatch::eventlog {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const EventTime kNow = *ParseEventTime("2031-03-14T12:00:00Z");

TEST(AePolicy, DocumentedValues) {
  const AePolicyDecoded off = DecodeAePolicy(0x0);
  EXPECT_EQ(off.mode, AePolicyMode::kEnabledNoTemplateUpdate);
  EXPECT_FALSE(off.enrollment_possible);
  EXPECT_FALSE(off.renewal_possible);

  const AePolicyDecoded enroll = DecodeAePolicy(0x1);
  EXPECT_EQ(enroll.mode, AePolicyMode::kEnrollOnly);
  EXPECT_TRUE(enroll.enrollment_possible);
  EXPECT_FALSE(enroll.renewal_possible);

  const AePolicyDecoded renew = DecodeAePolicy(0x6);
  EXPECT_EQ(renew.mode, AePolicyMode::kRenewOnly);
  EXPECT_FALSE(renew.enrollment_possible);
  EXPECT_TRUE(renew.renewal_possible);

  const AePolicyDecoded all = DecodeAePolicy(0x7);
  EXPECT_EQ(all.mode, AePolicyMode::kAll);
  EXPECT_TRUE(all.enrollment_possible);
  EXPECT_TRUE(all.renewal_possible);
  EXPECT_NE(all.meaning.find("recommended"), std::string::npos);

  const AePolicyDecoded disabled = DecodeAePolicy(0x8000);
  EXPECT_EQ(disabled.mode, AePolicyMode::kDisabled);
  EXPECT_FALSE(disabled.enrollment_possible);
  EXPECT_EQ(AePolicyModeName(disabled.mode), "disabled");
}

TEST(AePolicy, UnknownValuesExplainTheirBits) {
  const AePolicyDecoded two = DecodeAePolicy(0x2);
  EXPECT_EQ(two.mode, AePolicyMode::kUnknown);
  EXPECT_FALSE(two.enrollment_possible);
  EXPECT_NE(two.meaning.find("0x2 (part of 0x6"), std::string::npos) << two.meaning;
  EXPECT_NE(two.meaning.find("Enrollment needs 0x1 or 0x7"), std::string::npos);

  const AePolicyDecoded mixed = DecodeAePolicy(0x8007);
  EXPECT_EQ(mixed.mode, AePolicyMode::kUnknown);
  EXPECT_FALSE(mixed.enrollment_possible);
  EXPECT_NE(mixed.meaning.find("0x8000 (disables autoenrollment)"), std::string::npos);
  EXPECT_NE(mixed.meaning.find("0x1 (new enrollment"), std::string::npos);

  const AePolicyDecoded odd = DecodeAePolicy(0x10001);
  EXPECT_NE(odd.meaning.find("0x10000 (undocumented bits)"), std::string::npos) << odd.meaning;
}

TEST(EnrollLogLevel, CertlogScale) {
  const LogLevelDecoded verbose = DecodeEnrollLogLevel(4);
  EXPECT_EQ(verbose.name, "CERTLOG_VERBOSE");
  EXPECT_TRUE(verbose.logs_errors && verbose.logs_warnings && verbose.logs_information);
  const LogLevelDecoded warn = DecodeEnrollLogLevel(3);
  EXPECT_EQ(warn.name, "CERTLOG_WARNING");
  EXPECT_TRUE(warn.logs_warnings);
  EXPECT_FALSE(warn.logs_information);
  EXPECT_NE(warn.meaning.find("set 4"), std::string::npos);
  EXPECT_EQ(DecodeEnrollLogLevel(0).name, "CERTLOG_MINIMAL");
  EXPECT_FALSE(DecodeEnrollLogLevel(0).logs_errors);
  EXPECT_EQ(DecodeEnrollLogLevel(5).name, "CERTLOG_EXHAUSTIVE");
  EXPECT_EQ(DecodeEnrollLogLevel(9).name, "");
}

TEST(Task, StateNames) {
  EXPECT_EQ(TaskStateName(0), "Unknown");
  EXPECT_EQ(TaskStateName(1), "Disabled");
  EXPECT_EQ(TaskStateName(2), "Queued");
  EXPECT_EQ(TaskStateName(3), "Ready");
  EXPECT_EQ(TaskStateName(4), "Running");
  EXPECT_EQ(TaskStateName(7), "invalid (7)");
}

TaskObservation Task(uint32_t state, std::optional<EventTime> last_run, uint32_t last_result = 0) {
  return TaskObservation{"\\Microsoft\\Windows\\CertificateServicesClient\\SystemTask", state,
                         last_run, last_result};
}

TEST(Task, Verdicts) {
  const TaskVerdict ok = EvaluateAutoEnrollmentTask(Task(kTaskStateReady, kNow - hours(2)), kNow);
  EXPECT_EQ(ok.status, EventStatus::kOk);
  EXPECT_EQ(ok.state_text, "Ready");

  const TaskVerdict stuck =
      EvaluateAutoEnrollmentTask(Task(kTaskStateRunning, kNow - minutes(45), kSchedSTaskRunning), kNow);
  EXPECT_TRUE(stuck.stuck_running);
  EXPECT_EQ(stuck.status, EventStatus::kFail);
  EXPECT_NE(stuck.reason.find("running for 45 minutes (longer than 30)"), std::string::npos)
      << stuck.reason;
  EXPECT_NE(stuck.reason.find("user interaction"), std::string::npos);

  const TaskVerdict short_run =
      EvaluateAutoEnrollmentTask(Task(kTaskStateRunning, kNow - minutes(2), kSchedSTaskRunning), kNow);
  EXPECT_FALSE(short_run.stuck_running);
  EXPECT_EQ(short_run.status, EventStatus::kOk);
  // A custom limit.
  EXPECT_TRUE(EvaluateAutoEnrollmentTask(Task(kTaskStateRunning, kNow - minutes(2)), kNow,
                                         minutes(1))
                  .stuck_running);

  const TaskVerdict disabled = EvaluateAutoEnrollmentTask(Task(kTaskStateDisabled, kNow), kNow);
  EXPECT_TRUE(disabled.disabled);
  EXPECT_EQ(disabled.status, EventStatus::kFail);

  const TaskVerdict never =
      EvaluateAutoEnrollmentTask(Task(kTaskStateReady, std::nullopt, kSchedSTaskHasNotRun), kNow);
  EXPECT_TRUE(never.never_ran);
  EXPECT_EQ(never.status, EventStatus::kWarn);

  const TaskVerdict failed =
      EvaluateAutoEnrollmentTask(Task(kTaskStateReady, kNow - hours(1), 0x800706BA), kNow);
  EXPECT_EQ(failed.status, EventStatus::kFail);
  EXPECT_NE(failed.reason.find("0x800706BA RPC_S_SERVER_UNAVAILABLE"), std::string::npos)
      << failed.reason;
}

// ---- Per-template verdicts. ----

EventResult Ev(EventFamily family, uint32_t id, EventStatus status, uint32_t hresult = 0,
               std::string template_name = "", std::string summary = "") {
  EventResult r;
  r.family = family;
  r.pki_relevant = true;
  r.event_id = id;
  r.status = status;
  r.hresult = hresult;
  r.template_name = std::move(template_name);
  r.context = EnrollContext::kMachine;
  r.summary = summary.empty() ? std::string(FamilyName(family)) + " " + std::to_string(id)
                              : std::move(summary);
  return r;
}

TemplateEvidence Base() {
  TemplateEvidence e;
  e.template_name = "Machine";
  e.context = EnrollContext::kMachine;
  e.now = kNow;
  e.ae_policy = 0x7;
  e.task = Task(kTaskStateReady, kNow - hours(3));
  e.ca_config = "ca01.corp.example\\Corp Issuing CA";
  return e;
}

TEST(TemplateVerdict, HealthyWithValidCertificate) {
  TemplateEvidence e = Base();
  e.certificates.push_back({"AB12", "CN=host", kNow - hours(24 * 100), kNow + hours(24 * 265)});
  e.ae_policy = 0x8000;  // even with autoenrollment off, nothing is due yet
  const TemplateVerdict v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kHealthy);
  EXPECT_EQ(v.status, EventStatus::kOk);
  EXPECT_NE(v.reason.find("valid until 2031-12-04"), std::string::npos) << v.reason;
  ASSERT_EQ(v.next_steps.size(), 1u);  // but it will not renew
  EXPECT_NE(v.next_steps[0].find("set AEPolicy to 0x7"), std::string::npos);
  EXPECT_EQ(TemplateVerdictName(v.kind), "healthy");
}

TEST(TemplateVerdict, RequestNotMadeByPolicy) {
  TemplateEvidence e = Base();
  e.ae_policy = 0x6;  // renew only, no certificate: nothing to renew
  TemplateVerdict v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kRequestNotMade);
  EXPECT_EQ(v.status, EventStatus::kFail);
  EXPECT_NE(v.reason.find("no enrollment is requested"), std::string::npos) << v.reason;
  EXPECT_NE(v.next_steps[0].find("0x7"), std::string::npos);

  // A certificate in its renewal window with enroll-only: no renewal.
  e.ae_policy = 0x1;
  e.certificates.push_back({"AB12", "CN=host", kNow - hours(24 * 300), kNow + hours(24 * 10)});
  v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kRequestNotMade);
  EXPECT_NE(v.reason.find("renewal window"), std::string::npos) << v.reason;
}

TEST(TemplateVerdict, RequestNotMadeByTask) {
  TemplateEvidence e = Base();
  e.task = Task(kTaskStateRunning, kNow - hours(5));
  TemplateVerdict v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kRequestNotMade);
  EXPECT_NE(v.reason.find("user interaction"), std::string::npos);

  e.task = Task(kTaskStateReady, std::nullopt, kSchedSTaskHasNotRun);
  v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kRequestNotMade);
  EXPECT_NE(v.reason.find("never run"), std::string::npos) << v.reason;
}

TEST(TemplateVerdict, DeniedByTheCa) {
  TemplateEvidence e = Base();
  e.ca_denials.push_back(Ev(EventFamily::kCertificationAuthority, 53, EventStatus::kFail,
                            0x80094012, "", "CertificationAuthority 53: CA denied request 168"));
  const TemplateVerdict v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kDeniedByCa);
  EXPECT_EQ(v.hresult, 0x80094012u);
  EXPECT_NE(v.reason.find("denied request 168"), std::string::npos);
  ASSERT_GE(v.next_steps.size(), 3u);
  EXPECT_NE(v.next_steps[0].find("Read, Enroll and Autoenroll"), std::string::npos);
  EXPECT_NE(v.next_steps[2].find("Kerberos ticket"), std::string::npos);
  EXPECT_NE(v.next_steps[2].find("restart the computer"), std::string::npos);

  // The client's own event with CERTSRV_E_TEMPLATE_DENIED says the same.
  TemplateEvidence c = Base();
  c.events.push_back(Ev(EventFamily::kCertEnroll, 13, EventStatus::kFail, 0x80094012, "Machine"));
  EXPECT_EQ(EvaluateTemplate(c).kind, TemplateVerdictKind::kDeniedByCa);
}

TEST(TemplateVerdict, NotReachingTheCa) {
  TemplateEvidence e = Base();
  e.events.push_back(Ev(EventFamily::kAutoEnrollment, 2, EventStatus::kOk));
  e.events.push_back(Ev(EventFamily::kCertEnroll, 13, EventStatus::kFail, 0x800706BA, "Machine"));
  TemplateVerdict v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kNotReachingCa);
  EXPECT_EQ(v.hresult, 0x800706BAu);
  EXPECT_NE(v.next_steps[0].find("TCP 135"), std::string::npos);

  // The DCOM probe alone.
  TemplateEvidence p = Base();
  p.ca_ping_hresult = 0x800706BA;
  v = EvaluateTemplate(p);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kNotReachingCa);
  EXPECT_NE(v.reason.find("ca01.corp.example\\Corp Issuing CA"), std::string::npos);

  // Another template's failure does not count.
  TemplateEvidence o = Base();
  o.events.push_back(Ev(EventFamily::kCertEnroll, 13, EventStatus::kFail, 0x800706BA, "WebServer"));
  EXPECT_EQ(EvaluateTemplate(o).kind, TemplateVerdictKind::kUndetermined);

  // The CA does not offer the template.
  TemplateEvidence u = Base();
  u.events.push_back(Ev(EventFamily::kCertEnroll, 13, EventStatus::kFail, 0x80094800, "Machine"));
  v = EvaluateTemplate(u);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kNotReachingCa);
  EXPECT_NE(v.reason.find("does not offer the template"), std::string::npos);
}

TEST(TemplateVerdict, NoKeyProvider) {
  TemplateEvidence e = Base();
  e.events.push_back(Ev(EventFamily::kCertEnroll, 57, EventStatus::kFail, 0x80090030));
  const TemplateVerdict v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kRequestNotMade);
  EXPECT_EQ(v.hresult, 0x80090030u);
  EXPECT_NE(v.next_steps[0].find("TPM"), std::string::npos);
}

TEST(TemplateVerdict, RunWithoutRequest) {
  TemplateEvidence e = Base();
  e.events.push_back(Ev(EventFamily::kAutoEnrollment, 2, EventStatus::kOk));
  e.events.push_back(Ev(EventFamily::kAutoEnrollment, 3, EventStatus::kOk));
  const TemplateVerdict v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kRequestNotMade);
  EXPECT_NE(v.reason.find("requested nothing"), std::string::npos) << v.reason;
}

TEST(TemplateVerdict, UndeterminedWithoutEvidence) {
  TemplateEvidence e = Base();
  e.ae_policy.reset();
  e.task.reset();
  const TemplateVerdict v = EvaluateTemplate(e);
  EXPECT_EQ(v.kind, TemplateVerdictKind::kUndetermined);
  EXPECT_EQ(v.status, EventStatus::kWarn);
  EXPECT_NE(v.reason.find("AEPolicy is not set"), std::string::npos);
  EXPECT_NE(v.next_steps[0].find("LogLevel to 4"), std::string::npos);
}

// ---- The healthy sequence. ----

std::vector<EventResult> HealthyRun() {
  std::vector<EventResult> run;
  for (const SequenceStep& s : kHealthyAutoEnrollmentSequence) {
    run.push_back(Ev(s.family, s.event_id, EventStatus::kOk));
  }
  return run;
}

TEST(HealthySequence, CompleteRun) {
  std::vector<EventResult> run = HealthyRun();
  // Unrelated events in between are skipped.
  run.insert(run.begin() + 3, Ev(EventFamily::kCertEnroll, 19, EventStatus::kOk, 0, "Machine"));
  run.insert(run.begin(), Ev(EventFamily::kOther, 1033, EventStatus::kOk));
  const SequenceVerdict v = CheckAutoEnrollmentRun(run);
  EXPECT_TRUE(v.completed);
  EXPECT_TRUE(v.enrollment_finished);
  EXPECT_EQ(v.steps_seen, kHealthySequenceLength);
  EXPECT_EQ(v.next_expected, "");
  EXPECT_EQ(v.last_step, "CertificateServicesClient 2 (Certificate Services Client stopped)");
  EXPECT_TRUE(v.failures.empty());
}

TEST(HealthySequence, StopsAfterPolicyLoad) {
  std::vector<EventResult> run = HealthyRun();
  run.resize(6);  // ... CertEnroll 65, 64; no AutoEnrollment 5
  run.push_back(Ev(EventFamily::kCertEnroll, 13, EventStatus::kFail, 0x800706BA, "Machine",
                   "CertEnroll 13: failed"));
  const SequenceVerdict v = CheckAutoEnrollmentRun(run);
  EXPECT_FALSE(v.completed);
  EXPECT_EQ(v.steps_seen, 6u);
  EXPECT_EQ(v.last_step, "CertEnroll 64 (policy loaded from the policy server)");
  EXPECT_EQ(v.next_expected, "AutoEnrollment 5 (returned from the enrollment API)");
  EXPECT_NE(v.explanation.find("did not return"), std::string::npos) << v.explanation;
  ASSERT_EQ(v.failures.size(), 1u);
  EXPECT_NE(v.explanation.find("CertEnroll 13: failed"), std::string::npos);
}

TEST(HealthySequence, EveryStopPointIsExplained) {
  const std::vector<EventResult> full = HealthyRun();
  for (size_t n = 0; n < kHealthySequenceLength; ++n) {
    const std::vector<EventResult> run(full.begin(), full.begin() + n);
    const SequenceVerdict v = CheckAutoEnrollmentRun(run);
    EXPECT_FALSE(v.completed);
    EXPECT_EQ(v.steps_seen, n);
    EXPECT_FALSE(v.explanation.empty());
    EXPECT_EQ(v.enrollment_finished, n == kHealthySequenceLength - 1);
  }
  // Out of order: AutoEnrollment 4 before 2 does not count as step 2.
  std::vector<EventResult> swapped = {full[1], full[0]};
  EXPECT_EQ(CheckAutoEnrollmentRun(swapped).steps_seen, 1u);
}

}  // namespace
}  // namespace pkiwatch::eventlog
