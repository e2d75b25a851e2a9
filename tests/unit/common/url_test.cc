#include "common/url.h"

#include <gtest/gtest.h>

#include <string>

namespace pkiwatch {
namespace {

struct UrlCase {
  const char* input;
  const char* expected;
};

// Test names must not depend on pointer values.
std::string CaseName(const ::testing::TestParamInfo<UrlCase>& info) {
  return "Case" + std::to_string(info.index);
}

class NormalizeUrlTest : public ::testing::TestWithParam<UrlCase> {};

TEST_P(NormalizeUrlTest, Normalizes) {
  absl::StatusOr<std::string> got = NormalizeUrl(GetParam().input);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, GetParam().expected);
  // Normalizing twice changes nothing.
  absl::StatusOr<std::string> again = NormalizeUrl(*got);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *got);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NormalizeUrlTest,
    ::testing::Values(
        UrlCase{"http://crl.example.com/pki/Issuing.crl",
                "http://crl.example.com/pki/Issuing.crl"},
        UrlCase{"HTTP://CRL.Example.COM/pki/Issuing%20CA.crl",
                "http://crl.example.com/pki/Issuing%20CA.crl"},
        UrlCase{"http://crl.example.com:80/a.crl", "http://crl.example.com/a.crl"},
        UrlCase{"https://ocsp.example.com:443", "https://ocsp.example.com/"},
        UrlCase{"http://ocsp.example.com", "http://ocsp.example.com/"},
        UrlCase{"http://crl.example.com:8080/a.crl",
                "http://crl.example.com:8080/a.crl"},
        UrlCase{"https://crl.example.com:80/a.crl",
                "https://crl.example.com:80/a.crl"},
        UrlCase{"http://crl.example.com/a.crl#frag", "http://crl.example.com/a.crl"},
        UrlCase{"http://ndes.example.com/certsrv/mscep/mscep.dll?operation=GetCACaps&message=x",
                "http://ndes.example.com/certsrv/mscep/mscep.dll?operation=GetCACaps&message=x"},
        UrlCase{"http://[2001:DB8::1]:80/x.crl", "http://[2001:db8::1]/x.crl"},
        UrlCase{"http://192.0.2.10/x.crl", "http://192.0.2.10/x.crl"},
        UrlCase{"ldap://DC01.Corp.Example:389/CN=Issuing%20CA,CN=CDP?certificateRevocationList?base",
                "ldap://dc01.corp.example/CN=Issuing%20CA,CN=CDP?certificateRevocationList?base"},
        // ADCS default CDP: empty host, only the scheme is lower-cased.
        UrlCase{"LDAP:///CN=Issuing%20CA,CN=srv,CN=CDP,CN=Public%20Key%20Services,CN=Services,CN=Configuration,DC=corp,DC=example?certificateRevocationList?base?objectClass=cRLDistributionPoint",
                "ldap:///CN=Issuing%20CA,CN=srv,CN=CDP,CN=Public%20Key%20Services,CN=Services,CN=Configuration,DC=corp,DC=example?certificateRevocationList?base?objectClass=cRLDistributionPoint"},
        // Spaces as some ADCS configurations write them are kept as given.
        UrlCase{"ldap:///CN=Issuing CA,CN=CDP,DC=corp,DC=example?certificateRevocationList",
                "ldap:///CN=Issuing CA,CN=CDP,DC=corp,DC=example?certificateRevocationList"},
        UrlCase{"ldaps://DC01.corp.example:636/CN=x", "ldaps://dc01.corp.example/CN=x"},
        UrlCase{"http://user:secret@crl.example.com/a.crl",
                "http://user:secret@crl.example.com/a.crl"}),
    CaseName);

TEST(NormalizeUrlErrorTest, RejectsBadInputWithClearMessage) {
  struct Bad {
    std::string input;
    const char* message_part;
  };
  const Bad cases[] = {
      {"", "empty"},
      {"crl.example.com/pki/a.crl", "no scheme"},
      {"//crl.example.com/a.crl", "no scheme"},
      {"crl.example.com:80/a.crl", "no scheme"},
      {"://crl.example.com/", "no scheme"},
      {"1http://crl.example.com/", "no scheme"},
      {"http:///no-host.crl", "no host"},
      {"https:////crl.example.com/", "no host"},
      {"ldap:///bad host\x01", "curl_url_set"},
      {"http://exa mple.com/", "curl_url_set"},
      {"http://example.com:99999/", "curl_url_set"},
      {std::string("http://exa\0mple.com/", 20), "NUL"},
      {"http://" + std::string(9000, 'a') + ".com/", "exceeds"},
      {"\xff\xfe garbage \x01\x02", "no scheme"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.input.substr(0, 60));
    absl::StatusOr<std::string> got = NormalizeUrl(c.input);
    ASSERT_FALSE(got.ok()) << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(got.status().message().find(c.message_part), std::string::npos)
        << got.status();
  }
}

TEST(NormalizeUrlErrorTest, LongestAcceptedUrl) {
  std::string path(kMaxUrlLength - std::string("http://a.example/").size(), 'x');
  std::string url = "http://a.example/" + path;
  ASSERT_EQ(url.size(), kMaxUrlLength);
  absl::StatusOr<std::string> got = NormalizeUrl(url);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, url);
  EXPECT_FALSE(NormalizeUrl(url + "x").ok());
}

TEST(UrlHostTest, ReturnsHostOrEmpty) {
  EXPECT_EQ(UrlHost("http://crl.example.com/a.crl"), "crl.example.com");
  EXPECT_EQ(UrlHost("http://crl.example.com:8080/a.crl"), "crl.example.com");
  EXPECT_EQ(UrlHost("ldap:///CN=x,DC=corp"), "");
  EXPECT_EQ(UrlHost("not a url"), "");
  EXPECT_EQ(UrlHost(""), "");
}

}  // namespace
}  // namespace pkiwatch
