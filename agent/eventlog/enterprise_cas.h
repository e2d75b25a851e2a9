#pragma once

// The enterprise CAs Active Directory publishes: one pKIEnrollmentService
// object per CA under CN=Enrollment Services,CN=Public Key Services,
// CN=Services in the configuration naming context - the list certutil
// -TCAInfo and the autoenrollment client read. The Win32 layer
// (agent/win/enrollment_services.h) reads the objects; this file turns them
// into the CA config strings ("host\CA name") that the enrollment tools and
// ICertRequest take, and says what is wrong with the ones it leaves out.
//
// Portable core (standard library only). Thread-safe, never fails.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pkiwatch::eventlog {

// One pKIEnrollmentService object as the directory returns it: UTF-8 texts
// and raw bytes, nothing interpreted.
struct EnrollmentServiceEntry {
  std::string dn;
  std::string cn;                                     // the CA's (sanitized) name
  std::string dns_host_name;                          // the CA's server
  std::vector<std::string> certificate_templates;     // names of the templates it issues
  std::vector<std::vector<uint8_t>> ca_certificates;  // cACertificate values, DER
  std::optional<std::string> flags;                   // LDAP INTEGER text; nullopt when absent
};

// The bits of the flags attribute (CA_FLAG_* of certca.h). Enterprise CAs
// on Windows Server 2008 and later write 0xA (NT authentication, advanced
// server type: version 2+ templates).
inline constexpr uint32_t kCaFlagNoTemplateSupport = 0x1;
inline constexpr uint32_t kCaFlagSupportsNtAuthentication = 0x2;
inline constexpr uint32_t kCaFlagSupportsManualAuthentication = 0x4;
inline constexpr uint32_t kCaFlagServerTypeAdvanced = 0x8;

// "CA_FLAG_SUPPORTS_NT_AUTHENTICATION | CA_FLAG_CA_SERVERTYPE_ADVANCED";
// "none" for 0; bits certca.h does not define as one hex value
// ("0x00000100").
std::string CaFlagNames(uint32_t flags);

// An LDAP INTEGER (RFC 4517: optional '-', decimal digits) as the 32 bits
// Active Directory stores: "-2147483648" to "4294967295" (AD writes values
// with the top bit set as negative numbers). nullopt for anything else.
std::optional<uint32_t> ParseLdapInteger(std::string_view text);

// "host\CA name": the config string of certutil -config, certreq and
// ICertRequest2.
std::string CaConfigString(std::string_view dns_host_name, std::string_view ca_name);

struct EnterpriseCa {
  std::string config;  // CaConfigString(dNSHostName, cn)
  std::string dn;
  std::vector<std::string> certificate_templates;
  std::vector<std::vector<uint8_t>> ca_certificates;
  std::optional<uint32_t> flags;  // nullopt when absent or unreadable
};

struct EnterpriseCaList {
  // In directory order, one per config string (host and CA names compare
  // case-insensitively, as Windows compares them).
  std::vector<EnterpriseCa> cas;
  // One sentence per entry left out (no cn, no dNSHostName, a replication
  // conflict copy, a duplicate) or kept with unreadable parts (flags that
  // are not an integer, no CA certificate). Each starts with the entry's DN,
  // control characters escaped ("\0A").
  std::vector<std::string> problems;
};

EnterpriseCaList SelectEnterpriseCas(const std::vector<EnrollmentServiceEntry>& entries);

}  // namespace pkiwatch::eventlog
