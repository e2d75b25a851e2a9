#include "agent/core/agent_runtime.h"

#include <chrono>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/core/event_import.h"
#include "agent/core/event_pipeline.h"
#include "agent/core/imported_delivery.h"
#include "agent/core/probe_set.h"
#include "agent/core/scheduler.h"
#include "agent/core/spool.h"
#include "agent/core/uplink.h"
#include "agent/eventlog/event_xml.h"
#include "common/log.h"

namespace pkiwatch::agent {
namespace {

Spool::Options SpoolBounds(const v1::AgentConfig& config) {
  Spool::Options bounds;
  bounds.max_findings = config.spool().max_findings();
  bounds.max_bytes = config.spool().max_bytes();
  return bounds;
}

eventlog::EventTime EventNow() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
}

// Replays exported logs into the imported computers' spools and delivers
// them. False when a file could not be read or something was left
// undelivered (it stays spooled for the next import run).
bool ImportEvents(const AgentRunOptions& options) {
  const v1::AgentConfig& config = options.config;
  const std::string root = config.state_dir() + "/imported";
  bool ok = true;
  for (const std::string& file : options.import_files) {
    EventImportOptions import;
    import.root = root;
    import.spool_bounds = SpoolBounds(config);
    auto report = ImportEventFile(file, import);
    if (!report.ok()) {
      LogError("import of ", file, " failed: ", report.status().message());
      ok = false;
      continue;
    }
    std::cout << FormatImportReport(file, *report) << std::flush;
  }
  ImportedDeliveryOptions delivery_options;
  delivery_options.root = root;
  delivery_options.spool_bounds = SpoolBounds(config);
  delivery_options.collector = config.collector();
  delivery_options.enroll_secret = options.enroll_secret;
  delivery_options.settings = config.uplink();
  delivery_options.site = options.import_site;
  ImportedDeliveryReport delivery;
  absl::Status s =
      DeliverImportedHosts(delivery_options, absl::Now() + options.once_timeout, &delivery);
  std::cout << "imported computers delivered: " << delivery.delivered << " of "
            << delivery.computers << ", findings left in their spools: " << delivery.findings_left
            << "\n"
            << std::flush;
  if (!s.ok()) {
    LogError("delivery of imported events: ", s.message());
    return false;
  }
  return ok;
}

// Live event records -> pipeline -> spool. Sources call Add from their own
// threads; one lock keeps the pipeline single-threaded.
class LiveEvents {
 public:
  LiveEvents(Spool* spool, std::function<void()> on_spooled)
      : spool_(spool),
        on_spooled_(std::move(on_spooled)),
        pipeline_(DedupOptions{}, [this](v1::Finding f) { pending_.push_back(f.SerializeAsString()); }) {}

  void Add(std::string_view xml) {
    auto event = eventlog::ParseEventXml(xml);
    absl::MutexLock lock(&mu_);
    if (!event.ok()) {
      if (++malformed_ == 1 || malformed_ % 1000 == 0) {
        LogWarning("event record not parsed (", malformed_, " so far): ", event.error());
      }
      return;
    }
    pipeline_.Add(*event, EventNow());
    SpoolPendingLocked();
  }

  void Flush(bool all) {
    absl::MutexLock lock(&mu_);
    if (all) {
      pipeline_.FlushAll();
    } else {
      pipeline_.Flush(EventNow());
    }
    SpoolPendingLocked();
  }

 private:
  void SpoolPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (pending_.empty()) return;
    auto appended = spool_->Append(std::move(pending_));
    pending_.clear();
    if (!appended.ok()) {
      LogError("event findings not spooled: ", appended.status().message());
      return;
    }
    on_spooled_();
  }

  Spool* const spool_;
  const std::function<void()> on_spooled_;
  absl::Mutex mu_;
  EventPipeline pipeline_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t malformed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

int RunAgent(const AgentRunOptions& options, const absl::Notification& stop) {
  const v1::AgentConfig& config = options.config;
  auto probes = BuildProbes(config);
  if (!probes.ok()) {
    LogError(probes.status().message());
    return 2;
  }
  // An import on a machine with no probes of its own (an admin's box) ends
  // the run: that machine is not a node of the fleet. Otherwise the agent
  // goes on with its probes (once, with --once).
  if (!options.import_files.empty()) {
    const bool imported = ImportEvents(options);
    if ((probes->empty() && !options.event_sources) || (!imported && options.once)) {
      return imported ? 0 : 1;
    }
  }

  Spool::Options spool_options = SpoolBounds(config);
  spool_options.path = config.state_dir() + "/spool.sqlite";
  auto spool = Spool::Open(spool_options);
  if (!spool.ok()) {
    LogError(spool.status().message());
    return 1;
  }

  std::unique_ptr<Scheduler> scheduler;
  auto uplink = Uplink::Create(
      {.collector = config.collector(),
       .enroll_secret = options.enroll_secret,
       .identity_path = config.state_dir() + "/node_identity.json",
       .host = options.host,
       .settings = config.uplink(),
       .on_command =
           [&scheduler](const v1::Command& command) {
             if (command.has_run_now() && scheduler != nullptr) {
               LogInfo("collector command ", command.command_id(), ": run probes now");
               scheduler->RunNow({command.run_now().probes().begin(),
                                  command.run_now().probes().end()});
             }
           }},
      spool->get());
  if (!uplink.ok()) {
    LogError(uplink.status().message());
    return 2;
  }
  scheduler = std::make_unique<Scheduler>(spool->get(), [&uplink] { (*uplink)->Notify(); });
  if (probes->empty() && !options.event_sources) {
    LogWarning("no probes configured (e.g. --watch-url, --cert-dir, ndes, clock)");
  }
  const size_t probe_count = probes->size();
  for (ScheduledProbe& p : *probes) scheduler->Add(std::move(p.probe), p.interval, p.jitter);

  if (options.once) {
    if (absl::Status s = scheduler->RunAllOnce(); !s.ok()) {
      LogError(s.message());
      return 1;
    }
    (*uplink)->Start();
    absl::Status drained = (*uplink)->WaitDrained(absl::Now() + options.once_timeout);
    (*uplink)->Stop();
    if (!drained.ok()) {
      LogError(drained.message());
      return 1;
    }
    LogInfo("all findings acknowledged by the collector");
    return 0;
  }

  LiveEvents live(spool->get(), [&uplink] { (*uplink)->Notify(); });
  std::vector<std::unique_ptr<EventSource>> sources;
  if (options.event_sources) {
    auto started = options.event_sources(config, [&live](std::string_view xml) { live.Add(xml); });
    if (!started.ok()) {
      LogError("event logs: ", started.status().message());
      return 2;
    }
    sources = *std::move(started);
  }
  (*uplink)->Start();
  scheduler->Start();
  LogInfo("agent running: ", probe_count, " probes, ", sources.size(), " event sources, collector ",
          config.collector());
  while (!stop.WaitForNotificationWithTimeout(options.event_flush_interval)) live.Flush(false);
  LogInfo("stopping");
  sources.clear();  // no more records after this
  live.Flush(true);
  scheduler->Stop();
  // A short grace for what was just spooled; the rest goes out on the next
  // start.
  (void)(*uplink)->WaitDrained(absl::Now() + options.stop_grace);
  (*uplink)->Stop();
  return 0;
}

}  // namespace pkiwatch::agent
