// Group Policy values -> AgentConfig: every policy of the shipped template
// (deploy/windows/pkiwatch.admx, read here with pugixml) is mapped and its
// ranges enforced; the template and its en-US strings agree; wrong types,
// out-of-range numbers and malformed entries are clear errors that change
// nothing; unknown values are warnings; lists keep the file's per-entry
// settings.
#include "agent/core/agent_policy.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "pugixml.hpp"

namespace pkiwatch::agent {
namespace {

using win::RegistryValue;

const std::string kAdmx = std::string(PKIWATCH_SOURCE_DIR) + "/deploy/windows/pkiwatch.admx";
const std::string kAdml =
    std::string(PKIWATCH_SOURCE_DIR) + "/deploy/windows/en-US/pkiwatch.adml";

RegistryValue Text(std::string name, std::string text, uint32_t type = win::kRegSz) {
  RegistryValue v;
  v.name = std::move(name);
  v.type = type;
  v.size = static_cast<uint32_t>((text.size() + 1) * 2);
  v.data = std::move(text);
  return v;
}

RegistryValue List(std::string name, std::vector<std::string> entries) {
  RegistryValue v;
  v.name = std::move(name);
  v.type = win::kRegMultiSz;
  v.data = std::move(entries);
  return v;
}

RegistryValue Dword(std::string name, uint32_t number) {
  RegistryValue v;
  v.name = std::move(name);
  v.type = win::kRegDword;
  v.size = 4;
  v.data = number;
  return v;
}

// A valid value for each policy of the template; a policy added to the
// template without one here fails TemplatePoliciesAreAllMapped.
const std::map<std::string, std::vector<std::string>>& Samples() {
  static const auto* samples = new std::map<std::string, std::vector<std::string>>{
      {"Collector", {"collector.corp.example:4443"}},
      {"EnrollSecretFile", {"C:\\ProgramData\\pkiwatch\\enroll.secret"}},
      {"StateDir", {"C:\\ProgramData\\pkiwatch"}},
      {"Site", {"Berlin"}},
      {"TlsCaFile", {"C:\\ProgramData\\pkiwatch\\collector-ca.pem"}},
      {"Proxy", {"http://proxy.corp.example:8080"}},
      {"ClockReference", {"dc1.corp.example"}},
      {"CrlWatchUrls", {"http://pki.corp.example/crl/issuing.crl",
                        "https://pki.corp.example/crl/root.crl"}},
      {"EnrollmentServices", {"ca1.corp.example\\Corp Issuing CA 1"}},
      {"NdesUrls", {"http://ndes.corp.example/certsrv/mscep/mscep.dll"}},
  };
  return *samples;
}

pugi::xml_node Child(pugi::xml_node node, const char* name) { return node.child(name); }

// Applies one value to an empty config and expects it to be taken.
void ExpectApplied(const RegistryValue& value, const std::string& what) {
  v1::AgentConfig config;
  absl::StatusOr<AgentPolicyResult> result = ApplyAgentPolicy({value}, &config);
  ASSERT_TRUE(result.ok()) << what << ": " << result.status();
  EXPECT_TRUE(result->warnings.empty()) << what << ": " << result->warnings.front();
  ASSERT_EQ(result->applied.size(), 1u) << what;
  EXPECT_EQ(result->applied[0], value.name) << what;
}

void ExpectRejected(const RegistryValue& value, const std::string& what) {
  v1::AgentConfig config;
  absl::StatusOr<AgentPolicyResult> result = ApplyAgentPolicy({value}, &config);
  ASSERT_FALSE(result.ok()) << what;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << what;
  EXPECT_TRUE(absl::StrContains(result.status().message(), value.name)) << result.status();
}

TEST(AgentPolicyTemplateTest, TemplatePoliciesAreAllMapped) {
  pugi::xml_document admx;
  ASSERT_TRUE(admx.load_file(kAdmx.c_str())) << kAdmx;
  const pugi::xml_node policies = admx.child("policyDefinitions").child("policies");
  int checked = 0;
  for (pugi::xml_node policy : policies.children("policy")) {
    const std::string name = policy.attribute("name").value();
    SCOPED_TRACE(name);
    EXPECT_STREQ(policy.attribute("class").value(), "Machine");
    EXPECT_STREQ(policy.attribute("key").value(), "Software\\Policies\\pkiwatch\\Agent");
    ++checked;

    // A policy with its own valueName: enabled and disabled values.
    if (const char* value_name = policy.attribute("valueName").value(); *value_name != '\0') {
      for (const char* state : {"enabledValue", "disabledValue"}) {
        const pugi::xml_node decimal = policy.child(state).child("decimal");
        ASSERT_TRUE(decimal) << state;
        ExpectApplied(Dword(value_name, decimal.attribute("value").as_uint()),
                      std::string(state));
      }
      continue;
    }
    const pugi::xml_node elements = Child(policy, "elements");
    ASSERT_TRUE(elements.first_child()) << "policy without valueName or elements";
    for (pugi::xml_node element : elements.children()) {
      const std::string kind = element.name();
      const std::string value_name = element.attribute("valueName").value();
      ASSERT_FALSE(value_name.empty()) << kind;
      if (kind == "decimal") {
        const uint32_t min = element.attribute("minValue").as_uint();
        const uint32_t max = element.attribute("maxValue").as_uint(0xFFFFFFFFu);
        ExpectApplied(Dword(value_name, min), "minValue");
        ExpectApplied(Dword(value_name, max), "maxValue");
        if (min > 0) ExpectRejected(Dword(value_name, min - 1), "below minValue");
        if (max < 0xFFFFFFFFu) ExpectRejected(Dword(value_name, max + 1), "above maxValue");
        ExpectRejected(Text(value_name, std::to_string(min)), "decimal as REG_SZ");
        continue;
      }
      auto sample = Samples().find(value_name);
      ASSERT_NE(sample, Samples().end()) << "no sample value for " << value_name;
      if (kind == "text") {
        const bool expandable = element.attribute("expandable").as_bool();
        const RegistryValue value =
            Text(value_name, sample->second.front(), expandable ? win::kRegExpandSz : win::kRegSz);
        ExpectApplied(value, kind);
        // What the value changes must show in the configuration.
        v1::AgentConfig config;
        ASSERT_TRUE(ApplyAgentPolicy({value}, &config).ok());
        EXPECT_TRUE(absl::StrContains(config.SerializeAsString(), sample->second.front()))
            << config.DebugString();
        ExpectRejected(Dword(value_name, 1), "text as REG_DWORD");
        ExpectRejected(Text(value_name, "  "), "empty text");
      } else if (kind == "multiText") {
        ExpectApplied(List(value_name, sample->second), kind);
        v1::AgentConfig config;
        ASSERT_TRUE(ApplyAgentPolicy({List(value_name, sample->second)}, &config).ok());
        for (const std::string& entry : sample->second) {
          EXPECT_TRUE(absl::StrContains(config.SerializeAsString(), entry)) << config.DebugString();
        }
        ExpectRejected(Dword(value_name, 1), "list as REG_DWORD");
        ExpectRejected(List(value_name, {}), "empty list");
      } else {
        ADD_FAILURE() << "element kind " << kind << " is not mapped";
      }
    }
  }
  // The template offers all twelve policies the mapping knows.
  EXPECT_EQ(checked, 12);
}

// Every string and presentation the template refers to exists in en-US,
// and every presentation control refers to an element of its policy.
TEST(AgentPolicyTemplateTest, TemplateAndStringsAgree) {
  pugi::xml_document admx;
  pugi::xml_document adml;
  ASSERT_TRUE(admx.load_file(kAdmx.c_str())) << kAdmx;
  ASSERT_TRUE(adml.load_file(kAdml.c_str())) << kAdml;
  const pugi::xml_node resources = adml.child("policyDefinitionResources").child("resources");
  std::map<std::string, pugi::xml_node> strings;
  std::map<std::string, pugi::xml_node> presentations;
  for (pugi::xml_node s : resources.child("stringTable").children("string")) {
    strings[s.attribute("id").value()] = s;
  }
  for (pugi::xml_node p : resources.child("presentationTable").children("presentation")) {
    presentations[p.attribute("id").value()] = p;
  }
  auto string_ref = [&](const char* ref) {
    const std::string text = ref;
    ASSERT_TRUE(absl::StartsWith(text, "$(string.") && absl::EndsWith(text, ")")) << text;
    const std::string id = text.substr(9, text.size() - 10);
    EXPECT_TRUE(strings.count(id)) << "missing string " << id;
  };
  const pugi::xml_node root = admx.child("policyDefinitions");
  for (pugi::xml_node c : root.child("categories").children("category")) {
    string_ref(c.attribute("displayName").value());
  }
  for (pugi::xml_node d : root.child("supportedOn").child("definitions").children("definition")) {
    string_ref(d.attribute("displayName").value());
  }
  for (pugi::xml_node policy : root.child("policies").children("policy")) {
    SCOPED_TRACE(policy.attribute("name").value());
    string_ref(policy.attribute("displayName").value());
    string_ref(policy.attribute("explainText").value());
    const std::string presentation = policy.attribute("presentation").value();
    const pugi::xml_node elements = policy.child("elements");
    if (presentation.empty()) {
      EXPECT_FALSE(elements.first_child()) << "elements without a presentation";
      continue;
    }
    const std::string id = presentation.substr(15, presentation.size() - 16);  // $(presentation.X)
    ASSERT_TRUE(presentations.count(id)) << "missing presentation " << id;
    for (pugi::xml_node control : presentations[id].children()) {
      const std::string ref = control.attribute("refId").value();
      EXPECT_TRUE(elements.find_child_by_attribute("id", ref.c_str()))
          << "presentation control " << control.name() << " refers to unknown element " << ref;
    }
    for (pugi::xml_node element : elements.children()) {
      EXPECT_TRUE(presentations[id].find_child_by_attribute("refId", element.attribute("id").value()))
          << "element " << element.attribute("id").value() << " has no control";
    }
  }
}

TEST(AgentPolicyTest, OverridesTheFileAndKeepsPerEntrySettings) {
  v1::AgentConfig config;
  config.set_collector("old.corp.example:4443");
  config.set_state_dir("C:\\pkiwatch-file");
  config.add_cert_dirs("C:\\certs");
  v1::CrlWatch* watch = config.add_crl_watches();
  watch->set_url("http://pki.corp.example/a.crl");
  watch->set_issuer_cert_file("C:\\issuer-a.cer");
  config.add_crl_watches()->set_url("http://pki.corp.example/dropped.crl");
  v1::EnrollmentService* ca = config.add_enrollment_services();
  ca->set_config("ca1\\CA 1");
  ca->add_http_urls("https://ca1/ces");
  ca->set_rpc_port(1135);
  config.add_ndes()->set_url("http://ndes/certsrv/mscep/mscep.dll");
  config.mutable_ndes(0)->set_check_admin(true);
  config.mutable_http()->set_no_proxy(true);

  absl::StatusOr<AgentPolicyResult> result = ApplyAgentPolicy(
      {Text("collector", " new.corp.example:443 "),  // names are case-insensitive
       List("CrlWatchUrls", {"http://pki.corp.example/a.crl", "http://pki.corp.example/b.crl",
                             "http://pki.corp.example/a.crl"}),
       List("EnrollmentServices", {"ca1\\CA 1", "ca2\\CA 2"}),
       Text("NdesUrls", "http://ndes/certsrv/mscep/mscep.dll"),  // REG_SZ: one entry
       Text("Proxy", "http://proxy:8080"), Dword("ProbeBudgetSeconds", 600),
       Dword("EnableCapi2Operational", 1), Text("ClockReference", "[2001:db8::1]:123")},
      &config);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->applied.size(), 8u);
  EXPECT_EQ(result->applied[0], "collector");
  EXPECT_EQ(config.collector(), "new.corp.example:443");
  EXPECT_EQ(config.state_dir(), "C:\\pkiwatch-file");  // not in the policy
  EXPECT_EQ(config.cert_dirs_size(), 1);
  ASSERT_EQ(config.crl_watches_size(), 2);  // duplicates dropped
  EXPECT_EQ(config.crl_watches(0).url(), "http://pki.corp.example/a.crl");
  EXPECT_EQ(config.crl_watches(0).issuer_cert_file(), "C:\\issuer-a.cer");
  EXPECT_EQ(config.crl_watches(1).url(), "http://pki.corp.example/b.crl");
  EXPECT_EQ(config.crl_watches(1).issuer_cert_file(), "");
  ASSERT_EQ(config.enrollment_services_size(), 2);
  EXPECT_EQ(config.enrollment_services(0).rpc_port(), 1135u);
  EXPECT_EQ(config.enrollment_services(0).http_urls_size(), 1);
  EXPECT_EQ(config.enrollment_services(1).config(), "ca2\\CA 2");
  ASSERT_EQ(config.ndes_size(), 1);
  EXPECT_TRUE(config.ndes(0).check_admin());
  EXPECT_EQ(config.http().proxy(), "http://proxy:8080");
  EXPECT_FALSE(config.http().no_proxy());
  EXPECT_EQ(config.probe_budget_seconds(), 600u);
  EXPECT_TRUE(config.enable_capi2_operational());
  EXPECT_EQ(config.clock().reference(), "[2001:db8::1]:123");

  // Disabled in Group Policy: 0 overrides a file that enabled it.
  ASSERT_TRUE(ApplyAgentPolicy({Dword("EnableCapi2Operational", 0)}, &config).ok());
  EXPECT_FALSE(config.enable_capi2_operational());
}

TEST(AgentPolicyTest, ErrorsNameEveryBadValueAndChangeNothing) {
  v1::AgentConfig config;
  config.set_collector("kept.corp.example:4443");
  config.set_probe_budget_seconds(120);
  RegistryValue short_dword = Dword("EnableCapi2Operational", 0);
  short_dword.size = 2;
  short_dword.data = std::monostate();
  absl::StatusOr<AgentPolicyResult> result = ApplyAgentPolicy(
      {Text("Collector", "collector-without-port"), Dword("ProbeBudgetSeconds", 5),
       Text("Site", "Hamburg"), List("CrlWatchUrls", {"ldap:///CN=Issuing,CN=CDP", "http://"}),
       Text("EnrollmentServices", "no-ca-name"), Text("ClockReference", "[::1"),
       Text("StateDir", "C:\\a\nb"), short_dword, Text("NdesUrls", "mscep.dll")},
      &config);
  ASSERT_FALSE(result.ok());
  const std::string message(result.status().message());
  EXPECT_TRUE(absl::StartsWith(message, "Group Policy HKLM\\Software\\Policies\\pkiwatch\\Agent: "))
      << message;
  for (const char* part :
       {"Collector: \"collector-without-port\" is not host:port",
        "ProbeBudgetSeconds: is 5, expected 10-3600",
        "CrlWatchUrls: \"ldap:///CN=Issuing,CN=CDP\" is not an http:// or https:// URL",
        "\"http://\" has no host", "EnrollmentServices: \"no-ca-name\" is not \"host\\CA name\"",
        "ClockReference: clock reference \"[::1\": '[' without ']'",
        "StateDir: \"C:\\a\nb\" contains control characters",
        "EnableCapi2Operational: is a REG_DWORD of 2 bytes, expected 4",
        "NdesUrls: \"mscep.dll\" is not an http:// or https:// URL"}) {
    EXPECT_TRUE(absl::StrContains(message, part)) << part << "\n" << message;
  }
  EXPECT_FALSE(absl::StrContains(message, "Site")) << message;
  // Nothing applied, not even the good Site.
  EXPECT_EQ(config.collector(), "kept.corp.example:4443");
  EXPECT_EQ(config.probe_budget_seconds(), 120u);
  EXPECT_EQ(config.site(), "");

  result = ApplyAgentPolicy({Dword("Collector", 1), Dword("EnableCapi2Operational", 2)}, &config);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(absl::StrContains(result.status().message(),
                                "Collector: is REG_DWORD, expected REG_SZ or REG_EXPAND_SZ"))
      << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(),
                                "EnableCapi2Operational: is 2, expected 0-1"))
      << result.status();
  RegistryValue binary;
  binary.name = "CrlWatchUrls";
  binary.type = win::kRegBinary;
  binary.size = 3;
  result = ApplyAgentPolicy({binary}, &config);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(absl::StrContains(result.status().message(),
                                "CrlWatchUrls: is REG_BINARY, expected REG_MULTI_SZ"))
      << result.status();
}

TEST(AgentPolicyTest, UnknownValuesAreWarnings) {
  v1::AgentConfig config;
  absl::StatusOr<AgentPolicyResult> result = ApplyAgentPolicy(
      {Text("Site", "Berlin"), Dword("LogLevel", 4), Text("", "default value")}, &config);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(config.site(), "Berlin");
  ASSERT_EQ(result->warnings.size(), 2u);
  EXPECT_EQ(result->warnings[0],
            "HKLM\\Software\\Policies\\pkiwatch\\Agent\\LogLevel (REG_DWORD) is not a pkiwatch "
            "agent policy; ignored");
  EXPECT_TRUE(absl::StrContains(result->warnings[1], "(Default) (REG_SZ)")) << result->warnings[1];
  EXPECT_EQ(result->applied, std::vector<std::string>{"Site"});
}

TEST(AgentPolicyTest, NoValuesChangeNothing) {
  v1::AgentConfig config;
  config.set_collector("c:1");
  absl::StatusOr<AgentPolicyResult> result = ApplyAgentPolicy({}, &config);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->applied.empty());
  EXPECT_EQ(config.collector(), "c:1");
}

}  // namespace
}  // namespace pkiwatch::agent
