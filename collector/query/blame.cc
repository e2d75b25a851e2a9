#include "collector/query/blame.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace pkiwatch::query {

v1::BlameVerdict ClassifyBlame(const BlameEvidence& e, const BlameThresholds& t) {
  v1::BlameVerdict v;
  v.set_failing_hosts_failing_other_share(e.failing_hosts_failing_other_share);
  v.set_clock_skew_seen(e.clock_skew_seen);
  std::vector<SiteFailures> sites = e.sites;
  std::sort(sites.begin(), sites.end(), [](const SiteFailures& a, const SiteFailures& b) {
    return a.failing_hosts != b.failing_hosts ? a.failing_hosts > b.failing_hosts
                                              : a.site < b.site;
  });
  const uint32_t sites_failing = static_cast<uint32_t>(
      std::count_if(sites.begin(), sites.end(), [](const auto& s) { return s.failing_hosts > 0; }));
  v.set_sites_total(static_cast<uint32_t>(sites.size()));
  v.set_sites_failing(sites_failing);
  if (e.failing_hosts == 0 || e.total_hosts == 0) {
    v.set_blame(v1::BLAME_UNSPECIFIED);
    v.set_reason("nothing fails");
    return v;
  }
  const double failing_share = static_cast<double>(e.failing_hosts) / e.total_hosts;

  // The top sites: as few as hold most failing hosts, within the limit.
  const size_t max_top = std::max<size_t>(
      1, static_cast<size_t>(t.segment_max_site_share * static_cast<double>(sites.size())));
  uint32_t top_failing = 0, top_total = 0;
  size_t top = 0;
  while (top < sites.size() && top < max_top && sites[top].failing_hosts > 0) {
    top_failing += sites[top].failing_hosts;
    top_total += sites[top].total_hosts;
    ++top;
    if (top_failing >= t.segment_top_share * e.failing_hosts) break;
  }
  const double top_share = static_cast<double>(top_failing) / e.failing_hosts;
  const uint32_t outside_total = e.total_hosts - top_total;
  const uint32_t outside_failing = e.failing_hosts - top_failing;
  const double outside_share =
      outside_total == 0 ? 0.0 : static_cast<double>(outside_failing) / outside_total;
  v.set_top_sites_share(top_share);
  v.set_outside_failing_share(outside_share);

  const bool few_hosts = e.failing_hosts <= t.client_max_hosts ||
                         failing_share <= t.client_max_share;
  if (few_hosts && (e.failing_hosts_failing_other_share >= t.client_other_failing_share ||
                    e.clock_skew_seen) &&
      failing_share < t.endpoint_failing_share) {
    v.set_blame(v1::BLAME_CLIENT);
    v.set_reason(absl::StrFormat(
        "%d of %d hosts fail, and they fail %.0f%% of everything they probe%s while the "
        "fleet succeeds",
        e.failing_hosts, e.total_hosts, 100 * e.failing_hosts_failing_other_share,
        e.clock_skew_seen ? " (clock skew seen)" : ""));
    return v;
  }
  const double site_share =
      sites.empty() ? 0.0 : static_cast<double>(sites_failing) / sites.size();
  if (failing_share >= t.endpoint_failing_share && site_share >= t.endpoint_site_share &&
      sites.size() >= 2) {
    v.set_blame(v1::BLAME_ENDPOINT);
    v.set_reason(absl::StrFormat("%.0f%% of hosts fail, in %d of %d sites",
                                 100 * failing_share, sites_failing, sites.size()));
    return v;
  }
  if (sites.size() >= 2 && top < sites.size() && top_share >= t.segment_top_share &&
      outside_share <= t.segment_outside_share) {
    v.set_blame(v1::BLAME_NETWORK_SEGMENT);
    std::string names;
    for (size_t i = 0; i < top; ++i) {
      absl::StrAppendFormat(&names, "%s%s", i == 0 ? "" : ", ", sites[i].site);
    }
    v.set_reason(absl::StrFormat(
        "%.0f%% of failing hosts are in %s; elsewhere %.0f%% of hosts fail", 100 * top_share,
        names.empty() ? "(no site)" : names, 100 * outside_share));
    return v;
  }
  v.set_blame(v1::BLAME_UNDETERMINED);
  v.set_reason(absl::StrFormat("%d of %d hosts fail in %d of %d sites: no clear pattern",
                               e.failing_hosts, e.total_hosts, sites_failing, sites.size()));
  return v;
}

}  // namespace pkiwatch::query
