#include "collector/store/partitions.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pkiwatch::store {
namespace {

constexpr char kPrefix[] = "findings_p";

absl::Time DayStart(absl::Time t) {
  const absl::CivilDay day = absl::ToCivilDay(t, absl::UTCTimeZone());
  return absl::FromCivil(day, absl::UTCTimeZone());
}

std::string Iso(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S+00", t, absl::UTCTimeZone());
}

}  // namespace

std::string FindingPartitionName(absl::Time t) {
  return absl::StrCat(kPrefix, absl::FormatTime("%Y%m%d", t, absl::UTCTimeZone()));
}

absl::Status EnsureFindingPartitions(PgConnection& conn, absl::Time now, int days_ahead) {
  for (int i = 0; i <= days_ahead; ++i) {
    const absl::Time from = DayStart(now) + absl::Hours(24 * i);
    const absl::Time to = from + absl::Hours(24);
    // Two collectors may race here: the loser's statement fails with
    // duplicate_table (42P07) or, for a partition created under the same name
    // meanwhile, is a no-op thanks to IF NOT EXISTS.
    absl::Status s = conn.Exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ",
                                            FindingPartitionName(from),
                                            " PARTITION OF findings FOR VALUES FROM ('", Iso(from),
                                            "') TO ('", Iso(to), "')"));
    if (!s.ok() && SqlStateOf(s) != "42P07") return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DropExpiredFindingPartitions(PgConnection& conn,
                                                                     absl::Time now,
                                                                     absl::Duration retention) {
  auto r = conn.Query(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'findings'::regclass ORDER BY c.relname");
  if (!r.ok()) return r.status();
  const absl::Time cutoff = now - retention;
  std::vector<std::string> dropped;
  for (int row = 0; row < r->rows(); ++row) {
    const std::string name(r->Get(row, 0));
    if (!absl::StartsWith(name, kPrefix)) continue;
    const std::string digits = name.substr(sizeof(kPrefix) - 1);
    int year = 0, month = 0, mday = 0;
    if (digits.size() != 8 || !absl::SimpleAtoi(digits.substr(0, 4), &year) ||
        !absl::SimpleAtoi(digits.substr(4, 2), &month) ||
        !absl::SimpleAtoi(digits.substr(6, 2), &mday)) {
      continue;  // not one of ours
    }
    const absl::Time day =
        absl::FromCivil(absl::CivilDay(year, month, mday), absl::UTCTimeZone());
    if (day + absl::Hours(24) > cutoff) continue;
    if (absl::Status s = conn.Exec(absl::StrCat("DROP TABLE IF EXISTS ", name)); !s.ok()) {
      return s;
    }
    dropped.push_back(name);
  }
  return dropped;
}

}  // namespace pkiwatch::store
