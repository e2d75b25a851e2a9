#include "collector/query/blame.h"

#include <gtest/gtest.h>

#include "collector/query/next_steps.h"
#include "common/error_catalogue.h"

namespace pkiwatch::query {
namespace {

// `failing[i]` of `per_site` hosts fail in site i.
BlameEvidence Sites(std::vector<uint32_t> failing, uint32_t per_site) {
  BlameEvidence e;
  for (size_t i = 0; i < failing.size(); ++i) {
    e.sites.push_back({"site-" + std::to_string(i), failing[i], per_site});
    e.failing_hosts += failing[i];
    e.total_hosts += per_site;
  }
  return e;
}

TEST(BlameTest, MostHostsInMostSitesIsTheEndpoint) {
  v1::BlameVerdict v = ClassifyBlame(Sites({48, 50, 45, 50, 49, 47}, 50), {});
  EXPECT_EQ(v.blame(), v1::BLAME_ENDPOINT) << v.reason();
  EXPECT_EQ(v.sites_failing(), 6u);
  EXPECT_EQ(v.sites_total(), 6u);
}

TEST(BlameTest, OneSiteFailingIsANetworkSegment) {
  v1::BlameVerdict v = ClassifyBlame(Sites({0, 0, 50, 0, 1, 0}, 50), {});
  EXPECT_EQ(v.blame(), v1::BLAME_NETWORK_SEGMENT) << v.reason();
  EXPECT_NE(v.reason().find("site-2"), std::string::npos);
  EXPECT_NEAR(v.top_sites_share(), 50.0 / 51, 1e-9);
  EXPECT_NEAR(v.outside_failing_share(), 1.0 / 250, 1e-9);
}

TEST(BlameTest, TwoOfSixSitesIsStillASegment) {
  v1::BlameVerdict v = ClassifyBlame(Sites({40, 45, 0, 0, 0, 0}, 50), {});
  EXPECT_EQ(v.blame(), v1::BLAME_NETWORK_SEGMENT) << v.reason();
}

TEST(BlameTest, FewHostsFailingEverythingIsTheClient) {
  BlameEvidence e = Sites({1, 0, 0, 0}, 50);
  e.failing_hosts_failing_other_share = 0.9;
  v1::BlameVerdict v = ClassifyBlame(e, {});
  EXPECT_EQ(v.blame(), v1::BLAME_CLIENT) << v.reason();
}

TEST(BlameTest, ClockSkewPointsAtTheClientEvenWhenItFailsLittleElse) {
  BlameEvidence e = Sites({2, 0, 0}, 100);
  e.failing_hosts_failing_other_share = 0.1;
  e.clock_skew_seen = true;
  v1::BlameVerdict v = ClassifyBlame(e, {});
  EXPECT_EQ(v.blame(), v1::BLAME_CLIENT);
  EXPECT_NE(v.reason().find("clock skew"), std::string::npos);
}

TEST(BlameTest, FewHostsThatFailOnlyThisAreUndetermined) {
  BlameEvidence e = Sites({1, 1, 0, 0}, 50);
  e.failing_hosts_failing_other_share = 0.1;
  EXPECT_EQ(ClassifyBlame(e, {}).blame(), v1::BLAME_UNDETERMINED);
}

TEST(BlameTest, ASingleSiteCannotTellEndpointFromNetwork) {
  EXPECT_EQ(ClassifyBlame(Sites({50}, 50), {}).blame(), v1::BLAME_UNDETERMINED);
}

TEST(BlameTest, ScatteredFailuresAreUndetermined) {
  EXPECT_EQ(ClassifyBlame(Sites({10, 12, 9, 11, 10, 8}, 50), {}).blame(),
            v1::BLAME_UNDETERMINED);
}

TEST(BlameTest, NothingFailingHasNoBlame) {
  EXPECT_EQ(ClassifyBlame(Sites({0, 0}, 10), {}).blame(), v1::BLAME_UNSPECIFIED);
  EXPECT_EQ(ClassifyBlame(BlameEvidence{}, {}).blame(), v1::BLAME_UNSPECIFIED);
}

TEST(BlameTest, ThresholdsAreHonoured) {
  BlameThresholds strict;
  strict.endpoint_failing_share = 0.99;
  EXPECT_NE(ClassifyBlame(Sites({48, 50, 45, 50, 49, 47}, 50), strict).blame(),
            v1::BLAME_ENDPOINT);
}

TEST(NextStepsTest, FollowTheGuidesForTheErrorAndBlame) {
  auto steps = NextSteps("crl", hr::kCryptERevocationOffline, v1::BLAME_NETWORK_SEGMENT);
  ASSERT_GE(steps.size(), 2u);
  EXPECT_NE(steps[0].find("network path"), std::string::npos);
  EXPECT_NE(steps[1].find("certutil -urlfetch"), std::string::npos);
  auto denied = NextSteps("eventlog", hr::kCertsrvETemplateDenied, v1::BLAME_UNDETERMINED);
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_NE(denied[0].find("Enroll"), std::string::npos);
  EXPECT_FALSE(NextSteps("", 0, v1::BLAME_UNSPECIFIED).empty());
}

}  // namespace
}  // namespace pkiwatch::query
