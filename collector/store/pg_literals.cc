#include "collector/store/pg_literals.h"

#include "absl/strings/str_cat.h"

namespace pkiwatch::store {

std::string PgTimestamp(absl::Time t) {
  // %E4Y pads years before 1000 to four digits: PostgreSQL reads "1-01-01"
  // as 2001 and rejects "99-01-01".
  return absl::FormatTime("%E4Y-%m-%d %H:%M:%E6S+00", t, absl::UTCTimeZone());
}

std::string PgTimestamp(const google::protobuf::Timestamp& ts) {
  return PgTimestamp(absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()));
}

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace pkiwatch::store

namespace pkiwatch::store {

std::vector<std::string> ParsePgTextArray(std::string_view text) {
  std::vector<std::string> out;
  if (text.size() < 2 || text == "{}") return out;
  std::string current;
  bool quoted = false;
  bool escaped = false;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (escaped) {
      current += c;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  out.push_back(std::move(current));
  return out;
}

}  // namespace pkiwatch::store
