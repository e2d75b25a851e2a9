#include "agent/eventlog/event_finding.h"

#include <string>
#include <vector>

#include "agent/core/edge_dedup.h"
#include "agent/eventlog/error_text.h"
#include "agent/eventlog/event_xml.h"
#include "common/error_catalogue.h"
#include "gtest/gtest.h"

namespace pkiwatch::eventlog {
namespace {

// The core's small text table must agree with the catalogue (winerror.h
// names, fixture-quoted texts), since the core cannot link the catalogue.
TEST(KnownErrors, AgreeWithTheErrorCatalogue) {
  int n = 0;
  for (const KnownError* k = KnownErrorsBegin(); k != KnownErrorsEnd(); ++k, ++n) {
    const std::optional<ErrorEntry> e = LookupError(k->code);
    ASSERT_TRUE(e.has_value()) << k->name;
    EXPECT_EQ(e->name, k->name) << FormatHresult(k->code);
    EXPECT_EQ(e->message, k->text) << k->name;
  }
  EXPECT_GE(n, 15);
}

constexpr char kCapi2Event41[] = R"(<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="Microsoft-Windows-CAPI2" Guid="{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}"/>
    <EventID>41</EventID><Level>2</Level>
    <TimeCreated SystemTime="2023-11-27T02:07:57.5609376Z"/>
    <EventRecordID>4204</EventRecordID>
    <Channel>Microsoft-Windows-CAPI2/Operational</Channel>
    <Computer>DESKTOP-TEB080J</Computer>
  </System>
  <UserData><CertVerifyRevocation>
    <Certificate fileRef="4C.cer" subjectName="*.google.com"/>
    <IssuerCertificate fileRef="1E.cer" subjectName="GTS CA 1C3"/>
    <RevocationStatus index="0" error="80092013" reason="0"/>
    <CertificateRevocationList location="Wire" url="HTTP://C.PKI.GOOG:80/r/gsr1.crl"/>
    <Result value="80092013">The revocation function was unable to check revocation because the revocation server was offline.</Result>
  </CertVerifyRevocation></UserData>
</Event>)";

TEST(EventToFinding, MapsEveryField) {
  const Result<ParsedEvent> e = ParseEventXml(kCapi2Event41);
  ASSERT_TRUE(e.ok()) << e.error();
  const EventResult r = ClassifyEvent(*e);
  const EventTime now = *ParseEventTime("2023-11-27T03:00:00Z");
  const v1::Finding f = EventToFinding(r, EventOccurrences{}, now);
  EXPECT_EQ(f.probe(), "eventlog");
  EXPECT_EQ(f.target(), r.pattern_key);
  EXPECT_EQ(f.status(), v1::STATUS_FAIL);
  EXPECT_EQ(f.error().hresult(), 0x80092013u);
  EXPECT_EQ(f.error().symbolic_name(), "CRYPT_E_REVOCATION_OFFLINE");
  EXPECT_NE(f.error().native_detail().find("revocation server was offline"), std::string::npos);
  EXPECT_EQ(f.dimensions().url(), "http://c.pki.goog/r/gsr1.crl");  // normalized
  EXPECT_EQ(f.dimensions().url_kind(), v1::URL_KIND_CDP);
  EXPECT_EQ(f.dimensions().ca(), "GTS CA 1C3");
  EXPECT_EQ(f.event().channel(), "Microsoft-Windows-CAPI2/Operational");
  EXPECT_EQ(f.event().provider(), "Microsoft-Windows-CAPI2");
  EXPECT_EQ(f.event().event_id(), 41u);
  EXPECT_EQ(f.event().record_id(), 4204u);
  EXPECT_EQ(f.event().count(), 1u);
  EXPECT_EQ(f.event().first_seen().seconds(), 1701050877);
  EXPECT_EQ(f.event().first_seen().nanos(), 560937600);
  EXPECT_EQ(f.observed_at().seconds(), 1701050877);
  EXPECT_EQ(f.target_cert().subject(), "*.google.com");
  EXPECT_NE(f.summary().find("CRYPT_E_REVOCATION_OFFLINE"), std::string::npos);
}

TEST(EventToFinding, CollapsedFloodThroughEdgeDedup) {
  const Result<ParsedEvent> e = ParseEventXml(kCapi2Event41);
  ASSERT_TRUE(e.ok());
  const EventResult r = ClassifyEvent(*e);
  agent::EdgeDedup<EventResult> dedup;
  std::vector<agent::EdgeDedup<EventResult>::Emitted> out;
  const EventTime t0 = *r.time_created;
  for (int i = 0; i < 100; ++i) {
    EventResult copy = r;
    copy.record_id = 4204 + i;
    dedup.Add(copy.pattern_key, t0 + std::chrono::seconds(i), std::move(copy), out);
  }
  dedup.Flush(t0 + std::chrono::minutes(10), out);
  ASSERT_EQ(out.size(), 2u);
  const v1::Finding first = EventToFinding(out[0].payload, OccurrencesOf(out[0]), t0);
  const v1::Finding summary = EventToFinding(out[1].payload, OccurrencesOf(out[1]), t0);
  EXPECT_EQ(first.event().count(), 1u);
  EXPECT_EQ(summary.event().count(), 99u);
  EXPECT_EQ(summary.event().record_id(), 4303u);  // the last record
  EXPECT_EQ(summary.event().first_seen().seconds(), first.event().first_seen().seconds() + 1);
  EXPECT_EQ(summary.event().last_seen().seconds(), first.event().first_seen().seconds() + 99);
  EXPECT_EQ(summary.target(), first.target());
  EXPECT_EQ(summary.summary().rfind("x99 ", 0), 0u) << summary.summary();
}

TEST(EventToFinding, OkEventHasNoErrorAndBadTextIsSanitized) {
  EventResult r;
  r.provider = "Microsoft-Windows-CAPI2";
  r.event_id = 4097;
  r.status = EventStatus::kOk;
  r.summary = std::string("root \xff\xfe update");
  r.subject = std::string(5000, 'a');
  r.url = "not a url";
  r.pattern_key = "k";
  const v1::Finding f = EventToFinding(r, EventOccurrences{}, *ParseEventTime("2024-01-01T00:00:00Z"));
  EXPECT_FALSE(f.has_error());
  EXPECT_EQ(f.summary(), "root \xEF\xBF\xBD\xEF\xBF\xBD update");
  EXPECT_LE(f.target_cert().subject().size(), kMaxSummaryBytes);
  EXPECT_EQ(f.dimensions().url(), "not a url");  // kept when it does not normalize
  EXPECT_EQ(f.observed_at().seconds(), 1704067200);
}

TEST(ToStatus, CoreErrorsBecomeInvalidArgument) {
  const Result<ParsedEvent> bad = ParseEventXml("<Event>");
  const absl::Status s = ToStatus(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ParseEventXml"), std::string::npos);
  EXPECT_TRUE(ToStatus(ParseEventXml(kCapi2Event41)).ok());
}

}  // namespace
}  // namespace pkiwatch::eventlog
