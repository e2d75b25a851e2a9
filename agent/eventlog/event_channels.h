#pragma once

// The Windows event logs pkiwatch reads and what it selects from each:
// shared by the agent's live subscriptions and pkiwatch-diag's queries.
// Portable (standard library only), like the rest of the event-log core.

#include <string_view>

namespace pkiwatch::eventlog {

inline constexpr std::string_view kApplicationChannel = "Application";
// The Application-log providers of the three failure families: classic
// CAPI2 events (4107 ...), CertificateServicesClient (autoenrollment,
// CertEnroll with SCEP 86/87) and, on CA servers, CertificationAuthority.
inline constexpr std::string_view kPkiApplicationQuery =
    "*[System[Provider[@Name='Microsoft-Windows-CAPI2' or "
    "@Name='Microsoft-Windows-CertificateServicesClient' or "
    "@Name='Microsoft-Windows-CertificateServicesClient-AutoEnrollment' or "
    "@Name='Microsoft-Windows-CertificateServicesClient-CertEnroll' or "
    "@Name='Microsoft-Windows-CertificationAuthority']]]";

inline constexpr std::string_view kCapi2OperationalChannel = "Microsoft-Windows-CAPI2/Operational";
// The live agent takes CAPI2's own log at Critical, Error and Warning only:
// it records every chain build at Information level, thousands an hour on
// a busy machine. (The 53s at Error level with Result 0 are among these;
// the classifier gives them WARN.)
inline constexpr std::string_view kCapi2ProblemsQuery = "*[System[(Level=1 or Level=2 or Level=3)]]";

struct WatchedChannel {
  std::string_view channel;
  std::string_view query;
  std::string_view bookmark_name;  // file name of the channel's bookmark
};

// What the agent subscribes to.
inline constexpr WatchedChannel kWatchedChannels[] = {
    {kApplicationChannel, kPkiApplicationQuery, "application.bookmark.xml"},
    {kCapi2OperationalChannel, kCapi2ProblemsQuery, "capi2-operational.bookmark.xml"},
};

}  // namespace pkiwatch::eventlog
