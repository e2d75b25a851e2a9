#include "collector/ingest/finding_validation.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/url.h"
#include "common/utf8.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace pkiwatch::ingest {
namespace {

// Timestamps outside 0001..9999 cannot be stored by PostgreSQL.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

absl::Status CheckText(absl::string_view field, const std::string& value, size_t limit) {
  if (value.size() > limit) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is %d bytes, limit %d bytes", field, value.size(), limit));
  }
  // The parser already refuses invalid UTF-8 in string fields; this also
  // catches NUL, which PostgreSQL text cannot hold.
  if (value.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, " contains a NUL byte"));
  }
  return absl::OkStatus();
}

// The path of a string field (at any depth) that holds a NUL byte, or "".
// The detail messages are stored as jsonb, which refuses "\u0000" as text
// refuses NUL, and one such finding would fail its whole batch's COPY.
std::string FieldWithNul(const google::protobuf::Message& message, const std::string& prefix) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string path =
        prefix.empty() ? field->name() : absl::StrCat(prefix, ".", field->name());
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      if (field->type() == FieldDescriptor::TYPE_STRING) {
        const std::string value = field->is_repeated()
                                      ? reflection->GetRepeatedString(message, field, i)
                                      : reflection->GetString(message, field);
        if (value.find('\0') != std::string::npos) return path;
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        const google::protobuf::Message& sub =
            field->is_repeated() ? reflection->GetRepeatedMessage(message, field, i)
                                 : reflection->GetMessage(message, field);
        std::string found = FieldWithNul(sub, path);
        if (!found.empty()) return found;
      }
    }
  }
  return "";
}

bool ValidProbeName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<v1::Finding> ParseAndValidateFinding(const v1::SequencedFinding& item) {
  if (item.seq() == 0) return absl::InvalidArgumentError("seq must be positive");
  // Parse anything a batch can carry, so that an oversized field is named
  // precisely; the total size is checked after the fields.
  if (item.finding().size() > kMaxParsedFindingBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "finding is %d bytes, limit %d bytes", item.finding().size(), kMaxFindingBytes));
  }
  v1::Finding f;
  if (!f.ParseFromString(item.finding())) {
    return absl::InvalidArgumentError(
        "not a valid pkiwatch.v1.Finding (malformed protobuf or a string field with "
        "invalid UTF-8)");
  }
  if (!ValidProbeName(f.probe())) {
    return absl::InvalidArgumentError(
        "probe must be 1-64 characters of [a-z0-9_.-]");
  }
  if (f.status() < v1::STATUS_OK || f.status() > v1::STATUS_PROBE_ERROR) {
    return absl::InvalidArgumentError(absl::StrCat("unknown status ", f.status()));
  }
  if (!f.has_observed_at() || f.observed_at().seconds() < kMinSeconds ||
      f.observed_at().seconds() > kMaxSeconds || f.observed_at().nanos() < 0 ||
      f.observed_at().nanos() > 999999999) {
    return absl::InvalidArgumentError("observed_at missing or out of range");
  }
  if (f.duration().seconds() < 0 || f.duration().seconds() > 86400 * 365) {
    return absl::InvalidArgumentError("duration out of range");
  }
  const v1::Dimensions& d = f.dimensions();
  for (auto [field, value, limit] : {
           std::tuple{"target", &f.target(), kMaxUrlBytes},
           std::tuple{"dimensions.url", &d.url(), kMaxUrlBytes},
           std::tuple{"dimensions.ca", &d.ca(), kMaxNameBytes},
           std::tuple{"dimensions.ca_key_id", &d.ca_key_id(), size_t{128}},
           std::tuple{"dimensions.template_name", &d.template_name(), kMaxNameBytes},
           std::tuple{"dimensions.template_oid", &d.template_oid(), size_t{128}},
           std::tuple{"summary", &f.summary(), kMaxSummaryBytes},
           std::tuple{"error.symbolic_name", &f.error().symbolic_name(), size_t{128}},
           std::tuple{"error.message", &f.error().message(), kMaxSummaryBytes},
           std::tuple{"error.native_detail", &f.error().native_detail(), kMaxDetailBytes},
       }) {
    if (absl::Status s = CheckText(field, *value, limit); !s.ok()) return s;
  }
  if (f.target().empty()) return absl::InvalidArgumentError("target is empty");
  if (item.finding().size() > kMaxFindingBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "finding is %d bytes, limit %d bytes", item.finding().size(), kMaxFindingBytes));
  }
  if (std::string field = FieldWithNul(f, ""); !field.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " contains a NUL byte"));
  }
  if (!d.url().empty()) {
    auto normalized = NormalizeUrl(d.url());
    if (!normalized.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dimensions.url: ", normalized.status().message()));
    }
    f.mutable_dimensions()->set_url(*std::move(normalized));
  }
  return f;
}

}  // namespace pkiwatch::ingest
