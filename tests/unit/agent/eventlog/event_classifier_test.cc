#include "agent/eventlog/event_classifier.h"

#include <string>
#include <vector>

#include "agent/eventlog/error_text.h"
#include "agent/eventlog/event_xml.h"
#include "agent/eventlog/message_template.h"
#include "gtest/gtest.h"
#include "tests/unit/agent/eventlog/fixture_files.h"

namespace pkiwatch::eventlog {
namespace {

using testing::Between;

constexpr char kCapi2[] = "Microsoft-Windows-CAPI2";
constexpr char kCertEnroll[] = "Microsoft-Windows-CertificateServicesClient-CertEnroll";
constexpr char kAutoEnrollment[] = "Microsoft-Windows-CertificateServicesClient-AutoEnrollment";
constexpr char kCa[] = "Microsoft-Windows-CertificationAuthority";

// An event with only RenderingInfo/Message (Event Viewer text, forwarded
// events): the classifier's message-text path.
ParsedEvent MessageOnly(std::string provider, uint32_t id, uint32_t level, std::string message) {
  ParsedEvent e;
  e.provider_name = std::move(provider);
  e.event_id = id;
  e.level = level;
  e.channel = "Application";
  e.message = std::move(message);
  return e;
}

// Escapes text for an XML element.
std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      default: out += c;
    }
  }
  return out;
}

// A classic Application-log CAPI2 record in the DeepBlueCLI fixture's shape.
std::string ClassicCapi2(uint32_t id, uint64_t record, std::string_view time,
                         const std::vector<std::string>& data) {
  std::string xml =
      "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
      "<Provider Name=\"Microsoft-Windows-CAPI2\" Guid=\"{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}\" "
      "EventSourceName=\"Microsoft-Windows-CAPI2\"/><EventID Qualifiers=\"0\">" +
      std::to_string(id) + "</EventID><Level>2</Level><Keywords>0x80000000000000</Keywords>"
      "<TimeCreated SystemTime=\"" + std::string(time) + "\"/><EventRecordID>" +
      std::to_string(record) + "</EventRecordID><Channel>Application</Channel>"
      "<Computer>HOST1</Computer><Security/></System><EventData>";
  for (const std::string& d : data) xml += "<Data>" + XmlEscape(d) + "</Data>";
  return xml + "</EventData></Event>";
}

// ---- CAPI2 4107 (classic Application log). ----

// The URL and error text of the 4107 quoted in the MicrosoftDocs article.
struct Doc4107 {
  std::string url;
  std::string error;
};

std::optional<Doc4107> Load4107(const std::string& doc) {
  const std::string line = Between(doc, "Failed extract of third-party root list", "\n");
  const size_t lt = line.find('<'), gt = line.find('>');
  const size_t err = line.find("with error: ");
  if (lt == std::string::npos || gt == std::string::npos || err == std::string::npos) {
    return std::nullopt;
  }
  std::string error = line.substr(err + 12);
  while (!error.empty() && (error.back() == ' ' || error.back() == '\r')) error.pop_back();
  return Doc4107{line.substr(lt + 1, gt - lt - 1), error};
}

TEST(ClassifyCapi2, Event4107FromTheDocsArticle) {
  PKIWATCH_LOAD_EVENT_FIXTURE(doc, "docs/MicrosoftDocs-SupportArticles_event-id-4107-or-event-id-11-is-logged.txt");
  const std::optional<Doc4107> d = Load4107(doc);
  ASSERT_TRUE(d.has_value());
  const Result<ParsedEvent> e =
      ParseEventXml(ClassicCapi2(4107, 100, "2024-01-01T10:00:00.1Z", {d->url, d->error}));
  ASSERT_TRUE(e.ok()) << e.error();
  const EventResult r = ClassifyEvent(*e);
  EXPECT_EQ(r.family, EventFamily::kCapi2);
  EXPECT_EQ(r.status, EventStatus::kFail);
  EXPECT_EQ(r.hresult, 0x800B0101u);  // CERT_E_EXPIRED, from the text
  EXPECT_EQ(r.url,
            "http://www.download.windowsupdate.com/msdownload/update/v3/static/trustedr/en/"
            "authrootstl.cab");
  EXPECT_EQ(r.url_kind, UrlKind::kAuthroot);
  EXPECT_NE(r.summary.find("Failed extract of third-party root list"), std::string::npos);
  EXPECT_NE(r.summary.find("CERT_E_EXPIRED"), std::string::npos) << r.summary;

  // The old event 11 with the same text, and the Event Viewer text alone.
  const Result<ParsedEvent> e11 =
      ParseEventXml(ClassicCapi2(11, 7, "2024-01-01T10:00:00Z", {d->url, d->error}));
  ASSERT_TRUE(e11.ok());
  EXPECT_EQ(ClassifyEvent(*e11).hresult, 0x800B0101u);
  const std::string text = Between(doc, "Failed extract", "\n");
  const EventResult m = ClassifyEvent(MessageOnly(kCapi2, 4107, 2, text));
  EXPECT_EQ(m.url, r.url);
  EXPECT_EQ(m.hresult, 0x800B0101u);
  EXPECT_EQ(m.status, EventStatus::kFail);
}

TEST(ClassifyCapi2, FloodOf4107SharesOnePatternKey) {
  const std::string url = "http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab";
  const std::string err = "A required certificate is not within its validity period when "
                          "verifying against the current system clock or the timestamp in the "
                          "signed file.";
  const EventResult a = ClassifyEvent(
      *ParseEventXml(ClassicCapi2(4107, 1, "2024-01-01T10:00:00Z", {url, err})));
  const EventResult b = ClassifyEvent(
      *ParseEventXml(ClassicCapi2(4107, 99999, "2024-03-05T23:59:59.999Z", {url, err})));
  EXPECT_EQ(a.pattern_key, b.pattern_key);
  EXPECT_NE(a.record_id, b.record_id);
  // Another URL or another error is another pattern.
  const EventResult c = ClassifyEvent(*ParseEventXml(
      ClassicCapi2(4107, 2, "2024-01-01T10:00:00Z", {url + "x", err})));
  EXPECT_NE(a.pattern_key, c.pattern_key);
  const EventResult d = ClassifyEvent(*ParseEventXml(ClassicCapi2(
      4107, 3, "2024-01-01T10:00:00Z",
      {url, "The revocation function was unable to check revocation because the revocation "
            "server was offline."})));
  EXPECT_NE(a.pattern_key, d.pattern_key);
  EXPECT_EQ(d.hresult, 0x80092013u);
}

TEST(ClassifyCapi2, ClassicRetrievalFailuresAndCrlPrefetch) {
  const EventResult r4101 = ClassifyEvent(*ParseEventXml(ClassicCapi2(
      4101, 1, "2024-01-01T10:00:00Z",
      {"http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/x.crt",
       "This network connection does not exist."})));
  EXPECT_EQ(r4101.status, EventStatus::kFail);
  EXPECT_EQ(r4101.hresult, 0u);  // text not in the fixture-quoted table: kept as text
  EXPECT_EQ(r4101.error_text, "This network connection does not exist.");
  const EventResult r4129 = ClassifyEvent(*ParseEventXml(ClassicCapi2(
      4129, 1, "2024-01-01T10:00:00Z",
      {"http://pki.example.com/ca.crl", "The revocation function was unable to check "
                                        "revocation for the certificate."})));
  EXPECT_EQ(r4129.url_kind, UrlKind::kCdp);
  EXPECT_EQ(r4129.hresult, 0x80092012u);
}

// ---- CAPI2/Operational URL retrieval failures (task RetrieveObjectfromNetwork). ----

// An event 53 in the shape of the ShadowCopy fixture records.
std::string Capi2Event53(std::string_view result, std::string_view action_error) {
  std::string xml =
      "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
      "<Provider Name=\"Microsoft-Windows-CAPI2\"/><EventID>53</EventID><Level>2</Level>"
      "<Task>53</Task><TimeCreated SystemTime=\"2018-08-07T17:15:55.2962478Z\"/>"
      "<EventRecordID>485</EventRecordID><Channel>Microsoft-Windows-CAPI2/Operational</Channel>"
      "</System><UserData><CryptRetrieveObjectByUrlWire>"
      "<URL scheme=\"http\">http://pki.corp.example/CertEnroll/Corp%20Issuing%20CA.crl</URL>"
      "<Object type=\"CONTEXT_OID_CRL\" constant=\"2\"/><AdditionalInfo>"
      "<Action name=\"ProxyListAndByPassList\" parameter1=\"172.16.4.10:8080\"/>";
  if (!action_error.empty()) {
    xml += "<Action name=\"WriteToCache\"><Error value=\"" + std::string(action_error) +
           "\">The system cannot find the file specified.</Error></Action>";
  }
  return xml + "</AdditionalInfo><Result value=\"" + std::string(result) +
         "\"/></CryptRetrieveObjectByUrlWire></UserData></Event>";
}

TEST(ClassifyCapi2, Event53UrlFailureAndCacheWarning) {
  const EventResult fail = ClassifyEvent(*ParseEventXml(Capi2Event53("80072EE2", "")));
  EXPECT_EQ(fail.status, EventStatus::kFail);
  EXPECT_EQ(fail.hresult, 0x80072EE2u);
  EXPECT_EQ(fail.url, "http://pki.corp.example/CertEnroll/Corp%20Issuing%20CA.crl");
  EXPECT_EQ(fail.url_kind, UrlKind::kCdp);

  // A failed retrieval with a failed follow-up action is a URL failure.
  const EventResult both = ClassifyEvent(*ParseEventXml(Capi2Event53("80092013", "80070002")));
  EXPECT_EQ(both.status, EventStatus::kFail);
  EXPECT_EQ(both.hresult, 0x80092013u);

  const EventResult cache = ClassifyEvent(*ParseEventXml(Capi2Event53("0", "80070002")));
  EXPECT_EQ(cache.status, EventStatus::kWarn);
  EXPECT_EQ(cache.hresult, 0x80070002u);
  EXPECT_NE(cache.pattern_key, fail.pattern_key);
}

// ---- CertEnroll (rendered text samples). ----

class CertEnrollSamples : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = testing::EventsDir() / "docs/CertEnroll_rendered-event-samples.txt";
    std::optional<std::string> text = testing::ReadFixture(path);
    if (!text) GTEST_SKIP() << "fixture not found: " << path.string();
    text_ = std::move(*text);
  }
  std::string text_;
};

TEST_F(CertEnrollSamples, Event86OneLineRendering) {
  const std::string msg =
      Between(text_, "SCEP Certificate enrollment initialization for INTRA\\rudi", "\n");
  ASSERT_FALSE(msg.empty());
  const EventResult r = ClassifyEvent(MessageOnly(kCertEnroll, 86, 2, msg));
  EXPECT_EQ(r.family, EventFamily::kCertEnroll);
  EXPECT_EQ(r.status, EventStatus::kFail);
  EXPECT_EQ(r.url, "https://ndes01.intra.adcslabor.de/certsrv/mscep/mscep.dll/pkiclient.exe");
  EXPECT_EQ(r.url_kind, UrlKind::kNdes);
  EXPECT_EQ(r.hresult, 0x80072F8Fu);
  EXPECT_EQ(r.error_text, "A security error occurred");
  EXPECT_EQ(r.ndes_stage, "GetCACaps");
  EXPECT_EQ(r.ndes_method, "GET(47ms)");
  EXPECT_EQ(r.context, EnrollContext::kUser);
  EXPECT_EQ(r.context_text, "INTRA\\rudi");
  EXPECT_NE(r.summary.find("ERROR_WINHTTP_SECURE_FAILURE"), std::string::npos) << r.summary;
}

TEST_F(CertEnrollSamples, Event86MultiLineRendering) {
  const std::string msg = Between(text_, "SCEP Certificate enrollment initialization for domain\\eltjo", "");
  ASSERT_FALSE(msg.empty());
  const EventResult r = ClassifyEvent(MessageOnly(kCertEnroll, 86, 2, msg));
  EXPECT_EQ(r.url, "https://fqdnremoved/scep/atit-ch/pkiclient.exe");
  EXPECT_EQ(r.hresult, 0x80072F78u);
  EXPECT_EQ(r.ndes_stage, "GetCACaps");
  EXPECT_EQ(r.ndes_method, "GET(78ms)");
  EXPECT_EQ(r.error_text, "The server returned an invalid or unrecognized response");
}

TEST_F(CertEnrollSamples, Event86TruncatedTpmAttestationExcerpt) {
  // "... for WORKGROUP\CLIENT1$ via https://...microsoftaik.azure.net/...:"
  // with "Phase:" and no error line: the lenient reader still finds the URL.
  const std::string msg = Between(text_, "... for WORKGROUP", "The serv");
  ASSERT_FALSE(msg.empty());
  const EventResult r = ClassifyEvent(MessageOnly(kCertEnroll, 86, 2, msg));
  EXPECT_EQ(r.url,
            "https://IFX-KeyId-18b1af70b93f991972f362556a9a3fbf4bb24e0d.microsoftaik.azure.net/"
            "templates/Aik/scep");
  EXPECT_EQ(r.ndes_stage, "GetCACaps");
  EXPECT_EQ(r.ndes_method, "GET(15ms)");
  EXPECT_EQ(r.context, EnrollContext::kMachine);
  EXPECT_EQ(r.status, EventStatus::kFail);
}

TEST_F(CertEnrollSamples, Event87KeyLength) {
  const std::string msg = Between(text_, "SCEP Certificate enrollment for INTRA\\rudi", "----");
  ASSERT_FALSE(msg.empty());
  const EventResult r = ClassifyEvent(MessageOnly(kCertEnroll, 87, 2, msg));
  EXPECT_EQ(r.url, "http://ndes01.intra.adcslabor.de/certsrv/mscep/mscep.dll/pkiclient.exe");
  EXPECT_EQ(r.hresult, 0x80094811u);
  EXPECT_EQ(r.error_text,
            "The public key does not meet the minimum size required by the specified "
            "certificate template.");
}

TEST_F(CertEnrollSamples, Events64And65) {
  const std::string m64 =
      Between(text_, "Certificate enrollment for Local system successfully load policy", "\n");
  const EventResult r64 = ClassifyEvent(MessageOnly(kCertEnroll, 64, 4, m64));
  EXPECT_EQ(r64.status, EventStatus::kOk);
  EXPECT_EQ(r64.context, EnrollContext::kMachine);
  EXPECT_EQ(r64.context_text, "Local system");

  const std::string m65 = Between(text_, "Certificate enrollment for Local system is successfully", "\n");
  const EventResult r65 = ClassifyEvent(MessageOnly(kCertEnroll, 65, 4, m65));
  EXPECT_EQ(r65.status, EventStatus::kOk);
  EXPECT_EQ(r65.context, EnrollContext::kMachine);
  EXPECT_EQ(r65.detail, "policy server {AFD04357-74D7-47B3-82BC-BBE76F4E6F3D}");
}

TEST(ClassifyCertEnroll, NamedDataEvent13And82) {
  ParsedEvent e;
  e.provider_name = kCertEnroll;
  e.event_id = 13;
  e.level = 2;
  e.event_data = {{"Context", "Local system"},
                  {"TemplateName", "Machine"},
                  {"CA", "ca01.corp.example\\Corp Issuing CA"},
                  {"RequestId", "4711"},
                  {"ErrorCode", "The RPC server is unavailable. 0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE)"}};
  const EventResult r = ClassifyEvent(e);
  EXPECT_EQ(r.status, EventStatus::kFail);
  EXPECT_EQ(r.template_name, "Machine");
  EXPECT_EQ(r.ca, "ca01.corp.example\\Corp Issuing CA");
  EXPECT_EQ(r.request_id, "4711");
  EXPECT_EQ(r.hresult, 0x800706BAu);
  EXPECT_EQ(r.error_text, "The RPC server is unavailable.");
  EXPECT_EQ(r.context, EnrollContext::kMachine);
  // The request id is record-specific: not part of the pattern.
  EXPECT_EQ(r.pattern_key.find("4711"), std::string::npos) << r.pattern_key;

  // Classic positional <Data> in the manifest's field order.
  ParsedEvent c = e;
  for (NamedValue& d : c.event_data) d.name.clear();
  const EventResult rc = ClassifyEvent(c);
  EXPECT_EQ(rc.template_name, "Machine");
  EXPECT_EQ(rc.hresult, 0x800706BAu);
  EXPECT_EQ(rc.pattern_key, r.pattern_key);

  ParsedEvent e82;
  e82.provider_name = kCertEnroll;
  e82.event_id = 82;
  e82.level = 3;
  e82.message = "Certificate enrollment for Local system failed in authentication to all urls "
                "for enrollment server associated with policy id: {AFD04357-74D7-47B3-82BC-"
                "BBE76F4E6F3D} (0x80072ee2). Failed to enroll for template: WebServer";
  const EventResult r82 = ClassifyEvent(e82);
  EXPECT_EQ(r82.status, EventStatus::kFail);
  EXPECT_EQ(r82.template_name, "WebServer");
  EXPECT_EQ(r82.hresult, 0x80072EE2u);
}

// ---- AutoEnrollment 6 (detection-wiki JSON, fields and XML shape). ----

// The string value of "key" in the flat JSON excerpt, unescaped (\r, \n,
// \", \\).
std::string JsonString(const std::string& json, const std::string& key) {
  const std::string marker = "\"" + key + "\": \"";
  const size_t start = json.find(marker);
  if (start == std::string::npos) return {};
  std::string out;
  for (size_t i = start + marker.size(); i < json.size() && json[i] != '"'; ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) {
      const char c = json[++i];
      out += c == 'r' ? '\r' : c == 'n' ? '\n' : c;
    } else {
      out += json[i];
    }
  }
  return out;
}

TEST(ClassifyAutoEnrollment, Event6FromTheDetectionWikiJson) {
  PKIWATCH_LOAD_EVENT_FIXTURE(json, "docs/detection-wiki_AutoEnrollment-6_0x8007054b.json");
  ParsedEvent e;
  e.provider_name = JsonString(json, "provider");
  e.event_id = 6;
  e.level = 2;
  e.channel = JsonString(json, "channel");
  e.computer = JsonString(json, "computer");
  e.time_created = ParseEventTime(JsonString(json, "time_created"));
  e.event_data = {{"Context", JsonString(json, "Context")},
                  {"ErrorCode", JsonString(json, "ErrorCode")},
                  {"ErrorMsg", JsonString(json, "ErrorMsg")}};
  ASSERT_EQ(e.provider_name, kAutoEnrollment);
  ASSERT_TRUE(e.time_created.has_value());
  const EventResult r = ClassifyEvent(e);
  EXPECT_EQ(r.family, EventFamily::kAutoEnrollment);
  EXPECT_EQ(r.status, EventStatus::kFail);
  EXPECT_EQ(r.hresult, 0x8007054Bu);
  EXPECT_EQ(r.error_text, "The specified domain either does not exist or could not be contacted.");
  EXPECT_EQ(r.context, EnrollContext::kMachine);
  EXPECT_EQ(r.computer, "WIN-FPV0DSIC9O6.lab.local");
  EXPECT_NE(r.summary.find("ERROR_NO_SUCH_DOMAIN"), std::string::npos) << r.summary;

  // The same event as XML with only its message (the JSON's "message").
  const std::string message = JsonString(json, "message");
  ASSERT_FALSE(message.empty());
  const std::string xml =
      "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
      "<Provider Name=\"" + e.provider_name + "\"/><EventID>6</EventID><Level>2</Level>"
      "<EventRecordID>112</EventRecordID><Channel>Application</Channel></System>"
      "<RenderingInfo Culture=\"en-US\"><Message>" + XmlEscape(message) +
      "</Message></RenderingInfo></Event>";
  const Result<ParsedEvent> parsed = ParseEventXml(xml);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const EventResult m = ClassifyEvent(*parsed);
  EXPECT_EQ(m.hresult, 0x8007054Bu);
  EXPECT_EQ(m.context, EnrollContext::kMachine);
  EXPECT_EQ(m.pattern_key, r.pattern_key);
}

TEST(ClassifyAutoEnrollment, RunEventsAndExpiry) {
  for (uint32_t id : {2u, 3u, 4u, 5u}) {
    ParsedEvent e;
    e.provider_name = kAutoEnrollment;
    e.event_id = id;
    e.level = 4;
    e.event_data = {{"Context", "local system"}};
    const EventResult r = ClassifyEvent(e);
    EXPECT_EQ(r.status, EventStatus::kOk) << id;
    EXPECT_EQ(r.context, EnrollContext::kMachine);
  }
  const EventResult r15 = ClassifyEvent(MessageOnly(
      kAutoEnrollment, 15, 3,
      "Automatic certificate enrollment for local system failed to contact the active directory "
      "(0x8007054b). The specified domain either does not exist or could not be contacted. "
      "Enrollment will not be performed."));
  EXPECT_EQ(r15.status, EventStatus::kFail);
  EXPECT_EQ(r15.hresult, 0x8007054Bu);
  const EventResult r64 = ClassifyEvent(MessageOnly(
      kAutoEnrollment, 64, 3,
      "Certificate for local system with Thumbprint 3cd6b0efaf68549efe9ed2316426fcd7ff81a6a8 is "
      "about to expire or already expired."));
  EXPECT_EQ(r64.status, EventStatus::kWarn);
  EXPECT_NE(r64.detail.find("3cd6b0efaf68549efe9ed2316426fcd7ff81a6a8"), std::string::npos);
}

// ---- CertificationAuthority 53 and 100 (rendered samples). ----

class CaSamples : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = testing::EventsDir() / "docs/CertificationAuthority_rendered-event-samples.txt";
    std::optional<std::string> text = testing::ReadFixture(path);
    if (!text) GTEST_SKIP() << "fixture not found: " << path.string();
    text_ = std::move(*text);
  }
  std::string text_;
};

TEST_F(CaSamples, Event53TemplateDenied) {
  const std::string msg = Between(text_, "Active Directory Certificate Services denied request 168", "\n");
  ASSERT_FALSE(msg.empty());
  const EventResult r = ClassifyEvent(MessageOnly(kCa, 53, 3, msg));
  EXPECT_EQ(r.family, EventFamily::kCertificationAuthority);
  EXPECT_EQ(r.status, EventStatus::kFail);
  EXPECT_EQ(r.hresult, 0x80094012u);
  EXPECT_EQ(r.request_id, "168");
  EXPECT_EQ(r.subject, "INTRA\\WEB01$");
  EXPECT_EQ(r.error_text,
            "The permissions on the certificate template do not allow the current user to enroll "
            "for this type of certificate.");
  EXPECT_NE(r.summary.find("CERTSRV_E_TEMPLATE_DENIED"), std::string::npos) << r.summary;

  // Named fields (EvtRender of the real event) give the same result and key.
  ParsedEvent e;
  e.provider_name = kCa;
  e.event_id = 53;
  e.level = 3;
  e.event_data = {{"RequestId", "169"},
                  {"Reason", "The permissions on the certificate template do not allow the "
                             "current user to enroll for this type of certificate. 0x80094012 "
                             "(-2146877422 CERTSRV_E_TEMPLATE_DENIED)"},
                  {"SubjectName", "INTRA\\WEB02$"},
                  {"AdditionalInformation", "Denied by Policy Module"}};
  const EventResult n = ClassifyEvent(e);
  EXPECT_EQ(n.hresult, 0x80094012u);
  EXPECT_EQ(n.pattern_key, r.pattern_key);
}

TEST_F(CaSamples, Event53OtherReasons) {
  const std::vector<std::pair<std::string, uint32_t>> cases = {
      {"denied request 146", 0x80094811u},
      {"denied request 799", 0x80090020u},
      {"denied request 798", 0x80090006u},
  };
  for (const auto& [marker, code] : cases) {
    const std::string msg = Between(text_, "Active Directory Certificate Services " + marker, "\n");
    ASSERT_FALSE(msg.empty()) << marker;
    const EventResult r = ClassifyEvent(MessageOnly(kCa, 53, 3, msg));
    EXPECT_EQ(r.hresult, code) << marker;
    EXPECT_EQ(r.status, EventStatus::kFail);
  }
}

TEST_F(CaSamples, Event100RevocationOffline) {
  const std::string msg = Between(text_, "Active Directory Certificate Services did not start: Could not load", "\n");
  ASSERT_FALSE(msg.empty());
  const EventResult r = ClassifyEvent(MessageOnly(kCa, 100, 2, msg));
  EXPECT_EQ(r.status, EventStatus::kFail);
  EXPECT_EQ(r.hresult, 0x80092013u);
  EXPECT_EQ(r.ca, "Technology Toolbox Issuing Certificate Authority 01");
  EXPECT_EQ(r.error_text,
            "The revocation function was unable to check revocation because the revocation "
            "server was offline.");
}

TEST_F(CaSamples, Events21And51) {
  const std::string m21 = Between(text_, "could not process request 769", "\n");
  const EventResult r21 = ClassifyEvent(
      MessageOnly(kCa, 21, 2, "Active Directory Certificate Services " + m21));
  EXPECT_EQ(r21.hresult, 0x80094009u);
  EXPECT_EQ(r21.request_id, "769");
  const std::string m51 = Between(text_, "A certificate in the chain for CA certificate 0", "\n");
  const EventResult r51 = ClassifyEvent(MessageOnly(kCa, 51, 2, m51));
  EXPECT_EQ(r51.hresult, 0x80092010u);
  EXPECT_EQ(r51.ca, "ADCS Labor Issuing CA 3");
}

// ---- Other providers. ----

TEST(ClassifyOther, UnknownProviderIsNotPkiRelevant) {
  ParsedEvent e;
  e.provider_name = "MsiInstaller";
  e.event_id = 1033;
  e.level = 4;
  e.event_data = {{"", "Windows Installer installed the product. Product Name: X. Version: 1.2.3."}};
  const EventResult r = ClassifyEvent(e);
  EXPECT_EQ(r.family, EventFamily::kOther);
  EXPECT_FALSE(r.pki_relevant);
  EXPECT_EQ(r.status, EventStatus::kOk);
  EXPECT_EQ(r.pattern_key.find("1.2.3"), std::string::npos) << r.pattern_key;
}

// ---- Helpers. ----

TEST(MessageTemplate, MatchesInsertsAndLineBreaks) {
  const auto m = MatchMessageTemplate(
      "SCEP Certificate enrollment for %1 via %2 failed:%n%n%3%nMethod: %4%nStage: %5%n%6",
      "SCEP Certificate enrollment for A\\b via http://x/y failed:\r\n\r\nGetCACaps\r\n"
      "Method: GET(1ms)\r\nStage: GetCACaps\r\nThe error 0x80072f8f (x)");
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->size(), 7u);
  EXPECT_EQ((*m)[1], "A\\b");
  EXPECT_EQ((*m)[2], "http://x/y");
  EXPECT_EQ((*m)[3], "GetCACaps");
  EXPECT_EQ((*m)[4], "GET(1ms)");
  EXPECT_EQ((*m)[5], "GetCACaps");
  EXPECT_EQ((*m)[6], "The error 0x80072f8f (x)");
  EXPECT_FALSE(MatchMessageTemplate("Hello %1.", "Goodbye you.").has_value());
  // Closing literal anchored at the end; missing final period tolerated.
  EXPECT_EQ((*MatchMessageTemplate("error: %1.", "error: a. b. c."))[1], "a. b. c");
  EXPECT_EQ((*MatchMessageTemplate("error: %1.", "error: a"))[1], "a");
  // Printf-style specs and out-of-order inserts.
  const auto o = MatchMessageTemplate("%2!s! from %1!d!", "x from 7");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ((*o)[1], "7");
  EXPECT_EQ((*o)[2], "x");
}

TEST(ErrorText, ParsesCodesInAllForms) {
  EXPECT_EQ(ParseErrorCode("0x8007054b"), 0x8007054Bu);
  EXPECT_EQ(ParseErrorCode("0x80092013 (-2146885613 CRYPT_E_REVOCATION_OFFLINE)"), 0x80092013u);
  EXPECT_EQ(ParseErrorCode("-2146885613"), 0x80092013u);
  EXPECT_EQ(ParseErrorCode("2148081683"), 0x80092013u);
  EXPECT_EQ(ParseErrorCode("1722"), 1722u);
  EXPECT_EQ(ParseErrorCode("80092013", /*hex_without_prefix=*/true), 0x80092013u);
  EXPECT_EQ(ParseErrorCode("0", true), 0u);
  EXPECT_FALSE(ParseErrorCode("").has_value());
  EXPECT_FALSE(ParseErrorCode("abc").has_value());
  EXPECT_FALSE(ParseErrorCode("0x1FFFFFFFF").has_value());
  EXPECT_FALSE(ParseErrorCode("12ab").has_value());
  EXPECT_FALSE(ParseErrorCode("-99999999999").has_value());
  EXPECT_EQ(HresultFromWin32(1722), 0x800706BAu);
  EXPECT_EQ(FindHresultInText("occurred 0x80072f8f (WinHttp: 12175)"), 0x80072F8Fu);
  EXPECT_FALSE(FindHresultInText("0x123 and 0x1234567890").has_value());
  EXPECT_EQ(FormatHresult(0x800B0101u), "0x800B0101");
}

TEST(ErrorText, MatchesKnownTexts) {
  const KnownError* k = MatchErrorText(
      "  A required certificate is not within its validity period when verifying against the "
      "current system clock or the timestamp in the signed file.\r\n");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->code, 0x800B0101u);
  // DOMAIN.md's shortened form.
  k = MatchErrorText("A required certificate is not within its validity period...");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->name, "CERT_E_EXPIRED");
  EXPECT_EQ(MatchErrorText("Something else entirely happened here."), nullptr);
  EXPECT_EQ(MatchErrorText("A"), nullptr);
}

TEST(Helpers, ContextsKindsAndNormalization) {
  EXPECT_EQ(ParseEnrollContext("Local system"), EnrollContext::kMachine);
  EXPECT_EQ(ParseEnrollContext("WORKGROUP\\CLIENT1$"), EnrollContext::kMachine);
  EXPECT_EQ(ParseEnrollContext("INTRA\\rudi"), EnrollContext::kUser);
  EXPECT_EQ(ParseEnrollContext("?"), EnrollContext::kUnknown);
  EXPECT_EQ(GuessUrlKind("http://crl.example.com/ca.crl"), UrlKind::kCdp);
  EXPECT_EQ(GuessUrlKind("http://crl.example.com/ca+.crl"), UrlKind::kDeltaCdp);
  EXPECT_EQ(GuessUrlKind("http://pki.example.com/ca.crt"), UrlKind::kAia);
  EXPECT_EQ(GuessUrlKind("http://ocsp.example.com/"), UrlKind::kOcsp);
  EXPECT_EQ(GuessUrlKind("http://x/certsrv/mscep/mscep.dll"), UrlKind::kNdes);
  EXPECT_EQ(GuessUrlKind("http://ctldl.windowsupdate.com/a/authrootstl.cab"), UrlKind::kAuthroot);
  EXPECT_EQ(GuessUrlKind("ldap:///CN=CA,CN=CDP,CN=Public Key Services?certificateRevocationList"),
            UrlKind::kCdp);
  EXPECT_EQ(NormalizeForPattern("req 4711 at 2024-01-01T10:00:00.123Z task "
                                "{1CB1FE4B-D685-48FC-A3FA-42893E4C1717} hash "
                                "9617094A1CFB59AE7C1F7DFDB6739E4E7C40508F  end"),
            "req # at <time> task {guid} hash # end");
}

}  // namespace
}  // namespace pkiwatch::eventlog
