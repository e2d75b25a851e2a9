#include "agent/win/diag_verdicts.h"

#include <cstdio>
#include <map>

#include "agent/probes/clock_skew.h"

namespace pkiwatch::win {
namespace {

std::string Hex(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%X", static_cast<unsigned>(value));
  return buffer;
}

std::string Optional(const std::optional<uint32_t>& value) {
  return value.has_value() ? Hex(*value) : std::string("(not set)");
}

std::string CodeText(uint32_t code) {
  const std::string_view name = ErrorName(code);
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08X", static_cast<unsigned>(code));
  return name.empty() ? std::string(buffer) : std::string(buffer) + " " + std::string(name);
}

}  // namespace

eventlog::EventTime ToEventTime(int64_t unix_seconds) {
  return eventlog::EventTime(std::chrono::seconds(unix_seconds));
}

Verdict FromEventStatus(eventlog::EventStatus status) {
  switch (status) {
    case eventlog::EventStatus::kOk: return Verdict::kOk;
    case eventlog::EventStatus::kWarn: return Verdict::kWarn;
    case eventlog::EventStatus::kFail: return Verdict::kFail;
  }
  return Verdict::kFail;
}

DiagVerdict CheckError(std::string check, std::string target, const Status& status) {
  DiagVerdict v;
  v.check = std::move(check);
  v.target = std::move(target);
  v.verdict = Verdict::kError;
  v.hresult = status.hresult();
  v.error = status.message();
  v.summary = "the check could not run";
  return v;
}

DiagVerdict OperationFailed(std::string check, std::string target, const Status& status,
                            Verdict verdict, std::string summary) {
  DiagVerdict v = CheckError(std::move(check), std::move(target), status);
  v.verdict = verdict;
  v.summary = std::move(summary);
  return v;
}

std::string FirstNtpPeer(std::string_view ntp_server) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t start = ntp_server.find_first_not_of(kSpace);
  if (start == std::string_view::npos) return "";
  std::string_view peer = ntp_server.substr(start);
  peer = peer.substr(0, peer.find_first_of(kSpace));
  // ",0x9": the peer's mode flags (SpecialInterval | Client).
  return std::string(peer.substr(0, peer.find(',')));
}

DiagVerdict JudgeClock(const std::string& reference, const std::string& source,
                       const StatusOr<sntp::Sample>& sample) {
  if (!sample.ok()) {
    DiagVerdict v = OperationFailed("clock", reference, sample.status(), Verdict::kError,
                                    "clock not measured: the reference did not give a usable "
                                    "answer");
    v.Detail("source", source);
    return v;
  }
  const auto ms = [](std::chrono::nanoseconds d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  DiagVerdict v;
  v.check = "clock";
  v.target = reference;
  v.Detail("source", source);
  v.Detail("offset", clock::FormatSignedOffset(sample->offset));
  v.Detail("offset_ms", ms(sample->offset));
  v.Detail("round_trip_ms", ms(sample->delay));
  v.Detail("stratum", std::to_string(sample->stratum));
  v.Detail("server_address", sample->server_address);
  v.Detail("reference_id", sample->reference_id);
  // The offset is reference - local: positive means this clock is behind.
  const bool behind = sample->offset >= sample->offset.zero();
  const std::string amount =
      clock::FormatSignedOffset(behind ? sample->offset : -sample->offset).substr(1);
  const std::string where = "this clock is " + amount + (behind ? " behind " : " ahead of ") +
                            reference + " (offset " + clock::FormatSignedOffset(sample->offset) +
                            ", round trip " + ms(sample->delay) + " ms, stratum " +
                            std::to_string(sample->stratum) + ")";
  const auto warn = std::chrono::seconds(clock::kDefaultWarn);
  const auto fail = std::chrono::seconds(clock::kDefaultFail);
  const std::string limits = "warning above " + std::to_string(warn.count()) +
                             " s, Kerberos fails above " + std::to_string(fail.count()) + " s";
  switch (clock::JudgeOffset(sample->offset, warn, fail)) {
    case clock::Skew::kBeyondKerberos:
      v.verdict = Verdict::kFail;
      v.hresult = clock::kSecETimeSkew;
      v.error = DescribeError(clock::kSecETimeSkew);
      v.summary = "clock skew: " + where + "; beyond " + std::to_string(fail.count()) +
                  " s Kerberos (and with it DCOM enrollment, LDAP, SCEP) fails";
      break;
    case clock::Skew::kDrifting:
      v.verdict = Verdict::kWarn;
      v.summary = "clock drifting: " + where + "; " + limits;
      break;
    case clock::Skew::kInSync:
      v.summary = "clock in sync: " + where;
      break;
  }
  return v;
}

DiagVerdict JudgeAePolicy(const std::string& scope, const std::vector<AePolicyReading>& readings) {
  DiagVerdict v;
  v.check = "ae_policy";
  v.target = scope;
  std::optional<uint32_t> policy;
  std::optional<uint32_t> local;
  for (const AePolicyReading& r : readings) {
    v.Detail(r.key, r.status.ok() ? Optional(r.ae_policy) : "error: " + r.status.message());
    if (!r.status.ok()) {
      v.verdict = Verdict::kError;
      v.hresult = r.status.hresult();
      v.error = r.status.message();
      continue;
    }
    (r.from_group_policy ? policy : local) = r.ae_policy;
  }
  if (v.verdict == Verdict::kError) {
    v.summary = "AEPolicy could not be read";
    return v;
  }
  const std::optional<uint32_t> effective = policy.has_value() ? policy : local;
  if (!effective.has_value()) {
    v.verdict = Verdict::kWarn;
    v.summary = "AEPolicy is not set: autoenrollment is not configured for " + scope;
    return v;
  }
  const eventlog::AePolicyDecoded decoded = eventlog::DecodeAePolicy(*effective);
  v.Detail("effective", Hex(*effective) + " (" +
                            std::string(policy.has_value() ? "group policy" : "local setting") +
                            ")");
  v.Detail("mode", std::string(eventlog::AePolicyModeName(decoded.mode)));
  v.summary = "AEPolicy " + Hex(*effective) + ": " + decoded.meaning;
  if (decoded.enrollment_possible) {
    v.verdict = Verdict::kOk;
  } else if (decoded.renewal_possible) {
    v.verdict = Verdict::kWarn;  // existing certificates renew, new ones are never requested
  } else {
    v.verdict = Verdict::kFail;
  }
  return v;
}

std::vector<DiagVerdict> JudgeAePolicies(const std::vector<AePolicyReading>& readings) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<AePolicyReading>> by_scope;
  for (const AePolicyReading& r : readings) {
    if (by_scope.find(r.scope) == by_scope.end()) order.push_back(r.scope);
    by_scope[r.scope].push_back(r);
  }
  std::vector<DiagVerdict> verdicts;
  for (const std::string& scope : order) {
    const std::vector<AePolicyReading>& group = by_scope[scope];
    if (scope == "users") {  // HKU itself could not be enumerated
      verdicts.push_back(CheckError("ae_policy", scope, group.front().status));
      continue;
    }
    verdicts.push_back(JudgeAePolicy(scope, group));
  }
  return verdicts;
}

DiagVerdict JudgeEnrollLogging(const EnrollLogging& logging) {
  DiagVerdict v;
  v.check = "enroll_log_level";
  v.target = "machine";
  v.Detail("LogLevel", Optional(logging.log_level));
  v.Detail("AEEventLogLevel", Optional(logging.ae_event_log_level));
  if (!logging.log_level.has_value()) {
    v.summary = "LogLevel not set: errors and warnings only; the healthy sequence needs "
                "certutil -setreg Enroll\\LogLevel 4";
    return v;
  }
  const eventlog::LogLevelDecoded decoded = eventlog::DecodeEnrollLogLevel(*logging.log_level);
  v.summary = decoded.meaning;
  v.verdict = decoded.logs_errors ? Verdict::kOk : Verdict::kWarn;
  return v;
}

DiagVerdict JudgeTask(const TaskInfo& task, int64_t now_unix) {
  eventlog::TaskObservation observation;
  observation.path = task.path;
  observation.state = task.state;
  if (task.last_run_unix.has_value()) observation.last_run = ToEventTime(*task.last_run_unix);
  // Unknown result: judged on state and last run alone.
  observation.last_result = task.last_task_result.value_or(0);
  const eventlog::TaskVerdict verdict =
      eventlog::EvaluateAutoEnrollmentTask(observation, ToEventTime(now_unix));
  DiagVerdict v;
  v.check = "autoenrollment_task";
  v.target = task.path;
  v.verdict = FromEventStatus(verdict.status);
  v.summary = verdict.reason;
  if (v.verdict != Verdict::kOk && task.last_task_result.value_or(0) != 0) {
    v.hresult = *task.last_task_result;
  }
  v.Detail("state", verdict.state_text);
  v.Detail("enabled", task.enabled ? "yes" : "no");
  v.Detail("last_run", task.last_run_unix ? eventlog::FormatEventTime(ToEventTime(*task.last_run_unix))
                                          : std::string("never"));
  v.Detail("last_result", task.last_task_result ? CodeText(*task.last_task_result)
                                                : std::string("(not reported)"));
  if (task.next_run_unix) {
    v.Detail("next_run", eventlog::FormatEventTime(ToEventTime(*task.next_run_unix)));
  }
  return v;
}

DiagVerdict JudgeCryptSvc(const ServiceState& state) {
  DiagVerdict v;
  v.check = "service";
  v.target = state.name;
  v.Detail("state", ServiceStateName(state.current_state));
  v.Detail("start_type", ServiceStartTypeName(state.start_type));
  if (state.current_state == kServiceRunning) {
    v.summary = state.name + " is running";
    return v;
  }
  v.verdict = Verdict::kFail;
  v.hresult = state.win32_exit_code != 0 ? HresultFromWin32(state.win32_exit_code) : 0;
  v.summary = state.name + " is " + ServiceStateName(state.current_state) +
              (state.start_type == kServiceDisabled ? " and disabled" : "") +
              ": chain building, revocation checking and enrollment need it";
  return v;
}

DiagVerdict JudgeAuthRoot(const AuthRootSettings& settings, int64_t now_unix) {
  DiagVerdict v;
  v.check = "authroot_update";
  v.target = "machine";
  v.Detail("DisableRootAutoUpdate", Optional(settings.disable_root_auto_update));
  std::optional<int64_t> last_sync;
  if (settings.last_sync_filetime.has_value()) {
    // FILETIME ticks -> Unix seconds (1601 -> 1970 is 11644473600 s).
    last_sync = static_cast<int64_t>(*settings.last_sync_filetime / 10'000'000) - 11'644'473'600;
  }
  v.Detail("LastSyncTime",
           last_sync ? eventlog::FormatEventTime(ToEventTime(*last_sync)) : std::string("never"));
  if (settings.root_dir_url) v.Detail("RootDirURL", *settings.root_dir_url);
  if (settings.disable_root_auto_update.value_or(0) != 0) {
    v.verdict = Verdict::kWarn;
    v.summary = "automatic root update is disabled by policy: trusted roots must be "
                "distributed another way (4107 events are not expected)";
    return v;
  }
  if (!last_sync.has_value()) {
    v.verdict = Verdict::kWarn;
    v.summary = "automatic root update never synchronized (no LastSyncTime): check CAPI2 "
                "event 4107 and access to the Windows Update root list";
    return v;
  }
  const int64_t age = now_unix - *last_sync;
  if (age > std::chrono::duration_cast<std::chrono::seconds>(kAuthRootSyncWarning).count()) {
    v.verdict = Verdict::kWarn;
    v.summary = "the last root list synchronization is " + std::to_string(age / 86400) +
                " days old: check CAPI2 event 4107";
    return v;
  }
  v.summary = "root list synchronized " + std::to_string(age / 86400) + " days ago";
  return v;
}

DiagVerdict JudgeProxy(const WinHttpProxyConfig& winhttp, const IeProxyConfig* ie) {
  DiagVerdict v;
  v.check = "winhttp_proxy";
  v.target = "machine";
  v.Detail("access_type", std::to_string(winhttp.access_type));
  v.Detail("proxy", winhttp.proxy.empty() ? "(none)" : winhttp.proxy);
  if (!winhttp.bypass.empty()) v.Detail("bypass", winhttp.bypass);
  const bool winhttp_direct =
      winhttp.access_type != kWinHttpAccessNamedProxy || winhttp.proxy.empty();
  if (ie != nullptr) {
    v.Detail("ie_proxy", ie->proxy.empty() ? "(none)" : ie->proxy);
    v.Detail("ie_auto_detect", ie->auto_detect ? "yes" : "no");
    if (!ie->auto_config_url.empty()) v.Detail("ie_auto_config_url", ie->auto_config_url);
    if (winhttp_direct && (!ie->proxy.empty() || !ie->auto_config_url.empty())) {
      v.verdict = Verdict::kWarn;
      v.summary = "WinHTTP (which CAPI2 uses for CRL/OCSP/AIA) goes direct while the user's "
                  "proxy settings name a proxy: if direct access is blocked, import it with "
                  "netsh winhttp import proxy source=ie";
      return v;
    }
  }
  v.summary = winhttp_direct ? "WinHTTP connects directly (no proxy)"
                             : "WinHTTP uses proxy " + winhttp.proxy;
  return v;
}

uint32_t ChainErrorCode(const ChainReport& chain) {
  if (chain.policy_status != 0) return chain.policy_status;
  if (chain.revocation_error != 0) return chain.revocation_error;
  const uint32_t bits = chain.error_status;
  if (bits & kTrustIsNotSignatureValid) return kTrustECertSignature;
  if (bits & kTrustIsUntrustedRoot) return kCertEUntrustedRoot;
  if (bits & kTrustIsPartialChain) return kCertEChaining;
  if (bits & kTrustIsNotTimeValid) return kCertEExpired;
  if (bits & kTrustIsRevoked) return kCryptERevoked;
  if (bits & kTrustIsOfflineRevocation) return kCryptERevocationOffline;
  if (bits & kTrustRevocationStatusUnknown) return kCryptENoRevocationCheck;
  return 0;
}

DiagVerdict JudgeCertificate(const StoreCertificate& cert, const ChainReport& chain,
                             int64_t now_unix) {
  DiagVerdict v;
  v.check = "certificate_chain";
  v.target = cert.thumbprint;
  v.Detail("subject", cert.subject);
  v.Detail("issuer", cert.issuer);
  if (cert.not_after_unix) {
    v.Detail("not_after", eventlog::FormatEventTime(ToEventTime(*cert.not_after_unix)));
  }
  if (!cert.template_oid.empty()) {
    v.Detail("template_oid", cert.template_oid + " v" + std::to_string(cert.template_major_version) +
                                 "." + std::to_string(cert.template_minor_version));
  }
  if (!cert.template_name.empty()) v.Detail("template_name", cert.template_name);
  v.Detail("chain_error_status", Hex(chain.error_status));
  v.Detail("policy_status", CodeText(chain.policy_status));
  if (chain.revocation_error != 0) v.Detail("revocation_error", CodeText(chain.revocation_error));
  v.Detail("chain_length", std::to_string(chain.elements.size()));

  const uint32_t code = ChainErrorCode(chain);
  if (code != 0) {
    v.hresult = code;
    v.error = DescribeError(code);
    v.verdict = code == kCryptENoRevocationCheck ? Verdict::kWarn : Verdict::kFail;
    switch (code) {
      case kCryptERevocationOffline:
        v.summary = "revocation server offline: a CRL/OCSP URL of the chain cannot be reached";
        break;
      case kCryptENoRevocationCheck:
        v.summary = "revocation could not be checked";
        break;
      case kCryptERevoked:
        v.summary = "the certificate (or a CA above it) is revoked";
        break;
      case kCertEExpired:
        v.summary = "a certificate of the chain is outside its validity period";
        break;
      case kCertEUntrustedRoot:
      case kCertEChaining:
        v.summary = "the chain does not end at a trusted root";
        break;
      default:
        v.summary = "chain validation failed: " + CodeText(code);
    }
    return v;
  }
  if (cert.not_after_unix &&
      *cert.not_after_unix - now_unix <
          std::chrono::duration_cast<std::chrono::seconds>(kExpiryWarning).count()) {
    v.verdict = Verdict::kWarn;
    v.summary = "valid, but expires within " + std::to_string(kExpiryWarning.count() / 24) +
                " days";
    return v;
  }
  v.summary = "chain valid, revocation checked";
  return v;
}

}  // namespace pkiwatch::win
