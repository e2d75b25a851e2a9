// DiscoverEnrollmentServices against a real LDAP server: the slapd of
// tests/win/ldap_fixture.sh, standing in for a domain controller (two
// enterprise CAs and a replication conflict copy in the configuration
// partition), plus a port where nothing listens and one that never answers.

#include "agent/win/enrollment_services.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "agent/eventlog/enterprise_cas.h"
#include "agent/win/win32.h"
#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

constexpr char kConfigurationNc[] = "CN=Configuration,DC=pkiwatch,DC=test";
constexpr char kContainer[] =
    "CN=Enrollment Services,CN=Public Key "
    "Services,CN=Services,CN=Configuration,DC=pkiwatch,DC=test";

std::string FixtureDir() { return testing::WinePath(PKIWATCH_WIN_LDAP_DIR); }

std::optional<unsigned> FixturePort(const char* file) {
  std::ifstream in(FixtureDir() + "\\" + file);
  unsigned port = 0;
  if (!(in >> port) || port == 0 || port > 65535) return std::nullopt;
  return port;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class EnrollmentServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FixturePort("port");
    if (!port_) GTEST_SKIP() << "ldap fixture not running (no port file in " << FixtureDir() << ")";
  }
  LdapTarget Target(const char* port_file = "port") const {
    LdapTarget target;
    const std::optional<unsigned> port = FixturePort(port_file);
    target.server = "127.0.0.1:" + std::to_string(port.value_or(0));
    target.anonymous = true;
    target.timeout = std::chrono::milliseconds(3000);
    return target;
  }
  std::optional<unsigned> port_;
};

TEST_F(EnrollmentServicesTest, ReadsTheEnrollmentServicesOfTheConfigurationPartition) {
  auto directory = DiscoverEnrollmentServices(Target());
  ASSERT_TRUE(directory.ok()) << directory.status().message();
  EXPECT_EQ(directory->server, "127.0.0.1:" + std::to_string(*port_));
  EXPECT_EQ(directory->configuration_naming_context, kConfigurationNc);  // from the RootDSE
  EXPECT_EQ(directory->container, kContainer);
  // Both CAs and the conflict copy, as the directory holds them.
  ASSERT_EQ(directory->services.size(), 3u);

  const eventlog::EnterpriseCaList list = eventlog::SelectEnterpriseCas(directory->services);
  ASSERT_EQ(list.cas.size(), 2u);
  const std::vector<uint8_t> ca1_der = testing::ReadBinaryFile(FixtureDir() + "\\ca1.cer");
  const std::vector<uint8_t> ca2_der = testing::ReadBinaryFile(FixtureDir() + "\\ca2.cer");
  ASSERT_FALSE(ca1_der.empty());
  ASSERT_FALSE(ca2_der.empty());
  ASSERT_NE(ca1_der, ca2_der);
  bool seen1 = false, seen2 = false;
  for (const eventlog::EnterpriseCa& ca : list.cas) {
    EXPECT_EQ(Lower(ca.dn).find("cn=pkiwatch issuing ca "), 0u) << ca.dn;
    if (ca.config == "ca1.pkiwatch.test\\pkiwatch Issuing CA 1") {
      seen1 = true;
      EXPECT_EQ(ca.certificate_templates,
                (std::vector<std::string>{"Machine", "WebServer", "pkiwatchComputer"}));
      ASSERT_EQ(ca.ca_certificates.size(), 1u);
      EXPECT_EQ(ca.ca_certificates[0], ca1_der);  // the DER bytes, unchanged
      EXPECT_EQ(ca.flags, 10u);
    } else if (ca.config == "ca2.pkiwatch.test\\pkiwatch Issuing CA 2") {
      seen2 = true;
      EXPECT_EQ(ca.certificate_templates, std::vector<std::string>{"User"});
      ASSERT_EQ(ca.ca_certificates.size(), 1u);
      EXPECT_EQ(ca.ca_certificates[0], ca2_der);
      EXPECT_EQ(ca.flags, 2u);
    } else {
      ADD_FAILURE() << "unexpected CA " << ca.config;
    }
  }
  EXPECT_TRUE(seen1 && seen2);
  ASSERT_EQ(list.problems.size(), 1u);
  EXPECT_TRUE(
      Contains(list.problems[0], "replication conflict copy (CNF) of CA \"pkiwatch Issuing CA 1\""))
      << list.problems[0];
}

TEST_F(EnrollmentServicesTest, ExplicitConfigurationNamingContextSkipsTheRootDse) {
  LdapTarget target = Target();
  target.configuration_naming_context = kConfigurationNc;
  auto directory = DiscoverEnrollmentServices(target);
  ASSERT_TRUE(directory.ok()) << directory.status().message();
  EXPECT_EQ(directory->services.size(), 3u);

  // A forest where no enterprise CA was ever installed has no container.
  target.configuration_naming_context = "CN=Configuration,DC=elsewhere,DC=test";
  directory = DiscoverEnrollmentServices(target);
  ASSERT_TRUE(directory.ok()) << directory.status().message();
  EXPECT_EQ(
      directory->container,
      "CN=Enrollment Services,CN=Public Key Services,CN=Services,CN=Configuration,DC=elsewhere,"
      "DC=test");
  EXPECT_TRUE(directory->services.empty());
}

TEST_F(EnrollmentServicesTest, ServerDownIsAClearLdapError) {
  const LdapTarget target = Target("closed-port");
  auto directory = DiscoverEnrollmentServices(target);
  ASSERT_FALSE(directory.ok());
  const std::string& message = directory.status().message();
  EXPECT_TRUE(Contains(message, target.server)) << message;
  EXPECT_TRUE(Contains(message, "LDAP_SERVER_DOWN (0x51)")) << message;
  EXPECT_EQ(directory.status().hresult(), HresultFromWin32(LdapMapErrorToWin32(LDAP_SERVER_DOWN)))
      << message;
}

TEST_F(EnrollmentServicesTest, ServerThatNeverAnswersTimesOut) {
  LdapTarget target = Target("stalled-port");
  target.timeout = std::chrono::milliseconds(1500);
  auto directory = DiscoverEnrollmentServices(target);
  ASSERT_FALSE(directory.ok());
  const std::string& message = directory.status().message();
  EXPECT_TRUE(Contains(message, target.server)) << message;
  EXPECT_TRUE(Contains(message, "LDAP_TIMEOUT (0x55)")) << message;
  EXPECT_EQ(directory.status().hresult(), HresultFromWin32(LdapMapErrorToWin32(LDAP_TIMEOUT)));
}

TEST_F(EnrollmentServicesTest, NegotiateBindFailureIsAnError) {
  // The default bind (Negotiate with this computer's credentials) cannot
  // succeed against slapd. Windows fails the bind; wine's wldap32 already
  // refuses LDAP_OPT_SIGN (its ldap_bind_sW would crash on the NULL
  // credentials).
  LdapTarget target = Target();
  target.anonymous = false;
  auto directory = DiscoverEnrollmentServices(target);
  ASSERT_FALSE(directory.ok());
  const std::string& message = directory.status().message();
  EXPECT_TRUE(Contains(message, target.server)) << message;
  EXPECT_TRUE(Contains(message, "LDAP_")) << message;
}

TEST(EnrollmentServicesArguments, InvalidServerStringsAreRejected) {
  for (const char* server : {"host:", "host:0", "host:65536", "host:12ab", ":389", "[::1", "[::1]x",
                             "[::1]:", "two words"}) {
    LdapTarget target;
    target.server = server;
    target.anonymous = true;
    auto directory = DiscoverEnrollmentServices(target);
    ASSERT_FALSE(directory.ok()) << server;
    EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument) << server;
    EXPECT_TRUE(Contains(directory.status().message(), std::string("\"") + server + "\""))
        << directory.status().message();
  }
}

TEST(EnrollmentServicesDomain, WorkgroupComputerIsNotDomainJoined) {
  if (!testing::RunningUnderWine()) GTEST_SKIP() << "a real Windows host may be domain-joined";
  auto directory = DiscoverEnrollmentServices(LdapTarget{});
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().hresult(), kNotDomainJoined);
  EXPECT_TRUE(Contains(directory.status().message(), "not joined to an Active Directory domain"))
      << directory.status().message();
}

}  // namespace
}  // namespace pkiwatch::win
