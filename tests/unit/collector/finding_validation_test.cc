#include "collector/ingest/finding_validation.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace pkiwatch::ingest {
namespace {

// Passes when `status` is InvalidArgument and its message contains `part`.
::testing::AssertionResult IsInvalid(const absl::Status& status,
                                     absl::string_view part) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure()
           << "expected InvalidArgument, got " << status;
  }
  if (!absl::StrContains(status.message(), part)) {
    return ::testing::AssertionFailure()
           << "\"" << status.message() << "\" does not contain \"" << part
           << "\"";
  }
  return ::testing::AssertionSuccess();
}

// A finding that passes validation.
v1::Finding ValidFinding() {
  v1::Finding f;
  f.set_probe("crl");
  f.set_target("http://pki.example/a.crl");
  f.mutable_observed_at()->set_seconds(1767225600);  // 2026-01-01
  f.mutable_observed_at()->set_nanos(123456789);
  f.mutable_duration()->set_seconds(1);
  f.set_status(v1::STATUS_OK);
  f.mutable_dimensions()->set_url("http://pki.example/a.crl");
  f.mutable_dimensions()->set_url_kind(v1::URL_KIND_CDP);
  f.set_summary("CRL valid for 6 more days");
  return f;
}

v1::SequencedFinding Wrap(const v1::Finding& f, uint64_t seq = 1) {
  v1::SequencedFinding item;
  item.set_seq(seq);
  item.set_finding(f.SerializeAsString());
  return item;
}

absl::Status Validate(const v1::Finding& f) {
  return ParseAndValidateFinding(Wrap(f)).status();
}

TEST(FindingValidationTest, ValidFindingPassesWithNormalizedUrl) {
  v1::Finding f = ValidFinding();
  f.mutable_dimensions()->set_url("HTTP://PKI.Example:80/a.crl");
  absl::StatusOr<v1::Finding> parsed = ParseAndValidateFinding(Wrap(f, 42));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->dimensions().url(), "http://pki.example/a.crl");
  // Everything else comes back as sent.
  EXPECT_EQ(parsed->probe(), "crl");
  EXPECT_EQ(parsed->target(), f.target());
  EXPECT_EQ(parsed->summary(), f.summary());
  EXPECT_EQ(parsed->observed_at().seconds(), 1767225600);
  EXPECT_EQ(parsed->observed_at().nanos(), 123456789);
  EXPECT_EQ(parsed->dimensions().url_kind(), v1::URL_KIND_CDP);
}

TEST(FindingValidationTest, EmptyUrlIsAllowed) {
  v1::Finding f = ValidFinding();
  f.mutable_dimensions()->clear_url();
  absl::StatusOr<v1::Finding> parsed = ParseAndValidateFinding(Wrap(f));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->dimensions().url(), "");
}

TEST(FindingValidationTest, SeqZeroIsRejected) {
  EXPECT_TRUE(IsInvalid(ParseAndValidateFinding(Wrap(ValidFinding(), 0)).status(),
                        "seq"));
}

TEST(FindingValidationTest, GarbageBytesAreRejected) {
  v1::SequencedFinding item;
  item.set_seq(1);
  // Field 1 with wire type 7 (invalid), then a truncated length prefix.
  item.set_finding(std::string("\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11));
  EXPECT_TRUE(IsInvalid(ParseAndValidateFinding(item).status(), "not a valid"));

  item.set_finding("\x12\x10short");  // target claims 16 bytes, has 5
  EXPECT_TRUE(IsInvalid(ParseAndValidateFinding(item).status(), "not a valid"));
}

TEST(FindingValidationTest, EmptyBytesFailOnMissingFields) {
  v1::SequencedFinding item;
  item.set_seq(1);
  // An empty message parses; it must then fail on its (empty) fields.
  EXPECT_EQ(ParseAndValidateFinding(item).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FindingValidationTest, InvalidUtf8InStringFieldIsRejected) {
  v1::Finding f = ValidFinding();
  f.set_summary("MARKERXY");
  std::string bytes = f.SerializeAsString();
  const size_t at = bytes.find("MARKERXY");
  ASSERT_NE(at, std::string::npos);
  // Same length, so the length prefix stays right: only the content is bad.
  bytes.replace(at, 8, std::string("MARK\xff\xfe\xc0\x80", 8));
  v1::SequencedFinding item;
  item.set_seq(1);
  item.set_finding(bytes);
  EXPECT_TRUE(IsInvalid(ParseAndValidateFinding(item).status(), "UTF-8"));
}

// Sets one text field of a finding to `value`; the field names are the ones
// the validator reports.
struct TextField {
  const char* name;
  size_t limit;
  void (*set)(v1::Finding*, const std::string&);
};

const TextField kTextFields[] = {
    {"target", kMaxUrlBytes,
     [](v1::Finding* f, const std::string& v) { f->set_target(v); }},
    {"dimensions.ca", kMaxNameBytes,
     [](v1::Finding* f, const std::string& v) {
       f->mutable_dimensions()->set_ca(v);
     }},
    {"summary", kMaxSummaryBytes,
     [](v1::Finding* f, const std::string& v) { f->set_summary(v); }},
    {"error.native_detail", kMaxDetailBytes,
     [](v1::Finding* f, const std::string& v) {
       f->mutable_error()->set_native_detail(v);
     }},
    {"error.message", kMaxSummaryBytes,
     [](v1::Finding* f, const std::string& v) {
       f->mutable_error()->set_message(v);
     }},
    {"dimensions.template_name", kMaxNameBytes,
     [](v1::Finding* f, const std::string& v) {
       f->mutable_dimensions()->set_template_name(v);
     }},
};

TEST(FindingValidationTest, TextFieldsAtTheirLimitPass) {
  for (const TextField& field : kTextFields) {
    SCOPED_TRACE(field.name);
    v1::Finding f = ValidFinding();
    field.set(&f, std::string(field.limit, 'x'));
    EXPECT_TRUE(Validate(f).ok()) << Validate(f);
  }
}

TEST(FindingValidationTest, TextFieldsOverTheirLimitAreRejected) {
  for (const TextField& field : kTextFields) {
    SCOPED_TRACE(field.name);
    v1::Finding f = ValidFinding();
    field.set(&f, std::string(field.limit + 1, 'x'));
    const absl::Status status = Validate(f);
    EXPECT_TRUE(IsInvalid(status, field.name));
    EXPECT_TRUE(IsInvalid(status, std::to_string(field.limit + 1)));
  }
}

TEST(FindingValidationTest, UrlAtItsLimitPassesAndOverIsRejected) {
  const std::string prefix = "http://pki.example/";
  v1::Finding f = ValidFinding();
  std::string url = prefix + std::string(kMaxUrlBytes - prefix.size(), 'a');
  ASSERT_EQ(url.size(), kMaxUrlBytes);
  f.mutable_dimensions()->set_url(url);
  absl::StatusOr<v1::Finding> parsed = ParseAndValidateFinding(Wrap(f));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->dimensions().url(), url);

  f.mutable_dimensions()->set_url(url + "a");
  EXPECT_TRUE(IsInvalid(Validate(f), "dimensions.url"));
}

TEST(FindingValidationTest, NulByteInFieldIsRejected) {
  v1::Finding f = ValidFinding();
  f.set_summary(std::string("before\0after", 12));
  EXPECT_TRUE(IsInvalid(Validate(f), "summary contains a NUL byte"));

  f = ValidFinding();
  f.set_target(std::string("http://pki.example/\0a.crl", 25));
  EXPECT_TRUE(IsInvalid(Validate(f), "target contains a NUL byte"));

  f = ValidFinding();
  f.mutable_dimensions()->set_ca(std::string("CN=\0Issuing", 11));
  EXPECT_TRUE(IsInvalid(Validate(f), "dimensions.ca contains a NUL byte"));
}

TEST(FindingValidationTest, NulByteInDetailFieldIsRejected) {
  // Details go to a jsonb column, which refuses "\u0000": one such finding
  // would otherwise fail its whole batch.
  v1::Finding f = ValidFinding();
  f.mutable_crl()->set_content_type(std::string("application/pkix-crl\0", 21));
  EXPECT_TRUE(IsInvalid(Validate(f), "crl.content_type contains a NUL byte"));

  f = ValidFinding();
  f.mutable_event()->set_channel(std::string("Application\0", 12));
  EXPECT_TRUE(IsInvalid(Validate(f), "event.channel contains a NUL byte"));

  f = ValidFinding();
  f.mutable_target_cert()->set_subject(std::string("CN=a\0b", 6));
  EXPECT_TRUE(IsInvalid(Validate(f), "target_cert.subject contains a NUL byte"));
}

TEST(FindingValidationTest, DetailsWithoutNulPass) {
  v1::Finding f = ValidFinding();
  f.mutable_crl()->set_content_type("application/pkix-crl");
  f.mutable_crl()->set_crl_number("42");
  f.mutable_event()->set_channel("Application");
  f.mutable_target_cert()->set_subject("CN=web");
  absl::StatusOr<v1::Finding> parsed = ParseAndValidateFinding(Wrap(f));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->crl().crl_number(), "42");
  EXPECT_EQ(parsed->event().channel(), "Application");
}

TEST(FindingValidationTest, EmptyTargetIsRejected) {
  v1::Finding f = ValidFinding();
  f.clear_target();
  EXPECT_TRUE(IsInvalid(Validate(f), "target is empty"));
}

TEST(FindingValidationTest, BadProbeNamesAreRejected) {
  for (const std::string& name :
       {std::string(), std::string("CRL"), std::string("Crl"),
        std::string(65, 'a'), std::string("crl probe"), std::string("crl/x")}) {
    SCOPED_TRACE(name);
    v1::Finding f = ValidFinding();
    f.set_probe(name);
    EXPECT_TRUE(IsInvalid(Validate(f), "probe"));
  }
}

TEST(FindingValidationTest, GoodProbeNamesPass) {
  for (const std::string& name :
       {std::string("a"), std::string(64, 'z'), std::string("event_log.ca-1")}) {
    SCOPED_TRACE(name);
    v1::Finding f = ValidFinding();
    f.set_probe(name);
    EXPECT_TRUE(Validate(f).ok()) << Validate(f);
  }
}

TEST(FindingValidationTest, StatusOutOfRangeIsRejected) {
  for (int raw : {0, 5, 99, -1}) {
    SCOPED_TRACE(raw);
    v1::Finding f = ValidFinding();
    // proto3 enums are open: a newer agent may send any number.
    f.set_status(static_cast<v1::Status>(raw));
    EXPECT_TRUE(IsInvalid(Validate(f), "unknown status"));
  }
  for (v1::Status s : {v1::STATUS_OK, v1::STATUS_WARN, v1::STATUS_FAIL,
                       v1::STATUS_PROBE_ERROR}) {
    v1::Finding f = ValidFinding();
    f.set_status(s);
    EXPECT_TRUE(Validate(f).ok()) << Validate(f);
  }
}

TEST(FindingValidationTest, ObservedAtMissingIsRejected) {
  v1::Finding f = ValidFinding();
  f.clear_observed_at();
  EXPECT_TRUE(IsInvalid(Validate(f), "observed_at"));
}

TEST(FindingValidationTest, ObservedAtOutOfRangeIsRejected) {
  constexpr int64_t kYear1 = -62135596800;       // 0001-01-01T00:00:00Z
  constexpr int64_t kYear9999 = 253402300799;    // 9999-12-31T23:59:59Z
  for (int64_t seconds : {kYear1 - 1, kYear9999 + 1, INT64_MIN, INT64_MAX}) {
    SCOPED_TRACE(seconds);
    v1::Finding f = ValidFinding();
    f.mutable_observed_at()->set_seconds(seconds);
    EXPECT_TRUE(IsInvalid(Validate(f), "observed_at"));
  }
  for (int32_t nanos : {-1, 1000000000}) {
    SCOPED_TRACE(nanos);
    v1::Finding f = ValidFinding();
    f.mutable_observed_at()->set_nanos(nanos);
    EXPECT_TRUE(IsInvalid(Validate(f), "observed_at"));
  }
  for (int64_t seconds : {kYear1, kYear9999, int64_t{0}}) {
    SCOPED_TRACE(seconds);
    v1::Finding f = ValidFinding();
    f.mutable_observed_at()->set_seconds(seconds);
    EXPECT_TRUE(Validate(f).ok()) << Validate(f);
  }
}

TEST(FindingValidationTest, NegativeDurationIsRejected) {
  v1::Finding f = ValidFinding();
  f.mutable_duration()->set_seconds(-1);
  EXPECT_TRUE(IsInvalid(Validate(f), "duration"));

  f.mutable_duration()->set_seconds(0);
  EXPECT_TRUE(Validate(f).ok()) << Validate(f);
}

TEST(FindingValidationTest, UnparseableUrlIsRejected) {
  for (const char* url : {"not a url", "pki.example/a.crl", "http://"}) {
    SCOPED_TRACE(url);
    v1::Finding f = ValidFinding();
    f.mutable_dimensions()->set_url(url);
    EXPECT_TRUE(IsInvalid(Validate(f), "dimensions.url: "));
  }
}

TEST(FindingValidationTest, FindingOverTotalLimitIsRejected) {
  // Fields without their own limit can still make the finding too large.
  v1::Finding f = ValidFinding();
  f.mutable_target_cert()->set_subject(std::string(kMaxFindingBytes, 's'));
  const v1::SequencedFinding item = Wrap(f);
  ASSERT_GT(item.finding().size(), kMaxFindingBytes);
  ASSERT_LT(item.finding().size(), kMaxParsedFindingBytes);
  const absl::Status status = ParseAndValidateFinding(item).status();
  EXPECT_TRUE(IsInvalid(status, "finding is"));
  EXPECT_TRUE(IsInvalid(status, std::to_string(kMaxFindingBytes)));

  // Too large even to parse.
  f.mutable_target_cert()->set_subject(std::string(kMaxParsedFindingBytes, 's'));
  EXPECT_TRUE(IsInvalid(Validate(f), "finding is"));
}

TEST(FindingValidationTest, FindingJustUnderTotalLimitPasses) {
  v1::Finding f = ValidFinding();
  const size_t base = f.ByteSizeLong();
  // Leave room for the subfield's tag and length prefixes.
  f.mutable_target_cert()->set_subject(std::string(kMaxFindingBytes - base - 16, 's'));
  ASSERT_LE(f.ByteSizeLong(), kMaxFindingBytes);
  EXPECT_TRUE(Validate(f).ok()) << Validate(f);
}

}  // namespace
}  // namespace pkiwatch::ingest
