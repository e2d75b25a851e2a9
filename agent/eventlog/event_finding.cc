#include "agent/eventlog/event_finding.h"

#include <chrono>
#include <utility>

#include "absl/status/statusor.h"
#include "common/error_catalogue.h"
#include "common/url.h"
#include "common/utf8.h"
#include "google/protobuf/timestamp.pb.h"

namespace pkiwatch::eventlog {
namespace {

void SetTime(EventTime t, google::protobuf::Timestamp* out) {
  const int64_t ns = t.time_since_epoch().count();
  int64_t secs = ns / 1000000000LL;
  int64_t nanos = ns % 1000000000LL;
  if (nanos < 0) {
    nanos += 1000000000LL;
    secs -= 1;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(nanos));
}

std::string Clean(std::string_view s, size_t max_bytes) { return SanitizeUtf8(s, max_bytes); }

}  // namespace

v1::Status ToProtoStatus(EventStatus status) {
  switch (status) {
    case EventStatus::kOk: return v1::STATUS_OK;
    case EventStatus::kWarn: return v1::STATUS_WARN;
    case EventStatus::kFail: return v1::STATUS_FAIL;
  }
  return v1::STATUS_FAIL;
}

v1::UrlKind ToProtoUrlKind(UrlKind kind) {
  switch (kind) {
    case UrlKind::kCdp: return v1::URL_KIND_CDP;
    case UrlKind::kDeltaCdp: return v1::URL_KIND_DELTA_CDP;
    case UrlKind::kOcsp: return v1::URL_KIND_OCSP;
    case UrlKind::kAia: return v1::URL_KIND_AIA;
    case UrlKind::kNdes: return v1::URL_KIND_NDES;
    case UrlKind::kEnrollment: return v1::URL_KIND_ENROLLMENT;
    case UrlKind::kAuthroot: return v1::URL_KIND_AUTHROOT;
    case UrlKind::kUnspecified: break;
  }
  return v1::URL_KIND_UNSPECIFIED;
}

v1::Finding EventToFinding(const EventResult& r, const EventOccurrences& occurrences,
                           EventTime fallback_now) {
  v1::Finding f;
  f.set_probe(kEventlogProbeName);
  f.set_target(Clean(r.pattern_key, kMaxPatternKeyBytes));
  const EventTime event_time = r.time_created.value_or(fallback_now);
  const EventTime first = occurrences.first_seen.value_or(event_time);
  const EventTime last = occurrences.last_seen.value_or(event_time);
  SetTime(last, f.mutable_observed_at());
  f.set_status(ToProtoStatus(r.status));

  std::string summary = r.summary;
  if (occurrences.count > 1) {
    summary = "x" + std::to_string(occurrences.count) + " " + summary;
  }
  f.set_summary(Clean(summary, kMaxSummaryBytes));

  if (r.hresult != 0 || r.status != EventStatus::kOk) {
    std::string detail = r.error_text;
    if (!r.detail.empty()) detail += (detail.empty() ? "" : "; ") + r.detail;
    *f.mutable_error() = MakeErrorInfo(r.hresult, Clean(detail, kMaxDetailBytes));
  }

  v1::Dimensions* d = f.mutable_dimensions();
  if (!r.url.empty()) {
    absl::StatusOr<std::string> url = NormalizeUrl(r.url);
    d->set_url(Clean(url.ok() ? *url : r.url, kMaxDetailBytes));
    d->set_url_kind(ToProtoUrlKind(r.url_kind));
  }
  d->set_ca(Clean(r.ca, kMaxSummaryBytes));
  d->set_template_name(Clean(r.template_name, kMaxSummaryBytes));

  v1::EventOrigin* o = f.mutable_event();
  o->set_channel(Clean(r.channel, kMaxSummaryBytes));
  o->set_provider(Clean(r.provider, kMaxSummaryBytes));
  o->set_event_id(r.event_id);
  o->set_record_id(r.record_id);
  o->set_count(occurrences.count);
  SetTime(first, o->mutable_first_seen());
  SetTime(last, o->mutable_last_seen());

  if (!r.subject.empty()) f.mutable_target_cert()->set_subject(Clean(r.subject, kMaxSummaryBytes));
  return f;
}

}  // namespace pkiwatch::eventlog
