// The enterprise CAs Active Directory publishes, read over LDAP (wldap32)
// the way certutil -TCAInfo and the autoenrollment client find them: the
// RootDSE's configurationNamingContext, then the pKIEnrollmentService
// objects under CN=Enrollment Services,CN=Public Key Services,CN=Services
// of that context (one level), attributes cn, dNSHostName,
// certificateTemplates, cACertificate and flags. Returns the entries as
// read; agent/eventlog/enterprise_cas.h makes CA config strings of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/eventlog/enterprise_cas.h"
#include "agent/win/status.h"

namespace pkiwatch::win {

struct LdapTarget {
  // Empty: a domain controller of this computer's domain, found by the DC
  // locator (ldap_initW with no host), bound with the caller's credentials
  // (LDAP_AUTH_NEGOTIATE: Kerberos or NTLM; the computer account when run
  // as SYSTEM), signed. Otherwise "host", "host:port" or "[IPv6]:port"
  // (port 389 by default): that server, e.g. one DC to test.
  std::string server;
  // No bind at all (LDAPv3 anonymous access): for test directories. Active
  // Directory refuses anonymous searches of the configuration partition.
  bool anonymous = false;
  // Empty: the RootDSE's configurationNamingContext. Otherwise this DN is
  // used and the RootDSE is not read (directories that do not publish it).
  std::string configuration_naming_context;
  // Bounds each step: the connection, each bind round trip (Windows'
  // LDAP_OPT_TIMELIMIT), each search (client-side timeout and server time
  // limit). Whole seconds for the server limits, at least 1.
  std::chrono::milliseconds timeout{10000};
};

struct EnrollmentServiceDirectory {
  // What answered: "host:port", or the DC the locator picked (its name when
  // wldap32 reports it, else "domain controller of <DOMAIN>").
  std::string server;
  std::string configuration_naming_context;                // from the RootDSE or the target
  std::string container;                                   // the DN searched
  std::vector<eventlog::EnrollmentServiceEntry> services;  // directory order
};

// HRESULT_FROM_WIN32(NERR_SetupNotJoined): no server given and this
// computer is not joined to an Active Directory domain.
inline constexpr uint32_t kNotDomainJoined = 0x80070A84u;

// Never blocks longer than a few times target.timeout. Errors:
//  - kNotDomainJoined (see above);
//  - E_INVALIDARG for a server string that is not host[:port];
//  - LDAP failures: HRESULT_FROM_WIN32(LdapMapErrorToWin32(result)), with
//    a message naming the call, the server, the LDAP result's name, code and
//    text, and the Win32 code's description:
//      "ldap_search_ext_sW(127.0.0.1:389, RootDSE): LDAP_SERVER_DOWN (0x51)
//       Server Down; 0x8007003A ERROR_BAD_NET_RESP ..."
//  - a RootDSE without configurationNamingContext (not an Active Directory
//    domain controller): HRESULT_FROM_WIN32(ERROR_DS_NO_ATTRIBUTE_OR_VALUE).
// A container that does not exist (LDAP_NO_SUCH_OBJECT: no enterprise CA
// was ever installed in the forest) is an empty list, like an empty one.
StatusOr<EnrollmentServiceDirectory> DiscoverEnrollmentServices(const LdapTarget& target);

}  // namespace pkiwatch::win
