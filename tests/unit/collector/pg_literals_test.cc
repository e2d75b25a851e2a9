#include "collector/store/pg_literals.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "collector/store/pg_connection.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch::store {
namespace {

google::protobuf::Timestamp MakeTimestamp(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

// ---- Formatting (no server needed) ----

TEST(PgTimestampTest, FormatsWithMicroseconds) {
  EXPECT_EQ(PgTimestamp(absl::UnixEpoch()), "1970-01-01 00:00:00.000000+00");
  EXPECT_EQ(PgTimestamp(absl::FromUnixMicros(1767225600123456)),
            "2026-01-01 00:00:00.123456+00");
  EXPECT_EQ(PgTimestamp(absl::FromUnixSeconds(1795395723) + absl::Microseconds(1)),
            "2026-11-23 01:02:03.000001+00");
}

TEST(PgTimestampTest, FormatsPreEpoch) {
  EXPECT_EQ(PgTimestamp(absl::FromUnixMillis(-500)), "1969-12-31 23:59:59.500000+00");
  EXPECT_EQ(PgTimestamp(absl::FromUnixSeconds(-86400)), "1969-12-31 00:00:00.000000+00");
}

TEST(PgTimestampTest, PadsEarlyYearsToFourDigits) {
  // The validator accepts 0001..9999; PostgreSQL reads "1-01-01" as 2001.
  EXPECT_EQ(PgTimestamp(absl::FromUnixSeconds(-62135596800)),
            "0001-01-01 00:00:00.000000+00");
  EXPECT_EQ(PgTimestamp(absl::FromUnixSeconds(-59042995200)),
            "0099-01-01 00:00:00.000000+00");
  EXPECT_EQ(PgTimestamp(absl::FromUnixSeconds(253402300799)),
            "9999-12-31 23:59:59.000000+00");
}

TEST(PgTimestampTest, ProtoTimestampKeepsMicrosecondsAndTruncatesNanos) {
  EXPECT_EQ(PgTimestamp(MakeTimestamp(1767225600, 123456789)),
            "2026-01-01 00:00:00.123456+00");
  EXPECT_EQ(PgTimestamp(MakeTimestamp(1767225600, 999999999)),
            "2026-01-01 00:00:00.999999+00");
  // Proto timestamps before the epoch count nanos forward from `seconds`.
  EXPECT_EQ(PgTimestamp(MakeTimestamp(-1, 500000000)), "1969-12-31 23:59:59.500000+00");
}

TEST(PgTextArrayTest, QuotesEveryElementAndEscapes) {
  EXPECT_EQ(PgTextArray({}), "{}");
  EXPECT_EQ(PgTextArray({""}), "{\"\"}");
  EXPECT_EQ(PgTextArray({"a", "b\"c"}), "{\"a\",\"b\\\"c\"}");
  EXPECT_EQ(PgTextArray({"a\\b"}), "{\"a\\\\b\"}");
  EXPECT_EQ(PgTextArray({"x,y", "{z}"}), "{\"x,y\",\"{z}\"}");
}

// ---- Round trips through a real PostgreSQL ----

class PgLiteralsRoundTripTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<testing::TestPostgres*> pg = testing::TestPostgres::Shared();
    ASSERT_TRUE(pg.ok()) << pg.status();
    absl::StatusOr<std::string> dsn = (*pg)->CreateDatabase();
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(*dsn);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = conn->release();
  }
  static void TearDownTestSuite() {
    delete conn_;
    conn_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(conn_, nullptr) << "no PostgreSQL connection"; }

  // The elements of PgTextArray(values) as PostgreSQL parses them, in order
  // (nullopt for an element that came back NULL).
  static std::vector<std::optional<std::string>> RoundTrip(
      const std::vector<std::string>& values) {
    std::vector<std::optional<std::string>> out;
    absl::StatusOr<PgResult> r = conn_->Query(
        "SELECT elem FROM unnest($1::text[]) WITH ORDINALITY AS t(elem, ord) "
        "ORDER BY ord",
        {PgTextArray(values)});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return out;
    for (int i = 0; i < r->rows(); ++i) {
      if (r->IsNull(i, 0)) {
        out.push_back(std::nullopt);
      } else {
        out.push_back(std::string(r->Get(i, 0)));
      }
    }
    return out;
  }

  static void ExpectRoundTrip(const std::vector<std::string>& values) {
    SCOPED_TRACE(PgTextArray(values));
    const std::vector<std::optional<std::string>> got = RoundTrip(values);
    ASSERT_EQ(got.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      SCOPED_TRACE(i);
      ASSERT_TRUE(got[i].has_value());
      EXPECT_EQ(*got[i], values[i]);
    }
  }

  // Microseconds since the epoch of PgTimestamp(t) as PostgreSQL reads it.
  static std::optional<int64_t> ServerMicros(const std::string& literal) {
    absl::StatusOr<PgResult> r = conn_->Query(
        "SELECT (extract(epoch FROM $1::timestamptz) * 1000000)::bigint", {literal});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->rows() != 1) return std::nullopt;
    int64_t micros = 0;
    const std::string_view text = r->Get(0, 0);
    if (!absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &micros)) {
      return std::nullopt;
    }
    return micros;
  }

  static PgConnection* conn_;
};

PgConnection* PgLiteralsRoundTripTest::conn_ = nullptr;

TEST_F(PgLiteralsRoundTripTest, TextArraySpecialCharacters) {
  ExpectRoundTrip({"plain", "with \"quotes\"", "back\\slash", "trailing\\",
                   "\\\"", "a,b", "{braces}", "}", "{", "", " padded ",
                   "tab\tnew\nline", "NULL", "null"});
}

TEST_F(PgLiteralsRoundTripTest, TextArrayEmptyStrings) {
  ExpectRoundTrip({""});
  ExpectRoundTrip({"", "", ""});
  ExpectRoundTrip({});
}

TEST_F(PgLiteralsRoundTripTest, TextArrayUnicode) {
  ExpectRoundTrip({"Zertifizierungsstelle Ä", "認証局", "emoji \xF0\x9F\x94\x90",
                   "CN=Caf\xC3\xA9,O=\xE2\x80\x9Cquoted\xE2\x80\x9D"});
}

TEST_F(PgLiteralsRoundTripTest, TextArrayLongElement) {
  ExpectRoundTrip({std::string(100000, 'x') + "\"\\", "tail"});
}

TEST_F(PgLiteralsRoundTripTest, TimestampsReadBackExactly) {
  const absl::Time times[] = {
      absl::UnixEpoch(),
      absl::FromUnixMicros(1767225600123456),
      absl::FromUnixMicros(-1),
      absl::FromUnixMillis(-500),
      absl::FromUnixSeconds(-2208988800),  // 1900-01-01
      absl::FromUnixSeconds(253402300799) + absl::Microseconds(999999),  // 9999-12-31
      absl::FromUnixSeconds(-62135596800),  // 0001-01-01
      absl::FromUnixSeconds(-59042995200),  // 0099-01-01
      absl::FromUnixSeconds(-30610224000),  // 1000-01-01
  };
  for (absl::Time t : times) {
    const std::string literal = PgTimestamp(t);
    SCOPED_TRACE(literal);
    EXPECT_EQ(ServerMicros(literal), absl::ToUnixMicros(t));
  }
}

TEST_F(PgLiteralsRoundTripTest, ProtoTimestampReadsBackTruncatedToMicros) {
  const std::string literal = PgTimestamp(MakeTimestamp(1767225600, 123456789));
  EXPECT_EQ(ServerMicros(literal), int64_t{1767225600123456});
}

}  // namespace
}  // namespace pkiwatch::store
