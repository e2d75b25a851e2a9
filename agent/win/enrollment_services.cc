#include "agent/win/enrollment_services.h"

#include <cstdio>
#include <string_view>
#include <utility>

#include "agent/win/handles.h"
#include "agent/win/strings.h"

namespace pkiwatch::win {
namespace {

// ERROR_DS_NO_ATTRIBUTE_OR_VALUE: a RootDSE without the naming context.
constexpr uint32_t kNoAttributeOrValue = 0x8007200Au;

constexpr std::wstring_view kContainerRdns =
    L"CN=Enrollment Services,CN=Public Key Services,CN=Services,";

// winldap.h's LDAP_RETCODE names, for error texts.
std::string_view LdapResultName(ULONG code) {
#define PKIWATCH_LDAP_NAME(name) \
  case name:                     \
    return #name;
  switch (code) {
    PKIWATCH_LDAP_NAME(LDAP_SUCCESS)
    PKIWATCH_LDAP_NAME(LDAP_OPERATIONS_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_PROTOCOL_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_TIMELIMIT_EXCEEDED)
    PKIWATCH_LDAP_NAME(LDAP_SIZELIMIT_EXCEEDED)
    PKIWATCH_LDAP_NAME(LDAP_COMPARE_FALSE)
    PKIWATCH_LDAP_NAME(LDAP_COMPARE_TRUE)
    PKIWATCH_LDAP_NAME(LDAP_AUTH_METHOD_NOT_SUPPORTED)
    PKIWATCH_LDAP_NAME(LDAP_STRONG_AUTH_REQUIRED)
    PKIWATCH_LDAP_NAME(LDAP_PARTIAL_RESULTS)
    PKIWATCH_LDAP_NAME(LDAP_REFERRAL)
    PKIWATCH_LDAP_NAME(LDAP_ADMIN_LIMIT_EXCEEDED)
    PKIWATCH_LDAP_NAME(LDAP_UNAVAILABLE_CRIT_EXTENSION)
    PKIWATCH_LDAP_NAME(LDAP_CONFIDENTIALITY_REQUIRED)
    PKIWATCH_LDAP_NAME(LDAP_SASL_BIND_IN_PROGRESS)
    PKIWATCH_LDAP_NAME(LDAP_NO_SUCH_ATTRIBUTE)
    PKIWATCH_LDAP_NAME(LDAP_UNDEFINED_TYPE)
    PKIWATCH_LDAP_NAME(LDAP_INAPPROPRIATE_MATCHING)
    PKIWATCH_LDAP_NAME(LDAP_CONSTRAINT_VIOLATION)
    PKIWATCH_LDAP_NAME(LDAP_ATTRIBUTE_OR_VALUE_EXISTS)
    PKIWATCH_LDAP_NAME(LDAP_INVALID_SYNTAX)
    PKIWATCH_LDAP_NAME(LDAP_NO_SUCH_OBJECT)
    PKIWATCH_LDAP_NAME(LDAP_ALIAS_PROBLEM)
    PKIWATCH_LDAP_NAME(LDAP_INVALID_DN_SYNTAX)
    PKIWATCH_LDAP_NAME(LDAP_IS_LEAF)
    PKIWATCH_LDAP_NAME(LDAP_ALIAS_DEREF_PROBLEM)
    PKIWATCH_LDAP_NAME(LDAP_INAPPROPRIATE_AUTH)
    PKIWATCH_LDAP_NAME(LDAP_INVALID_CREDENTIALS)
    PKIWATCH_LDAP_NAME(LDAP_INSUFFICIENT_RIGHTS)
    PKIWATCH_LDAP_NAME(LDAP_BUSY)
    PKIWATCH_LDAP_NAME(LDAP_UNAVAILABLE)
    PKIWATCH_LDAP_NAME(LDAP_UNWILLING_TO_PERFORM)
    PKIWATCH_LDAP_NAME(LDAP_LOOP_DETECT)
    PKIWATCH_LDAP_NAME(LDAP_SORT_CONTROL_MISSING)
    PKIWATCH_LDAP_NAME(LDAP_OFFSET_RANGE_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_NAMING_VIOLATION)
    PKIWATCH_LDAP_NAME(LDAP_OBJECT_CLASS_VIOLATION)
    PKIWATCH_LDAP_NAME(LDAP_NOT_ALLOWED_ON_NONLEAF)
    PKIWATCH_LDAP_NAME(LDAP_NOT_ALLOWED_ON_RDN)
    PKIWATCH_LDAP_NAME(LDAP_ALREADY_EXISTS)
    PKIWATCH_LDAP_NAME(LDAP_NO_OBJECT_CLASS_MODS)
    PKIWATCH_LDAP_NAME(LDAP_RESULTS_TOO_LARGE)
    PKIWATCH_LDAP_NAME(LDAP_AFFECTS_MULTIPLE_DSAS)
    PKIWATCH_LDAP_NAME(LDAP_VIRTUAL_LIST_VIEW_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_OTHER)
    PKIWATCH_LDAP_NAME(LDAP_SERVER_DOWN)
    PKIWATCH_LDAP_NAME(LDAP_LOCAL_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_ENCODING_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_DECODING_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_TIMEOUT)
    PKIWATCH_LDAP_NAME(LDAP_AUTH_UNKNOWN)
    PKIWATCH_LDAP_NAME(LDAP_FILTER_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_USER_CANCELLED)
    PKIWATCH_LDAP_NAME(LDAP_PARAM_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_NO_MEMORY)
    PKIWATCH_LDAP_NAME(LDAP_CONNECT_ERROR)
    PKIWATCH_LDAP_NAME(LDAP_NOT_SUPPORTED)
    PKIWATCH_LDAP_NAME(LDAP_CONTROL_NOT_FOUND)
    PKIWATCH_LDAP_NAME(LDAP_NO_RESULTS_RETURNED)
    PKIWATCH_LDAP_NAME(LDAP_MORE_RESULTS_TO_RETURN)
    PKIWATCH_LDAP_NAME(LDAP_CLIENT_LOOP)
    PKIWATCH_LDAP_NAME(LDAP_REFERRAL_LIMIT_EXCEEDED)
    default:
      return "LDAP error";
  }
#undef PKIWATCH_LDAP_NAME
}

// "<api>(<object>): LDAP_SERVER_DOWN (0x51) Server Down; <DescribeError>",
// carrying the Win32 code wldap32 maps the result to.
Status LdapError(std::string_view api, std::string_view object, ULONG code) {
  if (code == LDAP_SUCCESS) {
    return Status::Error(0x80004005u /* E_FAIL */, std::string(api) + "(" + std::string(object) +
                                                       "): failed without an LDAP error code");
  }
  const uint32_t hresult = HresultFromWin32(LdapMapErrorToWin32(code));
  char hex[16];
  std::snprintf(hex, sizeof hex, " (0x%02lX) ", static_cast<unsigned long>(code));
  std::string message(api);
  message += '(';
  message += object;
  message += "): ";
  message += LdapResultName(code);
  message += hex;
  message += WideToUtf8(ldap_err2stringW(code));
  if (hresult != 0) {
    message += "; ";
    message += DescribeError(hresult);
  }
  return Status::Error(hresult, std::move(message));
}

struct HostPort {
  std::string host;
  ULONG port = LDAP_PORT;
};

// "host", "host:port", "[v6]:port" or a bare IPv6 address.
StatusOr<HostPort> ParseServer(std::string_view server) {
  auto invalid = [&](std::string_view why) {
    return Status::Error(0x80070057u /* E_INVALIDARG */,
                         "LDAP server \"" + std::string(server) + "\": " + std::string(why));
  };
  HostPort result;
  std::string_view host = server;
  std::string_view port;
  if (!server.empty() && server.front() == '[') {
    const size_t close = server.find(']');
    if (close == std::string_view::npos) return invalid("no closing ]");
    host = server.substr(1, close - 1);
    std::string_view rest = server.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return invalid("expected :port after ]");
      port = rest.substr(1);
      if (port.empty()) return invalid("empty port");
    }
  } else if (const size_t colon = server.find(':');
             colon != std::string_view::npos &&
             server.find(':', colon + 1) == std::string_view::npos) {
    host = server.substr(0, colon);
    port = server.substr(colon + 1);
    if (port.empty()) return invalid("empty port");
  }
  if (host.empty()) return invalid("no host name");
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= ' ')
      return invalid("blank or control character in the host");
  }
  if (!port.empty()) {
    uint32_t value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) return invalid("the port is not a number 1-65535");
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value == 0 || value > 65535) return invalid("the port is not a number 1-65535");
    result.port = value;
  }
  result.host = std::string(host);
  return result;
}

// The NetBIOS name of this computer's domain; kNotDomainJoined when it is in
// a workgroup (or its state is unknown).
StatusOr<std::string> JoinedDomain() {
  wchar_t* name = nullptr;
  NETSETUP_JOIN_STATUS join = NetSetupUnknownStatus;
  const NET_API_STATUS status = NetGetJoinInformation(nullptr, &name, &join);
  if (status != 0 /* NERR_Success */) return ApiError("NetGetJoinInformation", "", status);
  const std::string joined_name = WideToUtf8(name);
  NetApiBufferFree(name);
  if (join == NetSetupDomainName) return joined_name;
  std::string message =
      "NetGetJoinInformation: this computer is not joined to an Active Directory domain";
  if (join == NetSetupWorkgroupName) message += " (workgroup \"" + joined_name + "\")";
  // NERR_* texts live in netmsg.dll, not in the system message table.
  message += "; 0x80070A84 NERR_SetupNotJoined This machine is not currently joined to a domain.";
  return Status::Error(kNotDomainJoined, std::move(message));
}

// ldap_search_ext_sW with the target's bounds; the LDAP result code.
// `result` owns what came back even on failure (partial results).
ULONG Search(LDAP* ld, std::wstring base, ULONG scope, std::wstring filter,
             std::vector<std::wstring> attributes, l_timeval timeout, UniqueLdapMessage* result) {
  std::vector<PWCHAR> attribute_list;
  for (std::wstring& a : attributes) attribute_list.push_back(a.data());
  attribute_list.push_back(nullptr);
  LDAPMessage* raw = nullptr;
  const ULONG rc = ldap_search_ext_sW(ld, base.data(), scope, filter.data(), attribute_list.data(),
                                      0, nullptr, nullptr, &timeout, LDAP_NO_LIMIT, &raw);
  result->reset(raw);
  return rc;
}

std::vector<std::string> TextValues(LDAP* ld, LDAPMessage* entry, const wchar_t* attribute) {
  std::wstring name(attribute);
  UniqueLdapValues values(ldap_get_valuesW(ld, entry, name.data()));
  std::vector<std::string> texts;
  if (!values) return texts;  // absent
  for (PWCHAR* v = values.get(); *v != nullptr; ++v) texts.push_back(WideToUtf8(*v));
  return texts;
}

std::string FirstTextValue(LDAP* ld, LDAPMessage* entry, const wchar_t* attribute) {
  std::vector<std::string> values = TextValues(ld, entry, attribute);
  return values.empty() ? std::string() : std::move(values.front());
}

std::vector<std::vector<uint8_t>> BinaryValues(LDAP* ld, LDAPMessage* entry,
                                               const wchar_t* attribute) {
  std::wstring name(attribute);
  UniqueLdapBinaryValues values(ldap_get_values_lenW(ld, entry, name.data()));
  std::vector<std::vector<uint8_t>> blobs;
  if (!values) return blobs;
  for (berval** v = values.get(); *v != nullptr; ++v) {
    const auto* bytes = reinterpret_cast<const uint8_t*>((*v)->bv_val);
    blobs.emplace_back(bytes, bytes + (*v)->bv_len);
  }
  return blobs;
}

}  // namespace

StatusOr<EnrollmentServiceDirectory> DiscoverEnrollmentServices(const LdapTarget& target) {
  EnrollmentServiceDirectory directory;
  HostPort address;
  if (target.server.empty()) {
    auto domain = JoinedDomain();
    if (!domain.ok()) return domain.status();
    directory.server = "domain controller of " + *domain;
  } else {
    auto parsed = ParseServer(target.server);
    if (!parsed.ok()) return parsed.status();
    address = std::move(*parsed);
    directory.server = target.server.find(':') == std::string::npos
                           ? target.server + ":" + std::to_string(address.port)
                           : target.server;
  }

  const long long ms = target.timeout.count() > 0 ? target.timeout.count() : 1;
  l_timeval timeout;
  timeout.tv_sec = static_cast<LONG>(ms / 1000);
  timeout.tv_usec = static_cast<LONG>((ms % 1000) * 1000);
  ULONG time_limit_seconds = static_cast<ULONG>((ms + 999) / 1000);

  // No host: wldap32 asks the DC locator for a DC of the computer's domain.
  std::wstring host = Utf8ToWide(address.host);
  UniqueLdap ld(ldap_initW(target.server.empty() ? nullptr : host.data(), address.port));
  if (!ld) return LdapError("ldap_initW", directory.server, LdapGetLastError());

  ULONG version = LDAP_VERSION3;
  if (ULONG rc = ldap_set_optionW(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version);
      rc != LDAP_SUCCESS) {
    return LdapError("ldap_set_optionW", directory.server + ", LDAP_OPT_PROTOCOL_VERSION", rc);
  }
  // Every DC holds the configuration partition: a referral would only lead
  // to another server outside the time budget.
  if (ULONG rc = ldap_set_optionW(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF); rc != LDAP_SUCCESS) {
    return LdapError("ldap_set_optionW", directory.server + ", LDAP_OPT_REFERRALS", rc);
  }
  // Windows applies it to each bind round trip (120 s otherwise) and sends
  // it as the searches' server-side limit.
  if (ULONG rc = ldap_set_optionW(ld.get(), LDAP_OPT_TIMELIMIT, &time_limit_seconds);
      rc != LDAP_SUCCESS) {
    return LdapError("ldap_set_optionW", directory.server + ", LDAP_OPT_TIMELIMIT", rc);
  }
  if (ULONG rc = ldap_connect(ld.get(), &timeout); rc != LDAP_SUCCESS) {
    return LdapError("ldap_connect", directory.server, rc);
  }
  if (target.server.empty()) {
    // The DC the locator chose, for the report (wine's wldap32 does not
    // offer this option; the domain name stays then).
    wchar_t* dc = nullptr;
    if (ldap_get_optionW(ld.get(), LDAP_OPT_HOST_NAME, &dc) == LDAP_SUCCESS && dc != nullptr &&
        *dc != L'\0') {
      directory.server = WideToUtf8(dc);  // owned by the session
    }
  }

  if (!target.anonymous) {
    // Domain controllers may require signing ("LDAP server signing
    // requirements"); sealing is not needed for public configuration data.
    if (ULONG rc = ldap_set_optionW(ld.get(), LDAP_OPT_SIGN, LDAP_OPT_ON); rc != LDAP_SUCCESS) {
      return LdapError("ldap_set_optionW", directory.server + ", LDAP_OPT_SIGN", rc);
    }
    // NULL credentials: those of the calling thread (the computer account
    // when run as SYSTEM).
    if (ULONG rc = ldap_bind_sW(ld.get(), nullptr, nullptr, LDAP_AUTH_NEGOTIATE);
        rc != LDAP_SUCCESS) {
      return LdapError("ldap_bind_sW", directory.server + ", LDAP_AUTH_NEGOTIATE", rc);
    }
  }

  if (!target.configuration_naming_context.empty()) {
    directory.configuration_naming_context = target.configuration_naming_context;
  } else {
    UniqueLdapMessage root;
    if (ULONG rc = Search(ld.get(), L"", LDAP_SCOPE_BASE, L"(objectClass=*)",
                          {L"configurationNamingContext"}, timeout, &root);
        rc != LDAP_SUCCESS) {
      return LdapError("ldap_search_ext_sW", directory.server + ", RootDSE", rc);
    }
    LDAPMessage* entry = ldap_first_entry(ld.get(), root.get());
    if (entry != nullptr) {
      directory.configuration_naming_context =
          FirstTextValue(ld.get(), entry, L"configurationNamingContext");
    }
    if (directory.configuration_naming_context.empty()) {
      return Status::Error(kNoAttributeOrValue,
                           "ldap_search_ext_sW(" + directory.server +
                               ", RootDSE): no configurationNamingContext (not an Active "
                               "Directory domain controller); " +
                               DescribeError(kNoAttributeOrValue));
    }
  }

  const std::wstring container =
      std::wstring(kContainerRdns) + Utf8ToWide(directory.configuration_naming_context);
  directory.container = WideToUtf8(container);
  UniqueLdapMessage found;
  const ULONG rc =
      Search(ld.get(), container, LDAP_SCOPE_ONELEVEL, L"(objectClass=pKIEnrollmentService)",
             {L"cn", L"dNSHostName", L"certificateTemplates", L"cACertificate", L"flags"}, timeout,
             &found);
  // No container: no enterprise CA was ever installed in the forest.
  if (rc == LDAP_NO_SUCH_OBJECT) return directory;
  if (rc != LDAP_SUCCESS) {
    return LdapError("ldap_search_ext_sW", directory.server + ", " + directory.container, rc);
  }
  for (LDAPMessage* entry = ldap_first_entry(ld.get(), found.get()); entry != nullptr;
       entry = ldap_next_entry(ld.get(), entry)) {
    eventlog::EnrollmentServiceEntry service;
    UniqueLdapText dn(ldap_get_dnW(ld.get(), entry));
    service.dn = WideToUtf8(dn.get());
    service.cn = FirstTextValue(ld.get(), entry, L"cn");
    service.dns_host_name = FirstTextValue(ld.get(), entry, L"dNSHostName");
    service.certificate_templates = TextValues(ld.get(), entry, L"certificateTemplates");
    // AD returns the attribute as asked; RFC 4522 directories (OpenLDAP)
    // only with the ";binary" transfer option.
    service.ca_certificates = BinaryValues(ld.get(), entry, L"cACertificate");
    if (service.ca_certificates.empty()) {
      service.ca_certificates = BinaryValues(ld.get(), entry, L"cACertificate;binary");
    }
    std::vector<std::string> flags = TextValues(ld.get(), entry, L"flags");
    if (!flags.empty()) service.flags = std::move(flags.front());
    directory.services.push_back(std::move(service));
  }
  return directory;
}

}  // namespace pkiwatch::win
