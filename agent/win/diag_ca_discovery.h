// Which CAs pkiwatch-diag pings, and where the list came from: the
// configured ones (--ca, Group Policy's EnrollmentServices) or, when none is
// configured, the enterprise CAs Active Directory publishes - found the way
// the autoenrollment client finds them, with a "ca_discovery" verdict on the
// discovery itself (not domain-joined, LDAP unavailable, no CA published,
// entries left out).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "agent/eventlog/enterprise_cas.h"
#include "agent/win/diag_report.h"
#include "agent/win/enrollment_services.h"

namespace pkiwatch::win {

// The "source" detail of each ca_ping verdict.
inline constexpr char kCaSourceConfigured[] = "configured";
inline constexpr char kCaSourceActiveDirectory[] = "Active Directory";

struct CaToPing {
  std::string config;  // "host\CA name"
  // For the ca_ping verdict: "source" first, then what the directory says
  // of the CA (dn, templates, flags, CA certificates).
  std::vector<std::pair<std::string, std::string>> details;
};

// `configured` when not empty (source "configured"); otherwise runs
// DiscoverEnrollmentServices(ldap), appends its ca_discovery verdict to
// `verdicts` and returns the CAs it found (source "Active Directory").
std::vector<CaToPing> ListCasToPing(const std::vector<std::string>& configured,
                                    const LdapTarget& ldap, std::vector<DiagVerdict>* verdicts);

// The pure parts of the above (no Win32 calls), for tests.
// `selected` is SelectEnterpriseCas of the directory's entries (ignored when
// `directory` is an error).
DiagVerdict JudgeCaDiscovery(const StatusOr<EnrollmentServiceDirectory>& directory,
                             const eventlog::EnterpriseCaList& selected);
std::vector<CaToPing> DiscoveredCasToPing(const eventlog::EnterpriseCaList& selected);

}  // namespace pkiwatch::win
