#include "agent/eventlog/event_xml.h"

#include <chrono>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pkiwatch::eventlog {
namespace {

// A Get-WinEvent ToXml() style record with RenderingInfo, named EventData.
constexpr char kAutoEnrollment6[] = R"(<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="Microsoft-Windows-CertificateServicesClient-AutoEnrollment" Guid="{F0DB7EF8-B6F3-4005-9937-FEB77B9E1B43}" EventSourceName="AutoEnrollment"/>
    <EventID Qualifiers="49152">6</EventID>
    <Version>0</Version>
    <Level>2</Level>
    <Task>0</Task>
    <Opcode>0</Opcode>
    <Keywords>0x80000000000000</Keywords>
    <TimeCreated SystemTime="2022-04-07T08:15:12.6538400Z"/>
    <EventRecordID>112</EventRecordID>
    <Correlation ActivityID="{011a12e2-1f9d-0004-9413-1a019d1fda01}"/>
    <Execution ProcessID="0" ThreadID="0"/>
    <Channel>Application</Channel>
    <Computer>WIN-FPV0DSIC9O6.lab.local</Computer>
    <Security/>
  </System>
  <EventData>
    <Data Name="Context">local system</Data>
    <Data Name="ErrorCode">0x8007054b</Data>
    <Data Name="ErrorMsg">The specified domain either does not exist or could not be contacted.&#13;&#10;</Data>
  </EventData>
  <RenderingInfo Culture="en-US">
    <Message>Automatic certificate enrollment for local system failed (0x8007054b) The specified domain either does not exist or could not be contacted.</Message>
    <Level>Error</Level>
  </RenderingInfo>
</Event>)";

std::string MinimalEvent(std::string_view system_extra, std::string_view body = "") {
  return std::string("<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">"
                     "<System><Provider Name=\"P\"/><EventID>1</EventID>") +
         std::string(system_extra) + "</System>" + std::string(body) + "</Event>";
}

TEST(ParseEventXml, ReadsSystemEventDataAndRenderingInfo) {
  const Result<ParsedEvent> r = ParseEventXml(kAutoEnrollment6);
  ASSERT_TRUE(r.ok()) << r.error();
  const ParsedEvent& e = *r;
  EXPECT_EQ(e.provider_name, "Microsoft-Windows-CertificateServicesClient-AutoEnrollment");
  EXPECT_EQ(e.provider_guid, "{F0DB7EF8-B6F3-4005-9937-FEB77B9E1B43}");
  EXPECT_EQ(e.event_source_name, "AutoEnrollment");
  EXPECT_EQ(e.event_id, 6u);
  ASSERT_TRUE(e.qualifiers.has_value());
  EXPECT_EQ(*e.qualifiers, 49152u);
  EXPECT_EQ(e.level, 2u);
  EXPECT_EQ(e.keywords, 0x80000000000000ull);
  EXPECT_EQ(e.record_id, 112u);
  EXPECT_EQ(e.activity_id, "{011a12e2-1f9d-0004-9413-1a019d1fda01}");
  EXPECT_EQ(e.channel, "Application");
  EXPECT_EQ(e.computer, "WIN-FPV0DSIC9O6.lab.local");
  EXPECT_EQ(e.user_id, "");
  ASSERT_TRUE(e.time_created.has_value());
  EXPECT_EQ(FormatEventTime(*e.time_created), "2022-04-07T08:15:12.65384Z");
  ASSERT_EQ(e.event_data.size(), 3u);
  EXPECT_EQ(e.event_data[0].name, "Context");
  ASSERT_NE(e.FindData("ErrorCode"), nullptr);
  EXPECT_EQ(*e.FindData("ErrorCode"), "0x8007054b");
  EXPECT_EQ(*e.FindData("ErrorMsg"),
            "The specified domain either does not exist or could not be contacted.\r\n");
  EXPECT_EQ(e.FindData("Missing"), nullptr);
  EXPECT_EQ(e.rendered_level, "Error");
  EXPECT_NE(e.message.find("failed (0x8007054b)"), std::string::npos);
}

TEST(ParseEventXml, FlattensUserData) {
  const std::string xml = MinimalEvent("", R"(<UserData>
    <CertGetCertificateChain xmlns="http://schemas.microsoft.com/win/2004/08/events">
      <Certificate fileRef="A.cer" subjectName="Microsoft Corporation"/>
      <ValidationTime>2011-01-25T23:50:52Z</ValidationTime>
      <CertificateChain>
        <ChainElement><RevocationInfo>
          <RevocationResult value="80092012">The revocation function was unable to check revocation for the certificate.</RevocationResult>
        </RevocationInfo></ChainElement>
      </CertificateChain>
      <Result value="0"/>
    </CertGetCertificateChain></UserData>)");
  const Result<ParsedEvent> r = ParseEventXml(xml);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->user_data_root, "CertGetCertificateChain");
  EXPECT_FALSE(r->user_data_truncated);
  ASSERT_NE(r->FindUserData("CertGetCertificateChain/Certificate/@subjectName"), nullptr);
  EXPECT_EQ(*r->FindUserData("CertGetCertificateChain/Certificate/@subjectName"),
            "Microsoft Corporation");
  EXPECT_EQ(*r->FindUserData("CertGetCertificateChain/ValidationTime"), "2011-01-25T23:50:52Z");
  EXPECT_EQ(*r->FindUserData("CertGetCertificateChain/CertificateChain/ChainElement/"
                             "RevocationInfo/RevocationResult/@value"),
            "80092012");
  EXPECT_EQ(*r->FindUserDataSuffix("RevocationResult"),
            "The revocation function was unable to check revocation for the certificate.");
  // Suffixes match at a '/': "Result/@value" is not ".../RevocationResult/@value".
  EXPECT_EQ(*r->FindUserDataSuffix("Result/@value"), "0");
  EXPECT_EQ(*r->FindUserDataSuffix("RevocationResult/@value"), "80092012");
  EXPECT_EQ(*r->FindUserData("CertGetCertificateChain/Result/@value"), "0");
  EXPECT_EQ(r->FindUserDataSuffix("esult/@value"), nullptr);  // '/' boundary
  // xmlns attributes are not data.
  for (const NamedValue& v : r->user_data) EXPECT_EQ(v.name.find("xmlns"), std::string::npos);
}

TEST(ParseEventXml, UnnamedDataKeepsOrderAndBinary) {
  const std::string xml = MinimalEvent("", R"(<EventData><Data>first</Data><Data/><Data>third</Data><Binary>0A0B</Binary></EventData>)");
  const Result<ParsedEvent> r = ParseEventXml(xml);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->event_data.size(), 3u);
  EXPECT_EQ(*r->DataAt(0), "first");
  EXPECT_EQ(*r->DataAt(1), "");
  EXPECT_EQ(*r->DataAt(2), "third");
  EXPECT_EQ(r->DataAt(3), nullptr);
  EXPECT_EQ(r->binary_data, "0A0B");
}

TEST(ParseEventXml, AcceptsDeclarationCommentAndPreamble) {
  const std::string xml = "Record 7 of 9\n<?xml version=\"1.0\" encoding=\"IBM437\"?>\n"
                          "<!-- rendered -->\n" + MinimalEvent("") + "\n";
  const Result<ParsedEvent> r = ParseEventXml(xml);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->provider_name, "P");
}

TEST(ParseEventXml, MissingNamespaceIsAccepted) {
  const Result<ParsedEvent> r =
      ParseEventXml("<Event><System><Provider Name=\"P\"/><EventID>9</EventID></System></Event>");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->event_id, 9u);
}

// ---- Malformed input: an error, never a crash or an exception. ----

void ExpectError(std::string_view xml, std::string_view fragment) {
  const Result<ParsedEvent> r = ParseEventXml(xml);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(fragment), std::string::npos) << r.error();
}

TEST(ParseEventXmlMalformed, Truncated) {
  const std::string full = kAutoEnrollment6;
  for (size_t cut : {size_t{10}, size_t{100}, full.size() / 2, full.size() - 3}) {
    const Result<ParsedEvent> r = ParseEventXml(std::string_view(full).substr(0, cut));
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
  }
  ExpectError(std::string_view(full).substr(0, full.size() / 2), "malformed XML");
}

TEST(ParseEventXmlMalformed, WrongNamespace) {
  ExpectError("<Event xmlns=\"http://example.com/not-events\"><System><Provider Name=\"P\"/>"
              "<EventID>1</EventID></System></Event>",
              "namespace");
}

TEST(ParseEventXmlMalformed, NoSystem) {
  ExpectError("<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">"
              "<EventData><Data>x</Data></EventData></Event>",
              "no <System>");
}

TEST(ParseEventXmlMalformed, NoProviderOrEventId) {
  ExpectError("<Event><System><EventID>1</EventID></System></Event>", "Provider");
  ExpectError("<Event><System><Provider Name=\"P\"/></System></Event>", "no <EventID>");
}

TEST(ParseEventXmlMalformed, NonNumericFields) {
  ExpectError("<Event><System><Provider Name=\"P\"/><EventID>12a</EventID></System></Event>",
              "EventID");
  ExpectError("<Event><System><Provider Name=\"P\"/><EventID>-1</EventID></System></Event>",
              "EventID");
  ExpectError("<Event><System><Provider Name=\"P\"/><EventID>70000</EventID></System></Event>",
              "exceeds 65535");
  ExpectError("<Event><System><Provider Name=\"P\"/><EventID>99999999999999999999999</EventID>"
              "</System></Event>",
              "EventID");
  ExpectError(MinimalEvent("<Level>high</Level>"), "Level");
  ExpectError(MinimalEvent("<EventRecordID>1e5</EventRecordID>"), "EventRecordID");
  ExpectError(MinimalEvent("<Keywords>0xZZ</Keywords>"), "Keywords");
  ExpectError(MinimalEvent("<TimeCreated SystemTime=\"yesterday\"/>"), "TimeCreated");
  ExpectError(MinimalEvent("<Execution ProcessID=\"x\"/>"), "ProcessID");
}

TEST(ParseEventXmlMalformed, BinaryGarbage) {
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245u + 12345u;
    garbage.push_back(static_cast<char>(x >> 24));
  }
  EXPECT_FALSE(ParseEventXml(garbage).ok());
  // Garbage after a valid start tag.
  EXPECT_FALSE(ParseEventXml("<Event>" + garbage).ok());
  EXPECT_FALSE(ParseEventXml(std::string("<Event>\0\0\0</Event>", 18)).ok());
  EXPECT_FALSE(ParseEventXml("").ok());
}

TEST(ParseEventXmlMalformed, InputAboveOneMebibyte) {
  std::string big = MinimalEvent("", "<EventData><Data>");
  big.append(2u << 20, 'a');
  big += "</Data></EventData></Event>";
  ExpectError(big, "exceeds the limit");
}

TEST(ParseEventXmlMalformed, DeeplyNestedUserDataIsBounded) {
  std::string body = "<UserData>";
  constexpr int kDepth = 100000;  // ~1 MB of markup under the cap
  for (int i = 0; i < kDepth; ++i) body += "<a>";
  body += "x";
  for (int i = 0; i < kDepth; ++i) body += "</a>";
  body += "</UserData>";
  const std::string xml = MinimalEvent("", body);
  ASSERT_LE(xml.size(), kMaxEventXmlBytes);
  const Result<ParsedEvent> r = ParseEventXml(xml);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->user_data_truncated);
  EXPECT_TRUE(r->user_data.empty());  // the text sits deeper than the cap
}

TEST(ParseEventXmlMalformed, ManyUserDataEntriesAreBounded) {
  std::string body = "<UserData><Root>";
  for (int i = 0; i < 10000; ++i) body += "<E v=\"" + std::to_string(i) + "\"/>";
  body += "</Root></UserData>";
  const Result<ParsedEvent> r = ParseEventXml(MinimalEvent("", body));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->user_data_truncated);
  EXPECT_EQ(r->user_data.size(), kMaxUserDataEntries);
}

TEST(ParseEventXmlMalformed, TwoEventsAreRejected) {
  ExpectError("<Events>" + MinimalEvent("") + MinimalEvent("") + "</Events>",
              "SplitEventRecords");
}

// ---- Splitting and times. ----

TEST(SplitEventRecords, SkipsEventsWrapperAndSimilarNames) {
  const std::string text = "<?xml version=\"1.0\"?>\n<Events>\n<Event a=\"1\"><EventData>"
                           "<Data/></EventData><EventID>1</EventID></Event>\n"
                           "<Event/>\n<Event>\n<x/></Event></Events>";
  const std::vector<std::string_view> records = SplitEventRecords(text);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].substr(0, 14), "<Event a=\"1\"><");
  EXPECT_EQ(records[0].substr(records[0].size() - 8), "</Event>");
  EXPECT_EQ(records[1], "<Event/>");
  EXPECT_EQ(records[2], "<Event>\n<x/></Event>");
}

TEST(SplitEventRecords, UnterminatedLastRecordIsReturned) {
  const std::vector<std::string_view> records =
      SplitEventRecords("<Event><System></System></Event><Event><System>");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1], "<Event><System>");
  EXPECT_FALSE(ParseEventXml(records[1]).ok());
}

TEST(EventTime, ParsesTheRenderings) {
  const auto t1 = ParseEventTime("2017-05-19T02:02:36.000000000Z");
  ASSERT_TRUE(t1.has_value());
  EXPECT_EQ(t1->time_since_epoch().count(), 1495159356000000000LL);
  const auto t2 = ParseEventTime("2023-11-27T02:07:57.5609376Z");
  ASSERT_TRUE(t2.has_value());
  EXPECT_EQ(FormatEventTime(*t2), "2023-11-27T02:07:57.5609376Z");
  const auto t3 = ParseEventTime("2025-12-10T10:14:10.7048398+01:00");
  ASSERT_TRUE(t3.has_value());
  EXPECT_EQ(FormatEventTime(*t3), "2025-12-10T09:14:10.7048398Z");
  EXPECT_EQ(FormatEventTime(*ParseEventTime("2016-12-01T03:09:55Z")), "2016-12-01T03:09:55Z");
  EXPECT_EQ(FormatEventTime(*ParseEventTime("2024-02-29T00:00:00Z")), "2024-02-29T00:00:00Z");
  EXPECT_EQ(FormatEventTime(*ParseEventTime("1969-12-31T23:59:59.5Z")),
            "1969-12-31T23:59:59.5Z");
}

TEST(EventTime, RejectsMalformed) {
  for (std::string_view bad :
       {"", "2017-05-19", "2017-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2017-05-19T24:00:00Z",
        "2017-05-19T02:02:36.Z", "2017-05-19T02:02:36Zjunk", "1601-01-01T00:00:00Z",
        "2017-05-19T02:02:36+1:00", "２０１７-05-19T02:02:36Z"}) {
    EXPECT_FALSE(ParseEventTime(bad).has_value()) << bad;
  }
}

TEST(Numbers, NeverThrowAndRejectJunk) {
  EXPECT_EQ(ParseDecimalU64(" 42 "), 42u);
  EXPECT_EQ(ParseDecimalU64("18446744073709551615"), 18446744073709551615ull);
  EXPECT_FALSE(ParseDecimalU64("18446744073709551616").has_value());
  EXPECT_FALSE(ParseDecimalU64("-1").has_value());
  EXPECT_FALSE(ParseDecimalU64("4 2").has_value());
  EXPECT_FALSE(ParseDecimalU64("").has_value());
  EXPECT_EQ(ParseHexU64("0x8080000000000000"), 0x8080000000000000ull);
  EXPECT_EQ(ParseHexU64("ff"), 0xFFu);
  EXPECT_FALSE(ParseHexU64("0x").has_value());
  EXPECT_FALSE(ParseHexU64("0xfg").has_value());
}

}  // namespace
}  // namespace pkiwatch::eventlog
