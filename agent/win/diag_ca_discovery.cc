#include "agent/win/diag_ca_discovery.h"

#include <cstdio>

#include "agent/win/diag_verdicts.h"

namespace pkiwatch::win {
namespace {

constexpr char kCheck[] = "ca_discovery";
constexpr char kTarget[] = "Active Directory";

std::string Hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%X", static_cast<unsigned>(value));
  return text;
}

std::string Join(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) {
    if (!text.empty()) text += ", ";
    text += item;
  }
  return text;
}

}  // namespace

DiagVerdict JudgeCaDiscovery(const StatusOr<EnrollmentServiceDirectory>& directory,
                             const eventlog::EnterpriseCaList& selected) {
  if (!directory.ok()) {
    const Status& status = directory.status();
    if (status.hresult() == kNotDomainJoined) {
      return OperationFailed(kCheck, kTarget, status, Verdict::kWarn,
                             "this computer is not joined to an Active Directory domain: there "
                             "are no enterprise CAs to discover (--ca HOST\\CA-NAME pings one)");
    }
    if (status.code() == StatusCode::kInvalidArgument) return CheckError(kCheck, kTarget, status);
    return OperationFailed(kCheck, kTarget, status, Verdict::kFail,
                           "the enrollment services cannot be read from Active Directory over "
                           "LDAP (autoenrollment reads its CAs the same way)");
  }
  DiagVerdict v;
  v.check = kCheck;
  v.target = kTarget;
  const size_t count = selected.cas.size();
  if (count == 0) {
    v.verdict = Verdict::kWarn;
    v.summary =
        "no enterprise CA is published in Active Directory: autoenrollment has no CA "
        "to enroll from";
  } else {
    v.summary = std::to_string(count) + (count == 1 ? " enterprise CA" : " enterprise CAs") +
                " published in Active Directory; no CA is configured, so these are pinged";
  }
  if (!selected.problems.empty()) {
    v.verdict = Verdict::kWarn;
    v.summary +=
        " (" + std::to_string(selected.problems.size()) +
        (selected.problems.size() == 1 ? " entry has a problem)" : " entries have problems)");
  }
  v.Detail("server", directory->server);
  v.Detail("configuration_naming_context", directory->configuration_naming_context);
  v.Detail("container", directory->container);
  v.Detail("entries", std::to_string(directory->services.size()));
  for (const eventlog::EnterpriseCa& ca : selected.cas) v.Detail("ca", ca.config);
  for (const std::string& problem : selected.problems) v.Detail("problem", problem);
  return v;
}

std::vector<CaToPing> DiscoveredCasToPing(const eventlog::EnterpriseCaList& selected) {
  std::vector<CaToPing> cas;
  for (const eventlog::EnterpriseCa& ca : selected.cas) {
    CaToPing ping;
    ping.config = ca.config;
    ping.details.emplace_back("source", kCaSourceActiveDirectory);
    ping.details.emplace_back("dn", ca.dn);
    ping.details.emplace_back("templates", ca.certificate_templates.empty()
                                               ? std::string("(none: the CA issues nothing)")
                                               : Join(ca.certificate_templates));
    ping.details.emplace_back("flags",
                              ca.flags ? Hex32(*ca.flags) + " " + eventlog::CaFlagNames(*ca.flags)
                                       : std::string("(absent or unreadable)"));
    size_t bytes = 0;
    for (const std::vector<uint8_t>& der : ca.ca_certificates) bytes += der.size();
    ping.details.emplace_back("ca_certificates", std::to_string(ca.ca_certificates.size()) + " (" +
                                                     std::to_string(bytes) + " bytes)");
    cas.push_back(std::move(ping));
  }
  return cas;
}

std::vector<CaToPing> ListCasToPing(const std::vector<std::string>& configured,
                                    const LdapTarget& ldap, std::vector<DiagVerdict>* verdicts) {
  if (!configured.empty()) {
    std::vector<CaToPing> cas;
    for (const std::string& config : configured) {
      cas.push_back(CaToPing{config, {{"source", kCaSourceConfigured}}});
    }
    return cas;
  }
  const StatusOr<EnrollmentServiceDirectory> directory = DiscoverEnrollmentServices(ldap);
  const eventlog::EnterpriseCaList selected =
      directory.ok() ? eventlog::SelectEnterpriseCas(directory->services)
                     : eventlog::EnterpriseCaList{};
  verdicts->push_back(JudgeCaDiscovery(directory, selected));
  return DiscoveredCasToPing(selected);
}

}  // namespace pkiwatch::win
