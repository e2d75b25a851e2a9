// Judgement of the raw values the Win32 layer reads, for pkiwatch-diag:
// pure functions (no Win32 calls, no <windows.h>), so they are tested like
// any portable code. Autoenrollment-specific decoding (AEPolicy, LogLevel,
// task state, templates, the healthy sequence) is agent/eventlog's; this
// file turns those results and the remaining raw values into DiagVerdicts.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/eventlog/autoenrollment.h"
#include "agent/eventlog/event_classifier.h"
#include "agent/win/certificates.h"
#include "agent/win/diag_report.h"
#include "agent/win/pki_settings.h"
#include "agent/win/services.h"
#include "agent/win/sntp_client.h"
#include "agent/win/task_scheduler.h"
#include "agent/win/winhttp_client.h"

namespace pkiwatch::win {

// Raw Win32 constants the judgements compare with (winsvc.h, winhttp.h).
inline constexpr uint32_t kServiceStopped = 1;
inline constexpr uint32_t kServiceRunning = 4;
inline constexpr uint32_t kServiceDisabled = 4;       // start type
inline constexpr uint32_t kWinHttpAccessNoProxy = 1;
inline constexpr uint32_t kWinHttpAccessNamedProxy = 3;

// HRESULTs the verdicts single out (winerror.h).
inline constexpr uint32_t kCryptERevoked = 0x80092010;
inline constexpr uint32_t kCryptENoRevocationCheck = 0x80092012;
inline constexpr uint32_t kCryptERevocationOffline = 0x80092013;
inline constexpr uint32_t kCertEExpired = 0x800B0101;
inline constexpr uint32_t kCertEUntrustedRoot = 0x800B0109;
inline constexpr uint32_t kCertEChaining = 0x800B010A;
inline constexpr uint32_t kTrustECertSignature = 0x80096004;
// CERT_TRUST_* error bits (wincrypt.h).
inline constexpr uint32_t kTrustIsNotTimeValid = 0x00000001;
inline constexpr uint32_t kTrustIsRevoked = 0x00000004;
inline constexpr uint32_t kTrustIsNotSignatureValid = 0x00000008;
inline constexpr uint32_t kTrustIsUntrustedRoot = 0x00000020;
inline constexpr uint32_t kTrustRevocationStatusUnknown = 0x00000040;
inline constexpr uint32_t kTrustIsPartialChain = 0x00010000;
inline constexpr uint32_t kTrustIsOfflineRevocation = 0x01000000;

// Certificates expiring within this are WARN.
inline constexpr std::chrono::hours kExpiryWarning{24 * 14};
// AuthRoot LastSyncTime older than this is WARN (Windows syncs about weekly).
inline constexpr std::chrono::hours kAuthRootSyncWarning{24 * 30};

// The effective AEPolicy of one scope: the Group Policy value wins over the
// local one. `readings` are all readings of that scope.
DiagVerdict JudgeAePolicy(const std::string& scope, const std::vector<AePolicyReading>& readings);
// Groups ReadAutoEnrollmentPolicies() output by scope, in order.
std::vector<DiagVerdict> JudgeAePolicies(const std::vector<AePolicyReading>& readings);

DiagVerdict JudgeEnrollLogging(const EnrollLogging& logging);
DiagVerdict JudgeTask(const TaskInfo& task, int64_t now_unix);
DiagVerdict JudgeCryptSvc(const ServiceState& state);
DiagVerdict JudgeAuthRoot(const AuthRootSettings& settings, int64_t now_unix);
DiagVerdict JudgeProxy(const WinHttpProxyConfig& winhttp, const IeProxyConfig* ie);
DiagVerdict JudgeCertificate(const StoreCertificate& cert, const ChainReport& chain,
                             int64_t now_unix);

// The first peer of W32Time's NtpServer value without its ",0x<flags>"
// suffix ("time.windows.com,0x9 pool.ntp.org" -> "time.windows.com"); ""
// when there is none.
std::string FirstNtpPeer(std::string_view ntp_server);

// The clock offset against `reference` (`source` says where the reference
// came from), judged with the agent's clock probe thresholds
// (clock::JudgeOffset, 60 s / 300 s): OK, WARN, or FAIL with
// SEC_E_TIME_SKEW; no usable reply is an ERROR verdict - an unreachable
// reference says nothing about this clock.
DiagVerdict JudgeClock(const std::string& reference, const std::string& source,
                       const StatusOr<sntp::Sample>& sample);

// The failure of a check that could not run (verdict ERROR).
DiagVerdict CheckError(std::string check, std::string target, const Status& status);
// A failed operation whose failure is the finding (verdict `verdict`).
DiagVerdict OperationFailed(std::string check, std::string target, const Status& status,
                            Verdict verdict, std::string summary);

// The HRESULT that explains a chain report: the base policy's, else the
// first revocation result, else the one Windows' base policy gives for the
// CERT_TRUST_* error bits (wine's policy does not map revocation bits and
// its chains carry no revocation info, so the bits are the common ground).
// 0 when the chain is fine.
uint32_t ChainErrorCode(const ChainReport& chain);

// Unix seconds <-> the event core's time type.
eventlog::EventTime ToEventTime(int64_t unix_seconds);

Verdict FromEventStatus(eventlog::EventStatus status);

}  // namespace pkiwatch::win
