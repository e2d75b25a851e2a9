#include "agent/eventlog/enterprise_cas.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pkiwatch::eventlog {
namespace {

const std::string kContainer =
    "CN=Enrollment Services,CN=Public Key Services,CN=Services,CN=Configuration,DC=corp,DC=example";

EnrollmentServiceEntry Entry(const std::string& cn, const std::string& host) {
  EnrollmentServiceEntry e;
  e.dn = "CN=" + cn + "," + kContainer;
  e.cn = cn;
  e.dns_host_name = host;
  e.certificate_templates = {"Machine", "WebServer"};
  e.ca_certificates = {{0x30, 0x82, 0x01, 0x0A}};
  e.flags = "10";
  return e;
}

bool Mentions(const std::vector<std::string>& problems, const std::string& dn,
              const std::string& words) {
  for (const std::string& p : problems) {
    if (p.rfind(dn + ":", 0) == 0 && p.find(words) != std::string::npos) return true;
  }
  return false;
}

TEST(CaFlags, NamesTheCertcaBits) {
  EXPECT_EQ(CaFlagNames(0), "none");
  EXPECT_EQ(CaFlagNames(0xA),
            "CA_FLAG_SUPPORTS_NT_AUTHENTICATION | CA_FLAG_CA_SERVERTYPE_ADVANCED");
  EXPECT_EQ(CaFlagNames(0x1), "CA_FLAG_NO_TEMPLATE_SUPPORT");
  EXPECT_EQ(CaFlagNames(0x4), "CA_FLAG_CA_SUPPORTS_MANUAL_AUTHENTICATION");
  // Bits certca.h does not define stay visible as one hex value.
  EXPECT_EQ(CaFlagNames(0x80000102), "CA_FLAG_SUPPORTS_NT_AUTHENTICATION | 0x80000100");
  EXPECT_EQ(CaFlagNames(0x30), "0x00000030");
}

TEST(LdapInteger, DecimalAsActiveDirectoryStoresIt) {
  EXPECT_EQ(ParseLdapInteger("0"), 0u);
  EXPECT_EQ(ParseLdapInteger("10"), 10u);
  EXPECT_EQ(ParseLdapInteger("4294967295"), 0xFFFFFFFFu);
  // AD writes 32-bit values with the top bit set as negative numbers.
  EXPECT_EQ(ParseLdapInteger("-1"), 0xFFFFFFFFu);
  EXPECT_EQ(ParseLdapInteger("-2147483648"), 0x80000000u);
  EXPECT_EQ(ParseLdapInteger("-0"), 0u);
}

TEST(LdapInteger, RejectsWhatIsNotAnInteger) {
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "0x10", "1e3", "ten", "4294967296",
                          "-2147483649", "99999999999", "--1", "1-"}) {
    EXPECT_FALSE(ParseLdapInteger(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(CaConfig, HostBackslashName) {
  EXPECT_EQ(CaConfigString("ca1.corp.example", "Corp Issuing CA 1"),
            "ca1.corp.example\\Corp Issuing CA 1");
}

TEST(SelectEnterpriseCas, KeepsUsableEntriesInDirectoryOrder) {
  EnrollmentServiceEntry second = Entry("Corp Issuing CA 2", "ca2.corp.example");
  second.certificate_templates = {"User"};
  second.flags = std::nullopt;
  const EnterpriseCaList list =
      SelectEnterpriseCas({Entry("Corp Issuing CA 1", "ca1.corp.example"), second});
  ASSERT_EQ(list.cas.size(), 2u);
  EXPECT_TRUE(list.problems.empty()) << list.problems.front();
  EXPECT_EQ(list.cas[0].config, "ca1.corp.example\\Corp Issuing CA 1");
  EXPECT_EQ(list.cas[0].dn, "CN=Corp Issuing CA 1," + kContainer);
  EXPECT_EQ(list.cas[0].certificate_templates, (std::vector<std::string>{"Machine", "WebServer"}));
  EXPECT_EQ(list.cas[0].ca_certificates,
            (std::vector<std::vector<uint8_t>>{{0x30, 0x82, 0x01, 0x0A}}));
  EXPECT_EQ(list.cas[0].flags, 0xAu);
  EXPECT_EQ(list.cas[1].config, "ca2.corp.example\\Corp Issuing CA 2");
  EXPECT_EQ(list.cas[1].certificate_templates, (std::vector<std::string>{"User"}));
  EXPECT_FALSE(list.cas[1].flags.has_value());
}

TEST(SelectEnterpriseCas, LeavesOutWhatCannotBePingedAndSaysWhy) {
  EnrollmentServiceEntry no_name = Entry("", "ca3.corp.example");
  no_name.dn = "CN=Nameless," + kContainer;
  EnrollmentServiceEntry no_host = Entry("Corp Issuing CA 4", "");
  // A replication conflict copy: AD appends "\nCNF:<objectGUID>" to the RDN.
  EnrollmentServiceEntry conflict =
      Entry("Corp Issuing CA 1\nCNF:6d7c4e8a-2b1f-4a0e-9c3d-5e6f7a8b9c0d", "ca1.corp.example");
  conflict.dn = "CN=Corp Issuing CA 1\\0ACNF:6d7c4e8a-2b1f-4a0e-9c3d-5e6f7a8b9c0d," + kContainer;
  // Same CA in other letter case: Windows compares config strings
  // case-insensitively.
  EnrollmentServiceEntry duplicate = Entry("CORP Issuing CA 1", "CA1.corp.example");
  duplicate.dn = "CN=CORP Issuing CA 1 (old)," + kContainer;

  const EnterpriseCaList list = SelectEnterpriseCas(
      {Entry("Corp Issuing CA 1", "ca1.corp.example"), no_name, no_host, conflict, duplicate});
  ASSERT_EQ(list.cas.size(), 1u);
  EXPECT_EQ(list.cas[0].config, "ca1.corp.example\\Corp Issuing CA 1");
  ASSERT_EQ(list.problems.size(), 4u);
  EXPECT_TRUE(Mentions(list.problems, no_name.dn, "no cn"));
  EXPECT_TRUE(Mentions(list.problems, no_host.dn, "no dNSHostName"));
  EXPECT_TRUE(Mentions(list.problems, conflict.dn,
                       "replication conflict copy (CNF) of CA \"Corp Issuing CA 1\""));
  EXPECT_TRUE(Mentions(list.problems, duplicate.dn,
                       "same CA (CA1.corp.example\\CORP Issuing CA 1) as CN=Corp Issuing CA 1,"));
}

TEST(SelectEnterpriseCas, EscapesControlCharactersOfDnsInProblems) {
  // OpenLDAP returns the conflict copy's newline unescaped in the DN.
  EnrollmentServiceEntry conflict = Entry("Corp Issuing CA 1\nCNF:0c3f", "ca1.corp.example");
  conflict.dn = "CN=Corp Issuing CA 1\nCNF:0c3f," + kContainer;
  const EnterpriseCaList list = SelectEnterpriseCas({conflict});
  EXPECT_TRUE(list.cas.empty());
  ASSERT_EQ(list.problems.size(), 1u);
  EXPECT_TRUE(Mentions(list.problems, "CN=Corp Issuing CA 1\\0ACNF:0c3f," + kContainer, "(CNF)"))
      << list.problems[0];
}

TEST(SelectEnterpriseCas, KeepsCasWithUnreadablePartsAndNamesThem) {
  EnrollmentServiceEntry bad_flags = Entry("Corp Issuing CA 1", "ca1.corp.example");
  bad_flags.flags = "ten";
  EnrollmentServiceEntry no_certificate = Entry("Corp Issuing CA 2", "ca2.corp.example");
  no_certificate.ca_certificates.clear();
  const EnterpriseCaList list = SelectEnterpriseCas({bad_flags, no_certificate});
  ASSERT_EQ(list.cas.size(), 2u);
  EXPECT_FALSE(list.cas[0].flags.has_value());
  EXPECT_TRUE(list.cas[1].ca_certificates.empty());
  ASSERT_EQ(list.problems.size(), 2u);
  EXPECT_TRUE(Mentions(list.problems, bad_flags.dn, "flags \"ten\" is not an integer"));
  EXPECT_TRUE(Mentions(list.problems, no_certificate.dn, "no cACertificate"));
}

TEST(SelectEnterpriseCas, NothingInNothingOut) {
  const EnterpriseCaList list = SelectEnterpriseCas({});
  EXPECT_TRUE(list.cas.empty());
  EXPECT_TRUE(list.problems.empty());
}

}  // namespace
}  // namespace pkiwatch::eventlog
