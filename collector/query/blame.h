#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::query {

// Thresholds of the blame classification; collector flags set them.
struct BlameThresholds {
  // Endpoint/CA side: at least this share of the hosts covering the key fail,
  // spread over at least this share of its sites.
  double endpoint_failing_share = 0.5;
  double endpoint_site_share = 0.6;
  // Network segment: the top sites (at most this share of all sites, at
  // least one) hold this share of the failing hosts, while outside them at
  // most `segment_outside_share` of hosts fail.
  double segment_max_site_share = 0.34;
  double segment_top_share = 0.8;
  double segment_outside_share = 0.1;
  // Client side: at most this many failing hosts (or this share of the
  // hosts), each failing at least this share of everything it probes.
  uint32_t client_max_hosts = 3;
  double client_max_share = 0.05;
  double client_other_failing_share = 0.5;
};

struct SiteFailures {
  std::string site;
  uint32_t failing_hosts = 0;
  uint32_t total_hosts = 0;
};

// What the classification looks at for one pattern.
struct BlameEvidence {
  uint32_t failing_hosts = 0;
  uint32_t total_hosts = 0;
  std::vector<SiteFailures> sites;  // every site with hosts covering the key
  // Client-side evidence about the failing hosts (only gathered when the
  // pattern is small): the share of their current results that fail, and
  // whether any of them has a failing clock probe.
  double failing_hosts_failing_other_share = 0;
  bool clock_skew_seen = false;
};

// Classifies one pattern; the verdict carries the numbers it used and a
// one-line reason. Pure function.
v1::BlameVerdict ClassifyBlame(const BlameEvidence& evidence, const BlameThresholds& t);

}  // namespace pkiwatch::query
