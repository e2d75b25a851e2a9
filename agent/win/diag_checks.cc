#include "agent/win/diag_checks.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <set>

#include "agent/eventlog/autoenrollment.h"
#include "agent/eventlog/event_channels.h"
#include "agent/eventlog/event_classifier.h"
#include "agent/eventlog/event_xml.h"
#include "agent/win/certification_authority.h"
#include "agent/win/diag_ca_discovery.h"
#include "agent/win/diag_verdicts.h"
#include "agent/win/event_log.h"
#include "agent/win/files.h"
#include "agent/win/handles.h"
#include "agent/win/key_storage.h"
#include "agent/win/pki_settings.h"
#include "agent/win/services.h"
#include "agent/win/sntp_client.h"
#include "agent/win/task_scheduler.h"
#include "agent/win/time_settings.h"
#include "agent/win/winhttp_client.h"

namespace pkiwatch::win {
namespace {

namespace el = ::pkiwatch::eventlog;

int64_t NowUnix() { return static_cast<int64_t>(std::time(nullptr)); }

constexpr size_t kMaxEventsFileBytes = 64u << 20;
constexpr size_t kMaxEvtxRecords = 100000;

struct Context {
  DiagOptions options;  // own copy: Group Policy adds CA configs
  int64_t now = 0;
  std::vector<DiagVerdict> verdicts;
  // Collected for the per-template verdicts.
  std::optional<uint32_t> machine_ae_policy;
  std::optional<el::TaskObservation> system_task;
  std::vector<StoreCertificate> certificates;
  std::vector<el::EventResult> events;  // oldest first
  std::optional<uint32_t> ca_ping_hresult;
  std::string ca_config;
};

void CheckPolicies(Context* c) {
  const std::vector<AePolicyReading> readings = ReadAutoEnrollmentPolicies();
  std::optional<uint32_t> policy, local;
  for (const AePolicyReading& r : readings) {
    if (r.scope != "machine" || !r.status.ok()) continue;
    (r.from_group_policy ? policy : local) = r.ae_policy;
  }
  c->machine_ae_policy = policy.has_value() ? policy : local;
  for (DiagVerdict& v : JudgeAePolicies(readings)) c->verdicts.push_back(std::move(v));

  auto logging = ReadEnrollLogging();
  c->verdicts.push_back(logging.ok() ? JudgeEnrollLogging(*logging)
                                     : CheckError("enroll_log_level", "machine", logging.status()));

  auto authroot = ReadAuthRootSettings();
  c->verdicts.push_back(authroot.ok() ? JudgeAuthRoot(*authroot, c->now)
                                      : CheckError("authroot_update", "machine", authroot.status()));

  auto agent = ReadAgentPolicy();
  if (!agent.ok()) {
    c->verdicts.push_back(CheckError("agent_policy", "machine", agent.status()));
    return;
  }
  DiagVerdict v;
  v.check = "agent_policy";
  v.target = "machine";
  v.summary = agent->collector ? "pkiwatch agent policy: collector " + *agent->collector
                               : "no pkiwatch agent policy (collector not set by Group Policy)";
  if (agent->site) v.Detail("site", *agent->site);
  v.Detail("enrollment_services", std::to_string(agent->enrollment_services.size()));
  v.Detail("crl_watch_urls", std::to_string(agent->crl_watch_urls.size()));
  for (const std::string& error : agent->errors) {
    v.verdict = Verdict::kWarn;
    v.Detail("invalid_value", error);
  }
  c->verdicts.push_back(std::move(v));
  for (const std::string& config : agent->enrollment_services) {
    bool seen = false;
    for (const std::string& existing : c->options.ca_configs) seen = seen || existing == config;
    if (!seen) c->options.ca_configs.push_back(config);
  }
}

void CheckTasks(Context* c) {
  auto scheduler = TaskScheduler::Connect();
  const std::string folder = c->options.task_folder;
  for (const char* name : {"SystemTask", "UserTask"}) {
    const std::string path = folder + "\\" + name;
    if (!scheduler.ok()) {
      c->verdicts.push_back(CheckError("autoenrollment_task", path, scheduler.status()));
      continue;
    }
    auto task = (*scheduler)->GetTask(path);
    if (!task.ok()) {
      const bool missing = task.status().code() == StatusCode::kNotFound;
      c->verdicts.push_back(OperationFailed(
          "autoenrollment_task", path, task.status(), missing ? Verdict::kFail : Verdict::kError,
          missing ? "the autoenrollment task does not exist: autoenrollment is never triggered"
                  : "the task could not be read"));
      continue;
    }
    c->verdicts.push_back(JudgeTask(*task, c->now));
    if (std::string(name) == "SystemTask") {
      el::TaskObservation observation;
      observation.path = task->path;
      observation.state = task->state;
      if (task->last_run_unix) observation.last_run = ToEventTime(*task->last_run_unix);
      observation.last_result = task->last_task_result.value_or(0);
      c->system_task = observation;
    }
  }
}

void CheckServices(Context* c) {
  auto state = QueryServiceState("CryptSvc");
  if (!state.ok()) {
    const bool missing = state.status().code() == StatusCode::kNotFound;
    c->verdicts.push_back(OperationFailed(
        "service", "CryptSvc", state.status(), missing ? Verdict::kFail : Verdict::kError,
        missing ? "the Cryptographic Services service does not exist" : "CryptSvc could not be queried"));
    return;
  }
  c->verdicts.push_back(JudgeCryptSvc(*state));
}

void CheckProxy(Context* c) {
  auto winhttp = GetWinHttpDefaultProxy();
  if (!winhttp.ok()) {
    c->verdicts.push_back(CheckError("winhttp_proxy", "machine", winhttp.status()));
    return;
  }
  auto ie = GetIeProxyConfigForCurrentUser();
  DiagVerdict v = JudgeProxy(*winhttp, ie.ok() ? &*ie : nullptr);
  if (!ie.ok()) v.Detail("ie_proxy_error", ie.status().message());
  c->verdicts.push_back(std::move(v));
}

void CheckClock(Context* c) {
  if (!c->options.network) return;
  std::string reference = c->options.ntp_server;
  std::string source = "--ntp-server";
  std::optional<std::string> type;
  if (reference.empty()) {
    auto w32time = ReadW32TimeSettings();
    if (!w32time.ok()) {
      c->verdicts.push_back(CheckError("clock", "W32Time", w32time.status()));
      return;
    }
    type = w32time->type;
    reference = FirstNtpPeer(w32time->ntp_server.value_or(""));
    source = "W32Time NtpServer";
  }
  if (reference.empty()) {
    DiagVerdict v;
    v.check = "clock";
    v.target = "W32Time";
    v.Detail("w32time_type", type.value_or("(not set)"));
    if (type == "NoSync") {
      v.verdict = Verdict::kWarn;
      v.summary = "W32Time does not synchronize this clock (Type NoSync)";
    } else {
      v.verdict = Verdict::kError;
      v.summary = "clock not measured: W32Time has no NtpServer (pass --ntp-server HOST, e.g. "
                  "a domain controller)";
    }
    c->verdicts.push_back(std::move(v));
    return;
  }
  SntpQueryOptions sntp;
  sntp.timeout = c->options.ntp_timeout;
  sntp.per_address_timeout = std::min(c->options.ntp_timeout, sntp.per_address_timeout);
  DiagVerdict v = JudgeClock(reference, source, QuerySntpServer(reference, sntp));
  if (type.has_value()) v.Detail("w32time_type", *type);
  c->verdicts.push_back(std::move(v));
}

void CheckKeyProviders(Context* c) {
  if (!c->options.key_providers) return;
  for (std::string_view provider : {kSoftwareKeyStorageProvider, kPlatformCryptoProvider}) {
    KeyCreationOptions key_options;
    const Status status = TestEphemeralKey(provider, key_options);
    if (status.ok()) {
      DiagVerdict v;
      v.check = "key_provider";
      v.target = std::string(provider);
      v.summary = "an ephemeral RSA 2048 key was created";
      c->verdicts.push_back(std::move(v));
      continue;
    }
    // Without a usable TPM only templates that ask for the TPM provider fail.
    const bool tpm = provider == kPlatformCryptoProvider;
    c->verdicts.push_back(OperationFailed(
        "key_provider", std::string(provider), status, tpm ? Verdict::kWarn : Verdict::kFail,
        tpm ? "the TPM key provider cannot create keys: templates that require it fail "
              "(client event 57)"
            : "the software key provider cannot create keys: enrollment fails (client event 57)"));
  }
}

void CheckCertificates(Context* c) {
  const std::string store_name = StoreDisplayName(c->options.store_location, c->options.store);
  auto certificates = EnumerateSystemStore(c->options.store_location, c->options.store);
  if (!certificates.ok()) {
    // Windows always has the My stores; a missing one is a damaged profile.
    const bool missing = certificates.status().code() == StatusCode::kNotFound;
    c->verdicts.push_back(OperationFailed("certificate_store", store_name, certificates.status(),
                                          missing ? Verdict::kWarn : Verdict::kError,
                                          missing ? "the store does not exist (no certificates)"
                                                  : "the store could not be read"));
    return;
  }
  DiagVerdict store;
  store.check = "certificate_store";
  store.target = store_name;
  size_t archived = 0;
  for (const StoreCertificate& cert : *certificates) archived += cert.archived ? 1 : 0;
  store.summary = std::to_string(certificates->size()) + " certificates (" +
                  std::to_string(archived) + " archived)";
  c->verdicts.push_back(std::move(store));

  ChainOptions chain_options;
  chain_options.url_timeout = c->options.url_timeout;
  chain_options.cache_only = !c->options.network;
  chain_options.machine_engine = c->options.store_location == StoreLocation::kLocalMachine;
  std::set<std::string> fetched;
  size_t checked = 0;
  for (const StoreCertificate& cert : *certificates) {
    if (cert.archived) continue;  // superseded; Windows ignores them too
    if (checked++ >= c->options.max_certificates) break;
    c->certificates.push_back(cert);
    auto chain = VerifyChain(cert.der, chain_options);
    c->verdicts.push_back(chain.ok() ? JudgeCertificate(cert, *chain, c->now)
                                     : CheckError("certificate_chain", cert.thumbprint, chain.status()));

    auto urls = GetCertificateUrls(cert.der);
    if (!urls.ok()) {
      c->verdicts.push_back(CheckError("certificate_url", cert.thumbprint, urls.status()));
      continue;
    }
    if (!c->options.network) continue;
    auto fetch = [&](const std::string& url, const char* kind) {
      if (fetched.size() >= c->options.max_urls || !fetched.insert(url).second) return;
      auto blobs = RetrieveUrl(url, c->options.url_timeout);
      if (!blobs.ok()) {
        c->verdicts.push_back(OperationFailed("certificate_url", url, blobs.status(), Verdict::kFail,
                                              std::string(kind) + " URL cannot be retrieved"));
        return;
      }
      size_t bytes = 0;
      for (const auto& blob : *blobs) bytes += blob.size();
      DiagVerdict v;
      v.check = "certificate_url";
      v.target = url;
      v.summary = std::string(kind) + " URL retrieved (" + std::to_string(bytes) + " bytes)";
      v.Detail("kind", kind);
      v.Detail("certificate", cert.thumbprint);
      c->verdicts.push_back(std::move(v));
    };
    for (const std::string& url : urls->crl_distribution_points) fetch(url, "CDP");
    for (const std::string& url : urls->ca_issuers) fetch(url, "AIA");
  }
}

void CheckCertificationAuthorities(Context* c) {
  for (const CaToPing& ca : ListCasToPing(c->options.ca_configs, c->options.ca_discovery,
                                          &c->verdicts)) {
    const std::string& config = ca.config;
    auto name = GetCaName(config);
    if (c->ca_config.empty()) {
      c->ca_config = config;
      c->ca_ping_hresult = name.ok() ? 0u : name.status().hresult();
    }
    DiagVerdict v;
    if (!name.ok()) {
      v = OperationFailed(
          "ca_ping", config, name.status(), Verdict::kFail,
          "the CA cannot be reached over DCOM (ICertRequest2::GetCAProperty CANAME)");
    } else {
      v.check = "ca_ping";
      v.target = config;
      v.summary = "the CA answered over DCOM: " + *name;
    }
    for (const auto& [key, value] : ca.details) v.Detail(key, value);
    c->verdicts.push_back(std::move(v));
  }
}

// Parses and classifies one event XML text into c->events (records are
// expected oldest first); false when it does not parse.
bool ClassifyOne(std::string_view record, Context* c) {
  el::Result<el::ParsedEvent> parsed = el::ParseEventXml(record);
  if (!parsed.ok()) return false;
  el::EventResult result = el::ClassifyEvent(*parsed);
  if (result.pki_relevant) c->events.push_back(std::move(result));
  return true;
}

// Returns how many failed to parse.
size_t Classify(const std::vector<std::string_view>& records, Context* c) {
  size_t parse_errors = 0;
  for (std::string_view record : records) parse_errors += ClassifyOne(record, c) ? 0 : 1;
  return parse_errors;
}

bool IsEvtxPath(std::string_view path) {
  constexpr std::string_view kSuffix = ".evtx";
  if (path.size() < kSuffix.size()) return false;
  const std::string_view tail = path.substr(path.size() - kSuffix.size());
  for (size_t i = 0; i < kSuffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != kSuffix[i]) return false;
  }
  return true;
}

void CheckEvents(Context* c) {
  size_t parse_errors = 0;
  std::string source;
  if (!c->options.events_file.empty() && IsEvtxPath(c->options.events_file)) {
    source = c->options.events_file;
    auto read = ReadEvtxFile(c->options.events_file, kMaxEvtxRecords, [&](std::string xml) {
      parse_errors += ClassifyOne(xml, c) ? 0 : 1;
      return true;
    });
    if (!read.ok()) {
      c->verdicts.push_back(CheckError("event_log", source, read.status()));
      return;
    }
    parse_errors += read->unrendered;
  } else if (!c->options.events_file.empty()) {
    source = c->options.events_file;
    auto text = ReadSmallFile(c->options.events_file, kMaxEventsFileBytes);
    if (!text.ok()) {
      c->verdicts.push_back(CheckError("event_log", source, text.status()));
      return;
    }
    parse_errors = Classify(el::SplitEventRecords(*text), c);
  } else {
    source = std::string(el::kApplicationChannel) + ", " + std::string(el::kCapi2OperationalChannel);
    struct Query {
      std::string_view channel;
      std::string_view xpath;
    };
    size_t channels_read = 0;
    // All of CAPI2/Operational, not only its problems as the live agent
    // takes it: the healthy sequences are Information events.
    for (const Query& q : {Query{el::kApplicationChannel, el::kPkiApplicationQuery},
                           Query{el::kCapi2OperationalChannel, "*"}}) {
      auto xml = QueryEventXml(q.channel, q.xpath, c->options.max_events, /*newest_first=*/true);
      if (!xml.ok()) {
        c->verdicts.push_back(CheckError("event_log", std::string(q.channel), xml.status()));
        continue;
      }
      ++channels_read;
      std::vector<std::string_view> records(xml->rbegin(), xml->rend());  // oldest first
      parse_errors += Classify(records, c);
    }
    // Nothing read: the ERROR verdicts above say why; no judgement on no data.
    if (channels_read == 0) return;
  }

  // Flood control: one verdict per failure pattern, with its count.
  struct Pattern {
    const el::EventResult* first;
    size_t count;
  };
  std::vector<std::string> order;
  std::map<std::string, Pattern> patterns;
  for (const el::EventResult& r : c->events) {
    if (r.status == el::EventStatus::kOk) continue;
    auto [it, inserted] = patterns.try_emplace(r.pattern_key, Pattern{&r, 0});
    if (inserted) order.push_back(r.pattern_key);
    ++it->second.count;
  }
  DiagVerdict overview;
  overview.check = "event_log";
  overview.target = source;
  overview.summary = std::to_string(c->events.size()) + " PKI events, " +
                     std::to_string(patterns.size()) + " failure patterns";
  if (parse_errors > 0) {
    overview.verdict = Verdict::kWarn;
    overview.Detail("unparsable_records", std::to_string(parse_errors));
  }
  c->verdicts.push_back(std::move(overview));
  for (const std::string& key : order) {
    const Pattern& p = patterns[key];
    DiagVerdict v;
    v.check = "event";
    v.target = std::string(el::FamilyName(p.first->family)) + " " +
               std::to_string(p.first->event_id);
    v.verdict = FromEventStatus(p.first->status);
    v.hresult = p.first->hresult;
    v.summary = p.first->summary;
    v.Detail("count", std::to_string(p.count));
    v.Detail("provider", p.first->provider);
    if (!p.first->url.empty()) v.Detail("url", p.first->url);
    if (!p.first->ca.empty()) v.Detail("ca", p.first->ca);
    if (!p.first->template_name.empty()) v.Detail("template", p.first->template_name);
    if (!p.first->error_text.empty()) v.Detail("error_text", p.first->error_text);
    c->verdicts.push_back(std::move(v));
  }

  bool any_autoenrollment = false;
  for (const el::EventResult& r : c->events) {
    any_autoenrollment = any_autoenrollment || r.family == el::EventFamily::kAutoEnrollment;
  }
  DiagVerdict run;
  run.check = "autoenrollment_run";
  run.target = source;
  if (!any_autoenrollment) {
    run.verdict = Verdict::kWarn;
    run.summary = "no autoenrollment run in the events (Enroll\\LogLevel below 4 hides the "
                  "information events of a healthy run)";
  } else {
    const el::SequenceVerdict sequence = el::CheckAutoEnrollmentRun(c->events);
    run.verdict = sequence.completed            ? Verdict::kOk
                  : sequence.enrollment_finished ? Verdict::kOk
                                                 : Verdict::kWarn;
    run.summary = sequence.explanation;
    run.Detail("steps_seen", std::to_string(sequence.steps_seen) + "/" +
                                 std::to_string(el::kHealthySequenceLength));
    if (!sequence.last_step.empty()) run.Detail("last_step", sequence.last_step);
    if (!sequence.next_expected.empty()) run.Detail("next_expected", sequence.next_expected);
    for (const std::string& failure : sequence.failures) run.Detail("failure", failure);
  }
  c->verdicts.push_back(std::move(run));
}

// One verdict per machine template seen in the store or in the events.
void CheckTemplates(Context* c) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (name.empty()) return;
    for (const std::string& n : names) {
      if (n == name) return;
    }
    names.push_back(name);
  };
  for (const StoreCertificate& cert : c->certificates) {
    add(!cert.template_name.empty() ? cert.template_name : cert.template_oid);
  }
  for (const el::EventResult& r : c->events) {
    if (r.context != el::EnrollContext::kUser) add(r.template_name);
  }
  for (const std::string& name : names) {
    el::TemplateEvidence evidence;
    evidence.template_name = name;
    evidence.context = el::EnrollContext::kMachine;
    evidence.now = ToEventTime(c->now);
    for (const StoreCertificate& cert : c->certificates) {
      if (cert.template_name != name && cert.template_oid != name) continue;
      el::StoreCertificate s;
      s.thumbprint = cert.thumbprint;
      s.subject = cert.subject;
      if (cert.not_after_unix) s.not_after = ToEventTime(*cert.not_after_unix);
      evidence.certificates.push_back(std::move(s));
    }
    evidence.ae_policy = c->machine_ae_policy;
    evidence.task = c->system_task;
    for (const el::EventResult& r : c->events) {
      if (r.family == el::EventFamily::kCertificationAuthority) {
        evidence.ca_denials.push_back(r);
      } else {
        evidence.events.push_back(r);
      }
    }
    evidence.ca_ping_hresult = c->ca_ping_hresult;
    evidence.ca_config = c->ca_config;
    const el::TemplateVerdict verdict = el::EvaluateTemplate(evidence);
    DiagVerdict v;
    v.check = "template";
    v.target = name;
    v.verdict = FromEventStatus(verdict.status);
    v.hresult = verdict.hresult;
    v.summary = std::string(el::TemplateVerdictName(verdict.kind)) + ": " + verdict.reason;
    for (const std::string& step : verdict.next_steps) v.Detail("next_step", step);
    c->verdicts.push_back(std::move(v));
  }
}

}  // namespace

std::vector<DiagVerdict> RunDiagChecks(const DiagOptions& options) {
  Context c;
  c.options = options;
  c.now = NowUnix();
  auto com = ComApartment::Enter();
  if (!com.ok()) {
    c.verdicts.push_back(CheckError("com", "process", com.status()));
  } else if (Status security = InitializeComSecurity(); !security.ok()) {
    c.verdicts.push_back(CheckError("com", "security", security));
  }
  CheckPolicies(&c);
  CheckTasks(&c);
  CheckServices(&c);
  CheckProxy(&c);
  CheckClock(&c);
  CheckKeyProviders(&c);
  CheckCertificates(&c);
  CheckCertificationAuthorities(&c);
  CheckEvents(&c);
  CheckTemplates(&c);
  return std::move(c.verdicts);
}

}  // namespace pkiwatch::win
