#pragma once

// Autoenrollment diagnosis (DOMAIN.md family C) as pure functions: decoding
// AEPolicy and Enroll\LogLevel, judging the CertificateServicesClient
// scheduled tasks, the per-template verdict ("request not made" / "not
// reaching the CA" / "denied by the CA" / "healthy"), and checking one run's
// events against the healthy sequence. The Win32 layer (agent/win) reads the
// registry, Task Scheduler and certificate stores and passes the raw values.
//
// Portable core (standard library only; see common/result.h). All functions are
// thread-safe and never fail: unknown input gives "unknown"/"undetermined".

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/eventlog/event_classifier.h"
#include "agent/eventlog/event_xml.h"

namespace pkiwatch::eventlog {

// ------------------------------------------------------------ AEPolicy
// Value AEPolicy (REG_DWORD) under
// Software\Policies\Microsoft\Cryptography\AutoEnrollment of HKLM (machine)
// or HKCU (user).

enum class AePolicyMode {
  kEnabledNoTemplateUpdate,  // 0x0
  kEnrollOnly,               // 0x1
  kRenewOnly,                // 0x6
  kAll,                      // 0x7 (recommended)
  kDisabled,                 // 0x8000
  kUnknown,                  // anything else
};

struct AePolicyDecoded {
  uint32_t raw = 0;
  AePolicyMode mode = AePolicyMode::kUnknown;
  // New enrollment happens only with 0x1 or 0x7.
  bool enrollment_possible = false;
  // Renewal of existing certificates: 0x6 or 0x7.
  bool renewal_possible = false;
  // One sentence; for unknown values it explains each set bit.
  std::string meaning;
};

AePolicyDecoded DecodeAePolicy(uint32_t value);
std::string_view AePolicyModeName(AePolicyMode mode);  // "enroll only", ...

// -------------------------------------------------------- Enroll\LogLevel
// HKLM\Software\Microsoft\Cryptography\AutoEnrollment (and HKCU) value
// LogLevel; the scale is certsrv.h's CERTLOG_* (0 minimal .. 5 exhaustive).

struct LogLevelDecoded {
  uint32_t raw = 0;
  std::string_view name;       // "CERTLOG_VERBOSE", "" when out of range
  bool logs_errors = false;
  bool logs_warnings = false;
  bool logs_information = false;  // needed to see the healthy sequence
  std::string meaning;
};

LogLevelDecoded DecodeEnrollLogLevel(uint32_t value);

// ----------------------------------------------------- Task Scheduler
// \Microsoft\Windows\CertificateServicesClient\SystemTask (machine) and
// UserTask (user).

// TASK_STATE_* of taskschd.h: 0 Unknown, 1 Disabled, 2 Queued, 3 Ready,
// 4 Running; other values "invalid (N)".
std::string TaskStateName(uint32_t state);

inline constexpr uint32_t kTaskStateUnknown = 0;
inline constexpr uint32_t kTaskStateDisabled = 1;
inline constexpr uint32_t kTaskStateQueued = 2;
inline constexpr uint32_t kTaskStateReady = 3;
inline constexpr uint32_t kTaskStateRunning = 4;
// winerror.h task results.
inline constexpr uint32_t kSchedSTaskRunning = 0x00041301;
inline constexpr uint32_t kSchedSTaskHasNotRun = 0x00041303;

struct TaskObservation {
  std::string path;                    // "\Microsoft\...\SystemTask"
  uint32_t state = kTaskStateUnknown;  // IRegisteredTask::get_State
  // IRegisteredTask::get_LastRunTime, nullopt when the task never ran (Task
  // Scheduler reports the OLE date 0, 1899-12-30, then).
  std::optional<EventTime> last_run;
  uint32_t last_result = 0;            // get_LastTaskResult (HRESULT)
};

struct TaskVerdict {
  EventStatus status = EventStatus::kOk;
  std::string state_text;       // TaskStateName(state)
  bool disabled = false;
  bool stuck_running = false;   // Running for longer than the limit
  bool never_ran = false;
  std::string reason;           // one sentence
};

// Default limit for "running too long": a run normally takes seconds.
inline constexpr std::chrono::minutes kDefaultMaxTaskRunning{30};

TaskVerdict EvaluateAutoEnrollmentTask(const TaskObservation& task, EventTime now,
                                       std::chrono::minutes max_running = kDefaultMaxTaskRunning);

// -------------------------------------------------- per-template verdict

struct StoreCertificate {
  std::string thumbprint;
  std::string subject;
  EventTime not_before{};
  EventTime not_after{};
};

struct TemplateEvidence {
  std::string template_name;   // display name or OID, as events name it
  EnrollContext context = EnrollContext::kMachine;
  EventTime now{};
  // Certificates of this template in the context's My store.
  std::vector<StoreCertificate> certificates;
  // The template's renewal period: renewal starts this long before notAfter.
  std::chrono::seconds renewal_period = std::chrono::hours(24 * 42);
  std::optional<uint32_t> ae_policy;  // nullopt: value absent (not configured)
  std::optional<TaskObservation> task;
  // Recent classified AutoEnrollment / CertEnroll / CertificateServicesClient
  // events of this host, oldest first. Events naming another template or
  // the other context are ignored.
  std::vector<EventResult> events;
  // CertificationAuthority 53 (or 7) results about this requester/template.
  std::vector<EventResult> ca_denials;
  // ICertRequest::GetCAProperty(CANAME) over DCOM to the CA: 0 = reached,
  // nullopt = not probed.
  std::optional<uint32_t> ca_ping_hresult;
  std::string ca_config;       // "host\CA name", for the texts
};

enum class TemplateVerdictKind {
  kHealthy,
  kRequestNotMade,
  kNotReachingCa,
  kDeniedByCa,
  kUndetermined,
};

struct TemplateVerdict {
  TemplateVerdictKind kind = TemplateVerdictKind::kUndetermined;
  EventStatus status = EventStatus::kWarn;  // healthy OK, undetermined WARN, else FAIL
  uint32_t hresult = 0;                     // the code behind the verdict, if any
  std::string reason;                       // what the evidence shows
  std::vector<std::string> next_steps;      // the guide's steps, in order
};

// "healthy", "request not made", "not reaching the CA", "denied by the CA",
// "undetermined".
std::string_view TemplateVerdictName(TemplateVerdictKind kind);

// Order of judgement: a valid certificate outside its renewal window is
// healthy; then AEPolicy, the task, CA denials, failures reaching the CA,
// key-provider failures, a run that made no request, a task that never
// ran, other failures; with no evidence, undetermined.
TemplateVerdict EvaluateTemplate(const TemplateEvidence& evidence);

// ------------------------------------------------- healthy run sequence

struct SequenceStep {
  EventFamily family;
  uint32_t event_id;
  std::string_view meaning;
};

// The Application-log events of one healthy autoenrollment run, in order.
inline constexpr SequenceStep kHealthyAutoEnrollmentSequence[] = {
    {EventFamily::kAutoEnrollment, 2, "autoenrollment started"},
    {EventFamily::kAutoEnrollment, 4, "enrollment API invoked"},
    {EventFamily::kCertificateServicesClient, 1, "Certificate Services Client started"},
    {EventFamily::kCertificateServicesClient, 3, "network detected"},
    {EventFamily::kCertEnroll, 65, "authenticated to the policy server"},
    {EventFamily::kCertEnroll, 64, "policy loaded from the policy server"},
    {EventFamily::kAutoEnrollment, 5, "returned from the enrollment API"},
    {EventFamily::kAutoEnrollment, 3, "autoenrollment completed"},
    {EventFamily::kCertificateServicesClient, 2, "Certificate Services Client stopped"},
};
inline constexpr size_t kHealthySequenceLength =
    sizeof(kHealthyAutoEnrollmentSequence) / sizeof(kHealthyAutoEnrollmentSequence[0]);

struct SequenceVerdict {
  bool completed = false;           // all steps seen, in order
  bool enrollment_finished = false; // AutoEnrollment 3 seen (only the service stop may be missing)
  size_t steps_seen = 0;            // length of the matched prefix
  std::string last_step;            // "AutoEnrollment 4 (enrollment API invoked)", "" if none
  std::string next_expected;        // "" when completed
  std::string explanation;          // where the run stopped and what that suggests
  std::vector<std::string> failures;  // summaries of FAIL/WARN events in the run
};

// `run`: the events of one run in log order (other events are skipped, so
// the whole Application log slice may be passed).
SequenceVerdict CheckAutoEnrollmentRun(const std::vector<EventResult>& run);

}  // namespace pkiwatch::eventlog
