// How much clock offset is too much: the thresholds and judgement shared by
// the agent's clock probe (clock_probe.h) and pkiwatch-diag's clock check.
// Standard library only, like the SNTP core (sntp_core.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pkiwatch::clock {

// Defaults: warn after a minute; fail beyond 5 minutes, Kerberos' default
// maximum tolerance for computer clock synchronization.
inline constexpr std::chrono::seconds kDefaultWarn{60};
inline constexpr std::chrono::seconds kDefaultFail{300};

// SEC_E_TIME_SKEW (winerror.h): the SSPI status for Kerberos' KRB_AP_ERR_SKEW.
inline constexpr uint32_t kSecETimeSkew = 0x80090324;

enum class Skew {
  kInSync,          // |offset| <= warn
  kDrifting,        // warn < |offset| <= fail
  kBeyondKerberos,  // |offset| > fail: Kerberos (DCOM enrollment, LDAP, SCEP) fails
};

// The limits themselves are still tolerated.
Skew JudgeOffset(std::chrono::nanoseconds offset, std::chrono::nanoseconds warn,
                 std::chrono::nanoseconds fail);

// "+2.350s" / "-10m0.000s": signed, millisecond precision (truncated).
std::string FormatSignedOffset(std::chrono::nanoseconds offset);

}  // namespace pkiwatch::clock
