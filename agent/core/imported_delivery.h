#pragma once

// Delivers the findings of imported computers (imported_host.h): each
// computer with findings in its spool enrolls as a node of its own and
// streams them over its own uplink, a few computers at a time.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/core/spool.h"
#include "pkiwatch/v1/config.pb.h"

namespace pkiwatch::agent {

struct ImportedDeliveryOptions {
  std::string root;             // <state_dir>/imported
  Spool::Options spool_bounds;
  std::string collector;        // host:port
  std::string enroll_secret;
  v1::UplinkSettings settings;
  std::string site;             // site label of the imported computers ("" unknown)
  size_t parallel = 8;          // computers streaming at once (>= 1)
};

struct ImportedDeliveryReport {
  size_t computers = 0;          // with findings to deliver
  size_t delivered = 0;          // all of whose findings were acknowledged
  uint64_t findings_left = 0;    // still spooled (delivered on the next import run)
};

// Streams until every spool is empty or `deadline`. DeadlineExceeded (or
// the collector's refusal, e.g. a wrong enroll secret) when something is
// left; the report says how much.
absl::Status DeliverImportedHosts(const ImportedDeliveryOptions& options, absl::Time deadline,
                                  ImportedDeliveryReport* report);

}  // namespace pkiwatch::agent
