#include "agent/core/agent_policy.h"

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/probes/sntp.h"

namespace pkiwatch::agent {
namespace {

// Generous bounds for one list value: a policy is typed by people.
constexpr size_t kMaxListEntries = 1000;
constexpr size_t kMaxTextBytes = 4096;

// A policy value after its type check: text, a list, or a number.
using Checked = std::variant<std::string, std::vector<std::string>, uint32_t>;

enum class Kind { kText, kList, kNumber };

// One policy of the template. `check` judges one text or list entry ("" when
// fine, else what is wrong, quoting the entry); `apply` stores the checked
// value.
struct Policy {
  std::string_view name;
  Kind kind;
  uint32_t min = 0;  // kNumber: inclusive range
  uint32_t max = 0;
  std::string (*check)(std::string_view entry) = nullptr;
  void (*apply)(const Checked& value, v1::AgentConfig* config) = nullptr;
};

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string PlainText(std::string_view text) {
  if (text.size() > kMaxTextBytes) {
    return absl::StrCat("is longer than ", kMaxTextBytes, " bytes");
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Quoted(text) + " contains control characters";
    }
  }
  return "";
}

// "host:port", "[v6]:port", also with a gRPC scheme ("dns:///host:port").
std::string HostPort(std::string_view text) {
  if (std::string plain = PlainText(text); !plain.empty()) return plain;
  const size_t colon = text.rfind(':');
  uint32_t port = 0;
  if (text.find_first_of(" \t") != std::string_view::npos || colon == std::string_view::npos ||
      colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(text.data() + colon + 1, text.size() - colon - 1),
                        &port) ||
      port == 0 || port > 65535) {
    return Quoted(text) + " is not host:port with a port of 1-65535";
  }
  return "";
}

// The SNTP client's own parser, whose message quotes the reference.
std::string ClockReference(std::string_view text) {
  absl::StatusOr<SntpServer> server = ParseSntpReference(text);
  return server.ok() ? "" : std::string(server.status().message());
}

std::string HttpUrl(std::string_view text) {
  if (std::string plain = PlainText(text); !plain.empty()) return plain;
  const absl::string_view url(text.data(), text.size());
  for (absl::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWithIgnoreCase(url, scheme)) {
      if (url.size() == scheme.size() || url[scheme.size()] == '/') {
        return Quoted(text) + " has no host";
      }
      return "";
    }
  }
  return Quoted(text) + " is not an http:// or https:// URL (ldap:// cannot be fetched)";
}

// "host\CA name", as certutil -config takes it.
std::string CaConfig(std::string_view text) {
  if (std::string plain = PlainText(text); !plain.empty()) return plain;
  const size_t slash = text.find('\\');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) {
    return Quoted(text) + " is not \"host\\CA name\"";
  }
  return "";
}

const std::string& Text(const Checked& value) { return std::get<std::string>(value); }
const std::vector<std::string>& List(const Checked& value) {
  return std::get<std::vector<std::string>>(value);
}
uint32_t Number(const Checked& value) { return std::get<uint32_t>(value); }

// Every policy in deploy/windows/pkiwatch.admx (agent_policy_test checks the
// template against this mapping).
const Policy kPolicies[] = {
    {"Collector", Kind::kText, 0, 0, HostPort,
     [](const Checked& v, v1::AgentConfig* c) { c->set_collector(Text(v)); }},
    {"EnrollSecretFile", Kind::kText, 0, 0, PlainText,
     [](const Checked& v, v1::AgentConfig* c) { c->set_enroll_secret_file(Text(v)); }},
    {"StateDir", Kind::kText, 0, 0, PlainText,
     [](const Checked& v, v1::AgentConfig* c) { c->set_state_dir(Text(v)); }},
    {"Site", Kind::kText, 0, 0, PlainText,
     [](const Checked& v, v1::AgentConfig* c) { c->set_site(Text(v)); }},
    {"TlsCaFile", Kind::kText, 0, 0, PlainText,
     [](const Checked& v, v1::AgentConfig* c) { c->mutable_uplink()->set_tls_ca_file(Text(v)); }},
    {"Proxy", Kind::kText, 0, 0, PlainText,
     [](const Checked& v, v1::AgentConfig* c) {
       c->mutable_http()->set_proxy(Text(v));
       c->mutable_http()->set_no_proxy(false);
     }},
    {"ClockReference", Kind::kText, 0, 0, ClockReference,
     [](const Checked& v, v1::AgentConfig* c) { c->mutable_clock()->set_reference(Text(v)); }},
    {"CrlWatchUrls", Kind::kList, 0, 0, HttpUrl,
     [](const Checked& v, v1::AgentConfig* c) {
       std::map<std::string, v1::CrlWatch> from_file;
       for (const v1::CrlWatch& w : c->crl_watches()) from_file.emplace(w.url(), w);
       c->clear_crl_watches();
       for (const std::string& url : List(v)) {
         auto it = from_file.find(url);
         v1::CrlWatch* watch = c->add_crl_watches();
         if (it != from_file.end()) *watch = it->second;
         watch->set_url(url);
       }
     }},
    {"EnrollmentServices", Kind::kList, 0, 0, CaConfig,
     [](const Checked& v, v1::AgentConfig* c) {
       std::map<std::string, v1::EnrollmentService> from_file;
       for (const v1::EnrollmentService& s : c->enrollment_services()) {
         from_file.emplace(s.config(), s);
       }
       c->clear_enrollment_services();
       for (const std::string& config : List(v)) {
         auto it = from_file.find(config);
         v1::EnrollmentService* service = c->add_enrollment_services();
         if (it != from_file.end()) *service = it->second;
         service->set_config(config);
       }
     }},
    {"NdesUrls", Kind::kList, 0, 0, HttpUrl,
     [](const Checked& v, v1::AgentConfig* c) {
       std::map<std::string, v1::NdesEndpoint> from_file;
       for (const v1::NdesEndpoint& e : c->ndes()) from_file.emplace(e.url(), e);
       c->clear_ndes();
       for (const std::string& url : List(v)) {
         auto it = from_file.find(url);
         v1::NdesEndpoint* endpoint = c->add_ndes();
         if (it != from_file.end()) *endpoint = it->second;
         endpoint->set_url(url);
       }
     }},
    {"ProbeBudgetSeconds", Kind::kNumber, 10, 3600, nullptr,
     [](const Checked& v, v1::AgentConfig* c) { c->set_probe_budget_seconds(Number(v)); }},
    {"EnableCapi2Operational", Kind::kNumber, 0, 1, nullptr,
     [](const Checked& v, v1::AgentConfig* c) { c->set_enable_capi2_operational(Number(v) == 1); }},
};

const Policy* FindPolicy(std::string_view name) {
  for (const Policy& p : kPolicies) {
    if (absl::EqualsIgnoreCase(absl::string_view(p.name.data(), p.name.size()),
                               absl::string_view(name.data(), name.size()))) {
      return &p;
    }
  }
  return nullptr;
}

std::string WrongType(const win::RegistryValue& value, std::string_view expected) {
  return absl::StrCat("is ", std::string(win::RegistryTypeName(value.type)), ", expected ",
                      std::string(expected));
}

std::string Trimmed(std::string_view text) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
}

// The value's type and content checked against `policy`: the checked value,
// or what is wrong (without the value's name).
std::variant<Checked, std::string> Check(const Policy& policy, const win::RegistryValue& value) {
  const bool is_text = value.type == win::kRegSz || value.type == win::kRegExpandSz;
  switch (policy.kind) {
    case Kind::kText: {
      if (!is_text || !std::holds_alternative<std::string>(value.data)) {
        return WrongType(value, "REG_SZ or REG_EXPAND_SZ");
      }
      std::string text = Trimmed(std::get<std::string>(value.data));
      if (text.empty()) return std::string("is empty");
      if (std::string problem = policy.check(text); !problem.empty()) return problem;
      return Checked(std::move(text));
    }
    case Kind::kList: {
      std::vector<std::string> raw;
      if (value.type == win::kRegMultiSz &&
          std::holds_alternative<std::vector<std::string>>(value.data)) {
        raw = std::get<std::vector<std::string>>(value.data);
      } else if (is_text && std::holds_alternative<std::string>(value.data)) {
        raw.push_back(std::get<std::string>(value.data));
      } else {
        return WrongType(value, "REG_MULTI_SZ");
      }
      if (raw.size() > kMaxListEntries) {
        return absl::StrCat("has ", raw.size(), " entries, at most ", kMaxListEntries);
      }
      std::vector<std::string> entries;
      std::set<std::string> seen;
      std::vector<std::string> problems;
      for (const std::string& entry : raw) {
        std::string text = Trimmed(entry);
        if (text.empty() || !seen.insert(text).second) continue;
        if (std::string problem = policy.check(text); !problem.empty()) {
          problems.push_back(std::move(problem));
          continue;
        }
        entries.push_back(std::move(text));
      }
      if (!problems.empty()) return absl::StrJoin(problems, ", ");
      if (entries.empty()) return std::string("has no entries");
      return Checked(std::move(entries));
    }
    case Kind::kNumber: {
      if (value.type != win::kRegDword || !std::holds_alternative<uint32_t>(value.data)) {
        return value.type == win::kRegDword
                   ? absl::StrCat("is a REG_DWORD of ", value.size, " bytes, expected 4")
                   : WrongType(value, "REG_DWORD");
      }
      const uint32_t number = std::get<uint32_t>(value.data);
      if (number < policy.min || number > policy.max) {
        return absl::StrCat("is ", number, ", expected ", policy.min, "-", policy.max);
      }
      return Checked(number);
    }
  }
  return std::string("has an unknown policy kind");
}

}  // namespace

absl::StatusOr<AgentPolicyResult> ApplyAgentPolicy(const std::vector<win::RegistryValue>& values,
                                                   v1::AgentConfig* config) {
  AgentPolicyResult result;
  std::vector<std::pair<const Policy*, Checked>> accepted;
  std::vector<std::string> errors;
  for (const win::RegistryValue& value : values) {
    const Policy* policy = FindPolicy(value.name);
    if (policy == nullptr) {
      result.warnings.push_back(absl::StrCat(
          kAgentPolicyKey, "\\", value.name.empty() ? "(Default)" : value.name, " (",
          std::string(win::RegistryTypeName(value.type)),
          ") is not a pkiwatch agent policy; ignored"));
      continue;
    }
    std::variant<Checked, std::string> checked = Check(*policy, value);
    if (const std::string* problem = std::get_if<std::string>(&checked)) {
      errors.push_back(absl::StrCat(value.name, ": ", *problem));
      continue;
    }
    accepted.emplace_back(policy, std::move(std::get<Checked>(checked)));
    result.applied.push_back(value.name);
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Group Policy ", kAgentPolicyKey, ": ", absl::StrJoin(errors, "; ")));
  }
  for (const auto& [policy, value] : accepted) policy->apply(value, config);
  return result;
}

}  // namespace pkiwatch::agent
