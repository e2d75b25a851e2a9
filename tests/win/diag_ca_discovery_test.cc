#include "agent/win/diag_ca_discovery.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pkiwatch::win {
namespace {

std::vector<std::string> DetailsOf(const std::vector<std::pair<std::string, std::string>>& details,
                                   const std::string& key) {
  std::vector<std::string> values;
  for (const auto& [k, value] : details) {
    if (k == key) values.push_back(value);
  }
  return values;
}

std::string DetailOf(const std::vector<std::pair<std::string, std::string>>& details,
                     const std::string& key) {
  const std::vector<std::string> values = DetailsOf(details, key);
  return values.empty() ? "" : values.front();
}

EnrollmentServiceDirectory Directory() {
  EnrollmentServiceDirectory d;
  d.server = "dc1.corp.example";
  d.configuration_naming_context = "CN=Configuration,DC=corp,DC=example";
  d.container =
      "CN=Enrollment Services,CN=Public Key Services,CN=Services," + d.configuration_naming_context;
  return d;
}

eventlog::EnterpriseCa Ca(const std::string& config) {
  eventlog::EnterpriseCa ca;
  ca.config = config;
  ca.dn = "CN=x,CN=Enrollment Services";
  ca.certificate_templates = {"Machine", "WebServer"};
  ca.ca_certificates = {std::vector<uint8_t>(700, 0x30), std::vector<uint8_t>(50, 0x30)};
  ca.flags = 0xA;
  return ca;
}

TEST(JudgeCaDiscoveryTest, CasFoundIsOkAndSaysWhereTheListComesFrom) {
  EnrollmentServiceDirectory directory = Directory();
  directory.services.resize(2);
  eventlog::EnterpriseCaList list;
  list.cas = {Ca("ca1.corp.example\\CA 1"), Ca("ca2.corp.example\\CA 2")};
  const DiagVerdict v = JudgeCaDiscovery(directory, list);
  EXPECT_EQ(v.check, "ca_discovery");
  EXPECT_EQ(v.target, "Active Directory");
  EXPECT_EQ(v.verdict, Verdict::kOk);
  EXPECT_NE(v.summary.find("2 enterprise CAs published in Active Directory"), std::string::npos)
      << v.summary;
  EXPECT_NE(v.summary.find("no CA is configured"), std::string::npos) << v.summary;
  EXPECT_EQ(DetailOf(v.details, "server"), "dc1.corp.example");
  EXPECT_EQ(DetailOf(v.details, "container"), directory.container);
  EXPECT_EQ(DetailOf(v.details, "entries"), "2");
  EXPECT_EQ(DetailsOf(v.details, "ca"),
            (std::vector<std::string>{"ca1.corp.example\\CA 1", "ca2.corp.example\\CA 2"}));
}

TEST(JudgeCaDiscoveryTest, ProblemsAndEmptyListsWarn) {
  EnrollmentServiceDirectory directory = Directory();
  directory.services.resize(2);
  eventlog::EnterpriseCaList list;
  list.cas = {Ca("ca1.corp.example\\CA 1")};
  list.problems = {"CN=copy: a replication conflict copy"};
  DiagVerdict v = JudgeCaDiscovery(directory, list);
  EXPECT_EQ(v.verdict, Verdict::kWarn);
  EXPECT_NE(v.summary.find("1 enterprise CA published"), std::string::npos) << v.summary;
  EXPECT_NE(v.summary.find("1 entry has a problem"), std::string::npos) << v.summary;
  EXPECT_EQ(DetailsOf(v.details, "problem"), list.problems);

  v = JudgeCaDiscovery(Directory(), eventlog::EnterpriseCaList{});
  EXPECT_EQ(v.verdict, Verdict::kWarn);
  EXPECT_NE(v.summary.find("no enterprise CA is published"), std::string::npos) << v.summary;
}

TEST(JudgeCaDiscoveryTest, NotDomainJoinedWarns) {
  const Status status = Status::Error(kNotDomainJoined, "NetGetJoinInformation: not joined");
  const DiagVerdict v = JudgeCaDiscovery(status, eventlog::EnterpriseCaList{});
  EXPECT_EQ(v.verdict, Verdict::kWarn);
  EXPECT_EQ(v.hresult, kNotDomainJoined);
  EXPECT_EQ(v.error, "NetGetJoinInformation: not joined");
  EXPECT_NE(v.summary.find("not joined to an Active Directory domain"), std::string::npos);
}

TEST(JudgeCaDiscoveryTest, LdapFailureFails) {
  const Status status = Status::Error(
      0x8007003A, "ldap_search_ext_sW(dc1:389, RootDSE): LDAP_SERVER_DOWN (0x51) Server Down");
  const DiagVerdict v = JudgeCaDiscovery(status, eventlog::EnterpriseCaList{});
  EXPECT_EQ(v.verdict, Verdict::kFail);
  EXPECT_EQ(v.hresult, 0x8007003Au);
  EXPECT_EQ(v.error, status.message());
  EXPECT_NE(v.summary.find("cannot be read from Active Directory over LDAP"), std::string::npos);
}

TEST(JudgeCaDiscoveryTest, InvalidServerIsACheckError) {
  const Status status = Status::Error(0x80070057, "LDAP server \"x:0\": the port is not a number");
  EXPECT_EQ(JudgeCaDiscovery(status, eventlog::EnterpriseCaList{}).verdict, Verdict::kError);
}

TEST(DiscoveredCasToPingTest, DetailsSayWhatTheDirectoryPublishes) {
  eventlog::EnterpriseCaList list;
  list.cas = {Ca("ca1.corp.example\\CA 1"), Ca("ca2.corp.example\\CA 2")};
  list.cas[1].certificate_templates.clear();
  list.cas[1].flags.reset();
  const std::vector<CaToPing> cas = DiscoveredCasToPing(list);
  ASSERT_EQ(cas.size(), 2u);
  EXPECT_EQ(cas[0].config, "ca1.corp.example\\CA 1");
  ASSERT_FALSE(cas[0].details.empty());
  EXPECT_EQ(cas[0].details.front(),
            (std::pair<std::string, std::string>{"source", "Active Directory"}));
  EXPECT_EQ(DetailOf(cas[0].details, "templates"), "Machine, WebServer");
  EXPECT_EQ(DetailOf(cas[0].details, "flags"),
            "0xA CA_FLAG_SUPPORTS_NT_AUTHENTICATION | CA_FLAG_CA_SERVERTYPE_ADVANCED");
  EXPECT_EQ(DetailOf(cas[0].details, "ca_certificates"), "2 (750 bytes)");
  EXPECT_EQ(DetailOf(cas[1].details, "templates"), "(none: the CA issues nothing)");
  EXPECT_EQ(DetailOf(cas[1].details, "flags"), "(absent or unreadable)");
}

TEST(ListCasToPingTest, ConfiguredCasAreUsedWithoutDiscovery) {
  std::vector<DiagVerdict> verdicts;
  LdapTarget unreachable;
  unreachable.server = "pkiwatch-no-such-host.invalid:1";  // would fail if it were asked
  const std::vector<CaToPing> cas =
      ListCasToPing({"ca1.corp.example\\CA 1", "ca9.corp.example\\CA 9"}, unreachable, &verdicts);
  EXPECT_TRUE(verdicts.empty());
  ASSERT_EQ(cas.size(), 2u);
  EXPECT_EQ(cas[1].config, "ca9.corp.example\\CA 9");
  EXPECT_EQ(cas[1].details,
            (std::vector<std::pair<std::string, std::string>>{{"source", "configured"}}));
}

}  // namespace
}  // namespace pkiwatch::win
