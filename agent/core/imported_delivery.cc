#include "agent/core/imported_delivery.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/core/imported_host.h"
#include "agent/core/uplink.h"
#include "common/log.h"

namespace pkiwatch::agent {

absl::Status DeliverImportedHosts(const ImportedDeliveryOptions& options, absl::Time deadline,
                                  ImportedDeliveryReport* report) {
  *report = {};
  auto all = ImportedHost::OpenAll(options.root, options.spool_bounds);
  if (!all.ok()) return all.status();
  std::vector<std::unique_ptr<ImportedHost>> hosts;
  for (auto& host : *all) {
    if (host->spool().stats().depth > 0) hosts.push_back(std::move(host));
  }
  report->computers = hosts.size();

  absl::Status first_error;
  const size_t parallel = std::max<size_t>(options.parallel, 1);
  for (size_t begin = 0; begin < hosts.size(); begin += parallel) {
    const size_t end = std::min(hosts.size(), begin + parallel);
    std::vector<std::unique_ptr<Uplink>> uplinks;
    for (size_t i = begin; i < end; ++i) {
      ImportedHost& host = *hosts[i];
      auto uplink = Uplink::Create(
          {.collector = options.collector,
           .enroll_secret = options.enroll_secret,
           .identity_path = host.identity_path(),
           .host = host.Facts(options.site),
           .settings = options.settings,
           .on_command =
               [computer = host.computer()](const v1::Command& command) {
                 LogWarning("command ", command.command_id(), " for imported computer ",
                            computer, " ignored: it has no agent");
               }},
          &host.spool());
      if (!uplink.ok()) return uplink.status();
      (*uplink)->Start();
      uplinks.push_back(*std::move(uplink));
    }
    for (size_t i = begin; i < end; ++i) {
      absl::Status s = uplinks[i - begin]->WaitDrained(deadline);
      if (s.ok()) {
        ++report->delivered;
      } else if (first_error.ok()) {
        first_error = absl::Status(s.code(), absl::StrCat(hosts[i]->computer(), ": ", s.message()));
      }
    }
    for (auto& uplink : uplinks) uplink->Stop();
    if (absl::Now() >= deadline) break;
  }
  for (auto& host : hosts) report->findings_left += host->spool().stats().depth;
  return first_error;
}

}  // namespace pkiwatch::agent
