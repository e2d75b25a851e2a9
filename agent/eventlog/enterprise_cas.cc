#include "agent/eventlog/enterprise_cas.h"

#include <cstdio>

namespace pkiwatch::eventlog {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Active Directory renames the loser of a replication conflict to
// "<name>\nCNF:<objectGUID>"; such a copy is not a CA of its own.
bool IsConflictCopy(std::string_view cn) { return cn.find("\nCNF:") != std::string_view::npos; }

// The name without the conflict suffix, for the problem text.
std::string_view ConflictBaseName(std::string_view cn) { return cn.substr(0, cn.find('\n')); }

// The DN for a sentence: control characters (the newline of a conflict
// copy, which some directories return unescaped) as RFC 4514 escapes ("\0A").
std::string PrintableDn(std::string_view dn) {
  std::string text;
  for (char c : dn) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\%02X",
                    static_cast<unsigned>(static_cast<unsigned char>(c)));
      text += hex;
    } else {
      text += c;
    }
  }
  return text;
}

}  // namespace

std::string CaFlagNames(uint32_t flags) {
  if (flags == 0) return "none";
  struct Bit {
    uint32_t bit;
    const char* name;
  };
  static constexpr Bit kBits[] = {
      {kCaFlagNoTemplateSupport, "CA_FLAG_NO_TEMPLATE_SUPPORT"},
      {kCaFlagSupportsNtAuthentication, "CA_FLAG_SUPPORTS_NT_AUTHENTICATION"},
      {kCaFlagSupportsManualAuthentication, "CA_FLAG_CA_SUPPORTS_MANUAL_AUTHENTICATION"},
      {kCaFlagServerTypeAdvanced, "CA_FLAG_CA_SERVERTYPE_ADVANCED"},
  };
  std::string names;
  uint32_t known = 0;
  for (const Bit& b : kBits) {
    known |= b.bit;
    if ((flags & b.bit) == 0) continue;
    if (!names.empty()) names += " | ";
    names += b.name;
  }
  if (const uint32_t unknown = flags & ~known; unknown != 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(unknown));
    if (!names.empty()) names += " | ";
    names += hex;
  }
  return names;
}

std::optional<uint32_t> ParseLdapInteger(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  // 10 digits hold 4294967295; more is out of range (or padding nobody writes).
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (negative) {
    if (value > 0x80000000ull) return std::nullopt;
    return static_cast<uint32_t>(0x100000000ull - value);  // two's complement; "-0" is 0
  }
  if (value > 0xFFFFFFFFull) return std::nullopt;
  return static_cast<uint32_t>(value);
}

std::string CaConfigString(std::string_view dns_host_name, std::string_view ca_name) {
  std::string config(dns_host_name);
  config += '\\';
  config += ca_name;
  return config;
}

EnterpriseCaList SelectEnterpriseCas(const std::vector<EnrollmentServiceEntry>& entries) {
  EnterpriseCaList list;
  for (const EnrollmentServiceEntry& entry : entries) {
    const std::string dn = PrintableDn(entry.dn);
    if (entry.cn.empty()) {
      list.problems.push_back(dn + ": no cn (the CA's name), left out");
      continue;
    }
    if (IsConflictCopy(entry.cn)) {
      list.problems.push_back(dn + ": a replication conflict copy (CNF) of CA \"" +
                              std::string(ConflictBaseName(entry.cn)) +
                              "\", left out (the copy can be deleted, e.g. with ADSI Edit)");
      continue;
    }
    if (entry.dns_host_name.empty()) {
      list.problems.push_back(dn + ": no dNSHostName (the CA's server), left out");
      continue;
    }
    EnterpriseCa ca;
    ca.config = CaConfigString(entry.dns_host_name, entry.cn);
    const EnterpriseCa* first = nullptr;
    for (const EnterpriseCa& seen : list.cas) {
      if (EqualsIgnoreCase(seen.config, ca.config)) first = &seen;
    }
    if (first != nullptr) {
      list.problems.push_back(dn + ": the same CA (" + ca.config + ") as " +
                              PrintableDn(first->dn) + ", left out");
      continue;
    }
    ca.dn = entry.dn;
    ca.certificate_templates = entry.certificate_templates;
    ca.ca_certificates = entry.ca_certificates;
    if (entry.flags) {
      ca.flags = ParseLdapInteger(*entry.flags);
      if (!ca.flags) {
        list.problems.push_back(dn + ": flags \"" + *entry.flags + "\" is not an integer");
      }
    }
    if (ca.ca_certificates.empty()) {
      list.problems.push_back(dn + ": no cACertificate (the CA's certificate is not published)");
    }
    list.cas.push_back(std::move(ca));
  }
  return list;
}

}  // namespace pkiwatch::eventlog
