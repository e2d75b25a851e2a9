#include "agent/eventlog/autoenrollment.h"

#include <cstdio>
#include <utility>

#include "agent/eventlog/error_text.h"

namespace pkiwatch::eventlog {
namespace {

// Codes that mean the request left the client but did not reach the CA, or
// the CA does not offer the template (DOMAIN.md family C, case 2), and the
// WinHTTP transport failures of CES.
constexpr uint32_t kNotReachingCodes[] = {
    0x800706BAu,  // RPC_S_SERVER_UNAVAILABLE
    0x8007054Bu,  // ERROR_NO_SUCH_DOMAIN
    0x80094800u,  // CERTSRV_E_UNSUPPORTED_CERT_TYPE
    0x80072EE2u,  // ERROR_WINHTTP_TIMEOUT
    0x80072EE7u,  // ERROR_WINHTTP_NAME_NOT_RESOLVED
    0x80072EFDu,  // ERROR_WINHTTP_CANNOT_CONNECT
    0x80072EFEu,  // ERROR_WINHTTP_CONNECTION_ERROR
};

constexpr uint32_t kTemplateDenied = 0x80094012u;    // CERTSRV_E_TEMPLATE_DENIED
constexpr uint32_t kDeviceNotReady = 0x80090030u;    // NTE_DEVICE_NOT_READY
constexpr uint32_t kUnsupportedCertType = 0x80094800u;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%X", v);
  return buf;
}

// "0x800706BA RPC_S_SERVER_UNAVAILABLE" (name when known).
std::string CodeText(uint32_t code) {
  std::string s = FormatHresult(code);
  if (const KnownError* k = FindKnownError(code)) {
    s += ' ';
    s += k->name;
  }
  return s;
}

std::string Date(EventTime t) { return FormatEventTime(t).substr(0, 10); }

bool IsNotReachingCode(uint32_t code) {
  for (uint32_t c : kNotReachingCodes) {
    if (c == code) return true;
  }
  return false;
}

std::string ContextWord(EnrollContext c) {
  return c == EnrollContext::kUser ? "user" : "computer";
}

// Steps the guide gives for each case, in its order.
std::vector<std::string> PermissionSteps(const TemplateEvidence& e) {
  const std::string who = ContextWord(e.context);
  return {
      "Check the template's security: the " + who +
          " (or a group it belongs to) needs Read, Enroll and Autoenroll.",
      "Check the CA's security: the " + who + " needs Request Certificates on the CA.",
      std::string("Group membership added after the last ") +
          (e.context == EnrollContext::kUser ? "logon" : "boot") +
          " is not yet in the Kerberos ticket: " +
          (e.context == EnrollContext::kUser ? "log off and on again" : "restart the computer") +
          " (or purge the tickets with klist purge) and trigger autoenrollment again.",
      "Make sure the template is published on an enterprise CA (Certificate Templates to "
      "issue).",
  };
}

std::vector<std::string> NetworkSteps(const TemplateEvidence& e) {
  const std::string ca = e.ca_config.empty() ? std::string("the CA") : "\"" + e.ca_config + "\"";
  return {
      "Resolve the CA host name in DNS and test the RPC/DCOM path from this host to " + ca +
          " (TCP 135 and the dynamic RPC ports; firewalls and routing in between).",
      "Ask the CA for its name over DCOM (certutil -config \"host\\CA name\" -ping, i.e. "
      "ICertRequest::GetCAProperty CANAME); RPC_S_SERVER_UNAVAILABLE 0x800706BA means the "
      "DCOM call did not reach the CA service.",
      "Check DCOM authentication: the requester must be allowed by the CA's DCOM permissions "
      "(Certificate Service DCOM Access) and the CA service must be running.",
      "With certificate enrollment web services (CES), the same code, or WS_E_ENDPOINT_FAILURE "
      "when CES could not reach the CA when it started: check CES's connection to the CA.",
      "CERTSRV_E_UNSUPPORTED_CERT_TYPE 0x80094800 means the CA does not offer the template: "
      "publish it on the CA.",
  };
}

// Events that concern this template and context.
bool Concerns(const EventResult& r, const TemplateEvidence& e) {
  if (!r.template_name.empty() && !e.template_name.empty() &&
      !EqualsNoCase(r.template_name, e.template_name)) {
    return false;
  }
  if (r.context != EnrollContext::kUnknown && r.context != e.context) return false;
  return true;
}

TemplateVerdict Make(TemplateVerdictKind kind, uint32_t hresult, std::string reason,
                     std::vector<std::string> steps) {
  TemplateVerdict v;
  v.kind = kind;
  v.status = kind == TemplateVerdictKind::kHealthy       ? EventStatus::kOk
             : kind == TemplateVerdictKind::kUndetermined ? EventStatus::kWarn
                                                           : EventStatus::kFail;
  v.hresult = hresult;
  v.reason = std::move(reason);
  v.next_steps = std::move(steps);
  return v;
}

std::string StepName(const SequenceStep& s) {
  return std::string(FamilyName(s.family)) + " " + std::to_string(s.event_id) + " (" +
         std::string(s.meaning) + ")";
}

// What it means when the run stops before step `next`.
constexpr std::string_view kStopExplanations[kHealthySequenceLength + 1] = {
    "no autoenrollment start (AutoEnrollment 2): the trigger did not fire (logon or boot, the "
    "8-hour timer, a group policy refresh), the scheduled task did not run, or Enroll\\LogLevel "
    "is below 4 so information events are not logged",
    "autoenrollment started but never invoked the enrollment API: it failed before enrolling "
    "(see AutoEnrollment 6 or 15 for the code, e.g. the domain could not be contacted)",
    "the enrollment API was invoked but the Certificate Services Client did not start",
    "the Certificate Services Client started but detected no network",
    "no authentication to the policy server (CertEnroll 65): the domain controller (LDAP) or "
    "the enrollment policy server (CEP) was not reachable or refused the credentials",
    "authenticated, but the policy was not loaded from the policy server (CertEnroll 64)",
    "the policy was loaded but the enrollment API did not return: the request is stuck, e.g. "
    "waiting for user interaction that never comes or for the CA",
    "the enrollment API returned but autoenrollment did not complete (AutoEnrollment 3)",
    "autoenrollment completed; the Certificate Services Client has not logged its stop yet, "
    "which is harmless",
    "the run completed",
};

}  // namespace

// ------------------------------------------------------------ AEPolicy

AePolicyDecoded DecodeAePolicy(uint32_t value) {
  AePolicyDecoded d;
  d.raw = value;
  switch (value) {
    case 0x0:
      d.mode = AePolicyMode::kEnabledNoTemplateUpdate;
      d.meaning =
          "0x0: autoenrollment enabled, but \"update certificates that use certificate "
          "templates\" is off, so no new certificates are requested";
      break;
    case 0x1:
      d.mode = AePolicyMode::kEnrollOnly;
      d.enrollment_possible = true;
      d.meaning = "0x1: enroll only: new certificates are requested; no renewal, pending-request "
                  "update or removal of revoked certificates";
      break;
    case 0x6:
      d.mode = AePolicyMode::kRenewOnly;
      d.renewal_possible = true;
      d.meaning = "0x6: renew expired certificates, update pending requests and remove revoked "
                  "certificates only; no new enrollment";
      break;
    case 0x7:
      d.mode = AePolicyMode::kAll;
      d.enrollment_possible = true;
      d.renewal_possible = true;
      d.meaning = "0x7: enroll, renew, update pending requests and remove revoked certificates "
                  "(the recommended value)";
      break;
    case 0x8000:
      d.mode = AePolicyMode::kDisabled;
      d.meaning = "0x8000: autoenrollment disabled";
      break;
    default: {
      d.mode = AePolicyMode::kUnknown;
      std::string bits;
      auto add = [&](uint32_t bit, std::string_view text) {
        if ((value & bit) == 0) return;
        if (!bits.empty()) bits += "; ";
        bits += Hex(bit) + " " + std::string(text);
      };
      add(0x1, "(new enrollment, as in 0x1 and 0x7)");
      add(0x2, "(part of 0x6: renewal, pending requests, revoked certificates)");
      add(0x4, "(part of 0x6: renewal, pending requests, revoked certificates)");
      add(0x8000, "(disables autoenrollment)");
      const uint32_t other = value & ~0x8007u;
      if (other != 0) {
        if (!bits.empty()) bits += "; ";
        bits += Hex(other) + " (undocumented bits)";
      }
      d.meaning = Hex(value) + ": not one of the documented values 0x0, 0x1, 0x6, 0x7, 0x8000; "
                  "set bits: " + bits + ". Enrollment needs 0x1 or 0x7";
      break;
    }
  }
  return d;
}

std::string_view AePolicyModeName(AePolicyMode mode) {
  switch (mode) {
    case AePolicyMode::kEnabledNoTemplateUpdate: return "enabled, no template update";
    case AePolicyMode::kEnrollOnly: return "enroll only";
    case AePolicyMode::kRenewOnly: return "renew only";
    case AePolicyMode::kAll: return "enroll and renew";
    case AePolicyMode::kDisabled: return "disabled";
    case AePolicyMode::kUnknown: break;
  }
  return "unknown";
}

// -------------------------------------------------------- Enroll\LogLevel

LogLevelDecoded DecodeEnrollLogLevel(uint32_t value) {
  static constexpr std::string_view kNames[] = {"CERTLOG_MINIMAL", "CERTLOG_TERSE",
                                                "CERTLOG_ERROR",   "CERTLOG_WARNING",
                                                "CERTLOG_VERBOSE", "CERTLOG_EXHAUSTIVE"};
  LogLevelDecoded d;
  d.raw = value;
  d.name = value < 6 ? kNames[value] : std::string_view();
  d.logs_errors = value >= 2;
  d.logs_warnings = value >= 3;
  d.logs_information = value >= 4;
  if (value >= 6) {
    d.meaning = std::to_string(value) + ": outside the CERTLOG scale 0-5";
  } else if (d.logs_information) {
    d.meaning = std::to_string(value) + " (" + std::string(d.name) +
                "): errors, warnings and information are logged, so a healthy run's sequence "
                "is visible";
  } else if (d.logs_warnings) {
    d.meaning = std::to_string(value) + " (" + std::string(d.name) +
                "): errors and warnings only; set 4 to see the information events of a run";
  } else if (d.logs_errors) {
    d.meaning = std::to_string(value) + " (" + std::string(d.name) +
                "): errors only; set 4 to see warnings and the information events of a run";
  } else {
    d.meaning = std::to_string(value) + " (" + std::string(d.name) +
                "): minimal logging; set 4 to log errors, warnings and information";
  }
  return d;
}

// ----------------------------------------------------- Task Scheduler

std::string TaskStateName(uint32_t state) {
  switch (state) {
    case kTaskStateUnknown: return "Unknown";
    case kTaskStateDisabled: return "Disabled";
    case kTaskStateQueued: return "Queued";
    case kTaskStateReady: return "Ready";
    case kTaskStateRunning: return "Running";
    default: break;
  }
  return "invalid (" + std::to_string(state) + ")";
}

TaskVerdict EvaluateAutoEnrollmentTask(const TaskObservation& task, EventTime now,
                                       std::chrono::minutes max_running) {
  TaskVerdict v;
  v.state_text = TaskStateName(task.state);
  const std::string name = task.path.empty() ? std::string("the task") : task.path;
  if (task.state == kTaskStateDisabled) {
    v.status = EventStatus::kFail;
    v.disabled = true;
    v.reason = name + " is disabled: autoenrollment is not triggered by the task";
    return v;
  }
  if (task.state == kTaskStateRunning && task.last_run && now - *task.last_run > max_running) {
    v.status = EventStatus::kFail;
    v.stuck_running = true;
    const auto minutes =
        std::chrono::duration_cast<std::chrono::minutes>(now - *task.last_run).count();
    v.reason = name + " has been running for " + std::to_string(minutes) +
               " minutes (longer than " + std::to_string(max_running.count()) +
               "): it is probably waiting for user interaction that never comes";
    return v;
  }
  if (!task.last_run || task.last_result == kSchedSTaskHasNotRun) {
    v.status = EventStatus::kWarn;
    v.never_ran = true;
    v.reason = name + " has never run: no trigger (logon or boot, the 8-hour timer, a group "
                      "policy refresh) has started it";
    return v;
  }
  if (task.last_result != 0 && task.last_result != kSchedSTaskRunning) {
    v.status = EventStatus::kFail;
    v.reason = name + " last ran " + FormatEventTime(*task.last_run) + " and returned " +
               CodeText(task.last_result);
    return v;
  }
  v.status = EventStatus::kOk;
  v.reason = name + " is " + v.state_text + "; last run " + FormatEventTime(*task.last_run) +
             (task.last_result == 0 ? " succeeded" : " is still running");
  return v;
}

// -------------------------------------------------- per-template verdict

std::string_view TemplateVerdictName(TemplateVerdictKind kind) {
  switch (kind) {
    case TemplateVerdictKind::kHealthy: return "healthy";
    case TemplateVerdictKind::kRequestNotMade: return "request not made";
    case TemplateVerdictKind::kNotReachingCa: return "not reaching the CA";
    case TemplateVerdictKind::kDeniedByCa: return "denied by the CA";
    case TemplateVerdictKind::kUndetermined: break;
  }
  return "undetermined";
}

TemplateVerdict EvaluateTemplate(const TemplateEvidence& e) {
  using K = TemplateVerdictKind;
  const std::string tmpl = e.template_name.empty() ? std::string("the template")
                                                   : "template \"" + e.template_name + "\"";

  // 1. The store: a valid certificate outside its renewal window means no
  // request is due.
  const StoreCertificate* best = nullptr;
  for (const StoreCertificate& c : e.certificates) {
    if (c.not_before <= e.now && e.now < c.not_after &&
        (best == nullptr || c.not_after > best->not_after)) {
      best = &c;
    }
  }
  const bool renewal_due = best != nullptr && e.now >= best->not_after - e.renewal_period;
  if (best != nullptr && !renewal_due) {
    std::string reason = "a valid certificate of " + tmpl + " exists (" + best->thumbprint +
                         ", valid until " + Date(best->not_after) + "); renewal is due from " +
                         Date(best->not_after - e.renewal_period) +
                         ", so no request is needed now";
    std::vector<std::string> steps;
    if (e.ae_policy && !DecodeAePolicy(*e.ae_policy).renewal_possible) {
      steps.push_back("AEPolicy " + DecodeAePolicy(*e.ae_policy).meaning +
                      ": it will not be renewed automatically; set AEPolicy to 0x7.");
    }
    return Make(K::kHealthy, 0, std::move(reason), std::move(steps));
  }
  const std::string need = renewal_due ? "renewal" : "enrollment";
  const std::string state =
      best != nullptr ? "the certificate of " + tmpl + " is in its renewal window (valid until " +
                            Date(best->not_after) + ")"
                      : "no valid certificate of " + tmpl + " is in the store";

  // 2. AEPolicy.
  if (e.ae_policy) {
    const AePolicyDecoded p = DecodeAePolicy(*e.ae_policy);
    const bool allowed = renewal_due ? p.renewal_possible : p.enrollment_possible;
    if (!allowed) {
      return Make(K::kRequestNotMade, 0,
                  state + ", and AEPolicy " + p.meaning + ", so no " + need + " is requested",
                  {"Set AEPolicy to 0x7 with the group policy \"Certificate Services Client - "
                   "Auto-Enrollment\" (enroll, renew and update certificates that use templates) "
                   "for the " + ContextWord(e.context) + ".",
                   "Refresh the policy (gpupdate /force) and trigger autoenrollment again."});
    }
  }

  // 3. The scheduled task.
  std::optional<TaskVerdict> task;
  if (e.task) task = EvaluateAutoEnrollmentTask(*e.task, e.now);
  if (task && (task->disabled || task->stuck_running)) {
    std::vector<std::string> steps;
    if (task->disabled) {
      steps.push_back("Enable the task " + e.task->path + " and run it.");
    } else {
      steps.push_back("End the running task " + e.task->path +
                      " and find what it waits for: a template that requires user input or "
                      "a key protected by a password cannot be enrolled without a user.");
    }
    steps.push_back("Then trigger autoenrollment (certutil -pulse, or gpupdate /force) and "
                    "watch the Application log for the healthy sequence.");
    return Make(K::kRequestNotMade, 0, state + "; " + task->reason, std::move(steps));
  }

  // Evidence from events of this template and context.
  std::vector<const EventResult*> relevant;
  for (const EventResult& r : e.events) {
    if (r.pki_relevant && Concerns(r, e)) relevant.push_back(&r);
  }

  // 4. The CA denied the request.
  const EventResult* denial = nullptr;
  for (const EventResult& r : e.ca_denials) {
    if (r.status == EventStatus::kFail) denial = &r;
  }
  for (const EventResult* r : relevant) {
    if (r->hresult == kTemplateDenied) denial = r;
  }
  if (denial != nullptr) {
    const uint32_t code = denial->hresult != 0 ? denial->hresult : kTemplateDenied;
    return Make(K::kDeniedByCa, code,
                state + "; the request reached the CA and was denied: " + denial->summary,
                PermissionSteps(e));
  }

  // 5. The request did not reach the CA.
  if (e.ca_ping_hresult && *e.ca_ping_hresult != 0) {
    return Make(K::kNotReachingCa, *e.ca_ping_hresult,
                state + "; asking the CA " + (e.ca_config.empty() ? "" : e.ca_config + " ") +
                    "for its name over DCOM failed with " + CodeText(*e.ca_ping_hresult),
                NetworkSteps(e));
  }
  for (auto it = relevant.rbegin(); it != relevant.rend(); ++it) {
    const EventResult& r = **it;
    if (r.status != EventStatus::kOk && IsNotReachingCode(r.hresult)) {
      std::string reason = state + "; " + r.summary;
      if (r.hresult == kUnsupportedCertType) reason += " (the CA does not offer the template)";
      return Make(K::kNotReachingCa, r.hresult, std::move(reason), NetworkSteps(e));
    }
  }

  // 6. No usable key provider.
  for (auto it = relevant.rbegin(); it != relevant.rend(); ++it) {
    const EventResult& r = **it;
    const bool key_event =
        (r.family == EventFamily::kCertEnroll && r.event_id == 57) ||
        (r.family == EventFamily::kCertificateServicesClient && r.event_id >= 1001 &&
         r.event_id <= 1004) ||
        r.hresult == kDeviceNotReady;
    if (key_event && r.status != EventStatus::kOk) {
      return Make(K::kRequestNotMade, r.hresult,
                  state + "; no usable key provider: " + r.summary,
                  {"The CSP/KSP named in the template cannot create a key on this host: for the "
                   "Microsoft Platform Crypto Provider check the TPM (tpm.msc), or allow a "
                   "software provider in the template.",
                   "Trigger autoenrollment again after the provider works."});
    }
  }

  // 7. A run happened but made no request for this template.
  bool run_seen = false;
  bool attempt_seen = false;
  const EventResult* failure = nullptr;
  for (const EventResult* r : relevant) {
    if (r->family == EventFamily::kAutoEnrollment && (r->event_id == 2 || r->event_id == 3)) {
      run_seen = true;
    }
    if (!r->template_name.empty()) attempt_seen = true;
    if (r->status == EventStatus::kFail) failure = r;
  }
  if (run_seen && !attempt_seen && failure == nullptr) {
    return Make(K::kRequestNotMade, 0,
                state + "; autoenrollment ran but requested nothing for " + tmpl +
                    ": the template is not available to this " + ContextWord(e.context),
                PermissionSteps(e));
  }

  // 8. The task never ran.
  if (task && task->never_ran) {
    return Make(K::kRequestNotMade, 0, state + "; " + task->reason,
                {"Check the triggers of " + e.task->path +
                     " (logon, the 8-hour timer, group policy refresh) and run it once by hand.",
                 "Set Enroll\\LogLevel to 4 to log errors, warnings and information."});
  }

  // 9. Other failures.
  if (failure != nullptr) {
    return Make(K::kUndetermined, failure->hresult,
                state + "; autoenrollment failed: " + failure->summary,
                {"Look up the code and the event in the Application log; set Enroll\\LogLevel "
                 "to 4 to see the whole sequence of a run.",
                 "Run certutil -pulse and compare the events with the healthy sequence "
                 "(AutoEnrollment 2, 4, ..., 3)."});
  }
  std::string reason = state + "; no event, task or CA evidence explains why";
  if (!e.ae_policy) reason += " (AEPolicy is not set)";
  return Make(K::kUndetermined, 0, std::move(reason),
              {"Set Enroll\\LogLevel to 4, trigger autoenrollment (certutil -pulse) and collect "
               "the Application log events of the run.",
               "Check AEPolicy under Software\\Policies\\Microsoft\\Cryptography\\AutoEnrollment "
               "and the CertificateServicesClient scheduled tasks."});
}

// ------------------------------------------------- healthy run sequence

SequenceVerdict CheckAutoEnrollmentRun(const std::vector<EventResult>& run) {
  SequenceVerdict v;
  size_t next = 0;
  for (const EventResult& r : run) {
    if (next < kHealthySequenceLength) {
      const SequenceStep& step = kHealthyAutoEnrollmentSequence[next];
      if (r.family == step.family && r.event_id == step.event_id) {
        ++next;
        continue;
      }
    }
    if (r.pki_relevant && r.status != EventStatus::kOk) v.failures.push_back(r.summary);
  }
  v.steps_seen = next;
  v.completed = next == kHealthySequenceLength;
  v.enrollment_finished = next >= kHealthySequenceLength - 1;
  if (next > 0) v.last_step = StepName(kHealthyAutoEnrollmentSequence[next - 1]);
  if (!v.completed) v.next_expected = StepName(kHealthyAutoEnrollmentSequence[next]);
  v.explanation = std::string(kStopExplanations[next]);
  if (!v.completed) {
    v.explanation = (next == 0 ? std::string("stopped before ") + v.next_expected
                               : "stopped after " + v.last_step + ", before " + v.next_expected) +
                    ": " + v.explanation;
  }
  if (!v.failures.empty()) v.explanation += "; failures in the run: " + v.failures.front();
  return v;
}

}  // namespace pkiwatch::eventlog
