// The Windows Time service's configuration (W32Time), raw: which time source
// this machine is set to follow. Choosing and judging is portable code
// (diag_verdicts.h, FirstNtpPeer).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "agent/win/status.h"

namespace pkiwatch::win {

inline constexpr std::string_view kW32TimeParametersPath =
    "SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters";

struct W32TimeSettings {
  // NtpServer (REG_SZ): space-separated peers, each with optional ",0x<flags>"
  // ("time.windows.com,0x9 pool.ntp.org,0x8").
  std::optional<std::string> ntp_server;
  // Type (REG_SZ): NTP (NtpServer), NT5DS (the domain hierarchy: NtpServer
  // is not used), AllSync or NoSync.
  std::optional<std::string> type;
};

// HKLM\<kW32TimeParametersPath>. An absent key or value is left empty (no
// W32Time, or not configured); a value of another type is an error naming it.
StatusOr<W32TimeSettings> ReadW32TimeSettings();

}  // namespace pkiwatch::win
