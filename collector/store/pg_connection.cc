#include "collector/store/pg_connection.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace pkiwatch::store {
namespace {

// Debian's Abseil has its own string_view type; convert explicitly.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

constexpr char kSqlStatePayload[] = "type.pkiwatch.dev/sqlstate";

// COPY data is sent in slices so libpq never has to buffer a second copy of
// a large batch in one piece.
constexpr size_t kCopyChunk = 1 << 20;

// libpq messages end in '\n' and may span lines (DETAIL, HINT); one line
// reads better in logs.
std::string OneLine(const char* message) {
  if (message == nullptr) return "";
  std::string out(message);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  absl::StrReplaceAll({{"\n", " "}}, &out);
  return out;
}

absl::Status MakeError(absl::StatusCode code, std::string message,
                       std::string_view sqlstate) {
  absl::Status status(code, message);
  if (!sqlstate.empty()) {
    status.SetPayload(kSqlStatePayload, absl::Cord(Sv(sqlstate)));
  }
  return status;
}

// Maps an SQLSTATE to the canonical code callers act on: Unavailable means
// reconnect and retry, Aborted means retry the transaction, AlreadyExists /
// FailedPrecondition mean the data conflicts and a retry will not help.
absl::StatusCode CodeForSqlState(std::string_view sqlstate) {
  if (sqlstate == "23505") return absl::StatusCode::kAlreadyExists;
  if (sqlstate.starts_with("23")) {
    return absl::StatusCode::kFailedPrecondition;
  }
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return absl::StatusCode::kAborted;
  }
  // Class 08 (connection exception) and the shutdown / start-up states.
  if (sqlstate.starts_with("08") || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return absl::StatusCode::kUnavailable;
  }
  return absl::StatusCode::kInternal;
}

bool IsUriDsn(std::string_view dsn) {
  return dsn.starts_with("postgresql://") ||
         dsn.starts_with("postgres://");
}

std::string RedactUri(std::string_view dsn) {
  const size_t scheme_end = dsn.find("://") + 3;
  std::string out(dsn.substr(0, scheme_end));
  std::string_view rest = dsn.substr(scheme_end);
  // Authority ends at the path or the query; the password is between the
  // first ':' and the last '@' of the user info.
  const size_t authority_end = std::min(rest.find('/'), rest.find('?'));
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos
                              ? std::string_view()
                              : rest.substr(authority_end);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      absl::StrAppend(&out, Sv(userinfo.substr(0, colon + 1)), "***",
                      Sv(authority.substr(at)));
    } else {
      absl::StrAppend(&out, Sv(authority));
    }
  } else {
    absl::StrAppend(&out, Sv(authority));
  }
  // Query parameters: password=... anywhere after '?'.
  const size_t q = tail.find('?');
  if (q == std::string_view::npos) {
    absl::StrAppend(&out, Sv(tail));
    return out;
  }
  absl::StrAppend(&out, Sv(tail.substr(0, q + 1)));
  std::string_view query = tail.substr(q + 1);
  bool first = true;
  while (true) {
    const size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    if (param.starts_with("password=")) {
      absl::StrAppend(&out, "password=***");
    } else {
      absl::StrAppend(&out, Sv(param));
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return out;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

// Key/value conninfo: "key = value" pairs separated by whitespace, values
// optionally single-quoted with backslash escapes (libpq's grammar).
std::string RedactKeyValue(std::string_view dsn) {
  std::string out;
  size_t i = 0;
  const size_t n = dsn.size();
  while (i < n) {
    // Copy whitespace.
    while (i < n && IsSpace(dsn[i])) out.push_back(dsn[i++]);
    if (i >= n) break;
    // Keyword.
    const size_t key_start = i;
    while (i < n && !IsSpace(dsn[i]) && dsn[i] != '=') ++i;
    std::string_view key = dsn.substr(key_start, i - key_start);
    out.append(key);
    while (i < n && IsSpace(dsn[i])) out.push_back(dsn[i++]);
    if (i >= n || dsn[i] != '=') continue;  // malformed: keep as is
    out.push_back(dsn[i++]);
    while (i < n && IsSpace(dsn[i])) out.push_back(dsn[i++]);
    // Value.
    const size_t value_start = i;
    if (i < n && dsn[i] == '\'') {
      ++i;
      while (i < n && dsn[i] != '\'') {
        if (dsn[i] == '\\' && i + 1 < n) ++i;
        ++i;
      }
      if (i < n) ++i;  // closing quote
    } else {
      while (i < n && !IsSpace(dsn[i])) {
        if (dsn[i] == '\\' && i + 1 < n) ++i;
        ++i;
      }
    }
    if (key == "password") {
      out.append("***");
    } else {
      out.append(dsn.substr(value_start, i - value_start));
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- PgResult

bool PgResult::InRange(int r, int c) const {
  return result_ != nullptr && r >= 0 && c >= 0 &&
         r < PQntuples(result_.get()) && c < PQnfields(result_.get());
}

int PgResult::rows() const {
  return result_ == nullptr ? 0 : PQntuples(result_.get());
}

int PgResult::cols() const {
  return result_ == nullptr ? 0 : PQnfields(result_.get());
}

bool PgResult::IsNull(int r, int c) const {
  // Checked first: libpq prints a notice on out-of-range indexes.
  if (!InRange(r, c)) return true;
  return PQgetisnull(result_.get(), r, c) != 0;
}

std::string_view PgResult::Get(int r, int c) const {
  if (!InRange(r, c)) return {};
  return std::string_view(PQgetvalue(result_.get(), r, c),
                          static_cast<size_t>(PQgetlength(result_.get(), r, c)));
}

int64_t PgResult::GetInt64(int r, int c) const {
  if (IsNull(r, c)) return 0;
  int64_t value = 0;
  if (!absl::SimpleAtoi(Sv(Get(r, c)), &value)) return 0;
  return value;
}

int PgResult::ColumnIndex(std::string_view name) const {
  if (result_ == nullptr) return -1;
  // PQfnumber folds unquoted names to lower case; an exact match is what
  // callers naming result columns expect.
  for (int c = 0; c < cols(); ++c) {
    const char* fname = PQfname(result_.get(), c);
    if (fname != nullptr && name == fname) return c;
  }
  return -1;
}

// ------------------------------------------------------------ PgConnection

PgConnection::PgConnection(PGconn* conn, std::string redacted_dsn)
    : conn_(conn), redacted_dsn_(std::move(redacted_dsn)) {}

PgConnection::~PgConnection() = default;

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& dsn) {
  std::string redacted = RedactDsn(dsn);
  // Reject unparsable DSNs up front: libpq would otherwise report them as a
  // connection failure, which callers treat as retryable.
  if (absl::StrContains(dsn, '=') || IsUriDsn(dsn)) {
    char* parse_error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &parse_error);
    if (parsed == nullptr) {
      std::string reason =
          parse_error != nullptr ? OneLine(parse_error) : "out of memory";
      if (parse_error != nullptr) PQfreemem(parse_error);
      return absl::InvalidArgumentError(
          absl::StrCat("PQconninfoParse(", redacted, "): ", reason));
    }
    PQconninfoFree(parsed);
  }
  // Defaults first, then the DSN (expand_dbname), so the DSN can override
  // them: a bounded connect timeout instead of waiting forever on an
  // unreachable host, and a name that shows up in pg_stat_activity.
  const char* keywords[] = {"connect_timeout", "fallback_application_name",
                            "dbname", nullptr};
  const char* values[] = {"10", "pkiwatch", dsn.c_str(), nullptr};
  std::unique_ptr<PGconn, Deleter> conn(
      PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (conn == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "PQconnectdbParams(", redacted, "): out of memory"));
  }
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("PQconnectdbParams(", redacted,
                     "): connection failed: ", OneLine(PQerrorMessage(conn.get()))));
  }
  // libpq prints NOTICEs ("relation already exists, skipping") to stderr by
  // default; they are expected and would only clutter the collector's log.
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  // Everything pkiwatch sends and reads is UTF-8, whatever the server's
  // default client encoding is.
  if (PQsetClientEncoding(conn.get(), "UTF8") != 0) {
    return absl::InternalError(
        absl::StrCat("PQsetClientEncoding(UTF8) on ", redacted, ": ",
                     OneLine(PQerrorMessage(conn.get()))));
  }
  return std::unique_ptr<PgConnection>(
      new PgConnection(conn.release(), std::move(redacted)));
}

bool PgConnection::IsBroken() const {
  return conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK;
}

bool PgConnection::InTransaction() const {
  if (conn_ == nullptr) return false;
  const PGTransactionStatusType s = PQtransactionStatus(conn_.get());
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

absl::Status PgConnection::CheckResult(std::string_view api,
                                       const PGresult* result) const {
  if (result == nullptr) {
    // libpq returns NULL only when out of memory or when it could not send
    // the command at all (typically a lost connection).
    const std::string message = OneLine(PQerrorMessage(conn_.get()));
    if (IsBroken()) {
      return absl::UnavailableError(
          absl::StrCat(Sv(api), ": connection lost: ", message));
    }
    return absl::InternalError(absl::StrCat(Sv(api), ": no result: ", message));
  }
  const ExecStatusType status = PQresultStatus(result);
  switch (status) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_SINGLE_TUPLE:
    case PGRES_EMPTY_QUERY:
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_PIPELINE_SYNC:
      // Success states; callers that cannot handle COPY check for it.
      return absl::OkStatus();
    case PGRES_COPY_BOTH:
      return absl::UnimplementedError(
          absl::StrCat(Sv(api), ": COPY BOTH (replication) is not supported"));
    case PGRES_PIPELINE_ABORTED:
      return absl::AbortedError(
          absl::StrCat(Sv(api), ": pipeline aborted by an earlier error"));
    case PGRES_NONFATAL_ERROR:
    case PGRES_BAD_RESPONSE:
    case PGRES_FATAL_ERROR: {
      const char* sqlstate_c = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      const std::string sqlstate = sqlstate_c != nullptr ? sqlstate_c : "";
      std::string message = OneLine(PQresultErrorMessage(result));
      if (message.empty()) message = OneLine(PQerrorMessage(conn_.get()));
      absl::StatusCode code = sqlstate.empty()
                                  ? absl::StatusCode::kInternal
                                  : CodeForSqlState(sqlstate);
      // A client-side failure without SQLSTATE on a dead connection.
      if (IsBroken()) code = absl::StatusCode::kUnavailable;
      return MakeError(
          code,
          absl::StrCat(Sv(api), ": ", PQresStatus(status), ": ", message,
                       sqlstate.empty() ? ""
                                        : absl::StrCat(" (SQLSTATE ", sqlstate, ")")),
          sqlstate);
    }
  }
  return absl::InternalError(absl::StrCat(Sv(api), ": unknown result status ",
                                          static_cast<int>(status)));
}

absl::Status PgConnection::DrainResults(std::string_view api) {
  absl::Status first_error;
  while (true) {
    PgResult result(PQgetResult(conn_.get()));
    if (result.get() == nullptr) break;
    const ExecStatusType status = PQresultStatus(result.get());
    absl::Status s;
    if (status == PGRES_COPY_IN) {
      // Only reachable if a caller smuggled a COPY into Exec/Query; end it so
      // the connection returns to idle.
      PQputCopyEnd(conn_.get(), "COPY FROM STDIN is only supported by CopyIn");
      s = absl::InvalidArgumentError(
          absl::StrCat(Sv(api), ": COPY FROM STDIN is only supported by CopyIn"));
    } else if (status == PGRES_COPY_OUT) {
      char* buffer = nullptr;
      while (PQgetCopyData(conn_.get(), &buffer, /*async=*/0) > 0) {
        PQfreemem(buffer);
        buffer = nullptr;
      }
      s = absl::InvalidArgumentError(
          absl::StrCat(Sv(api), ": COPY TO STDOUT is not supported"));
    } else {
      s = CheckResult(api, result.get());
    }
    if (first_error.ok() && !s.ok()) first_error = s;
    if (IsBroken()) break;  // PQgetResult would keep returning errors
  }
  return first_error;
}

absl::Status PgConnection::Exec(std::string_view sql) {
  if (IsBroken()) {
    return absl::UnavailableError(
        absl::StrCat("PQsendQuery: connection is broken: ",
                     OneLine(PQerrorMessage(conn_.get()))));
  }
  // PQsendQuery + a drain loop instead of PQexec: every result of a
  // multi-statement string is checked, not only the last one.
  const std::string query(sql);
  if (PQsendQuery(conn_.get(), query.c_str()) == 0) {
    return CheckResult("PQsendQuery", nullptr);
  }
  return DrainResults("PQsendQuery");
}

absl::StatusOr<PgResult> PgConnection::Query(
    std::string_view sql, const std::vector<std::optional<std::string>>& params) {
  if (IsBroken()) {
    return absl::UnavailableError(
        absl::StrCat("PQexecParams: connection is broken: ",
                     OneLine(PQerrorMessage(conn_.get()))));
  }
  if (params.size() > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PQexecParams: ", params.size(), " parameters (at most 65535)"));
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].has_value()) {
      values.push_back(nullptr);
      continue;
    }
    // Text parameters are NUL-terminated; PostgreSQL text cannot hold NUL
    // anyway, so say so instead of silently truncating.
    if (params[i]->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PQexecParams: parameter $", i + 1, " contains a NUL byte"));
    }
    values.push_back(params[i]->c_str());
  }
  const std::string query(sql);
  PgResult result(PQexecParams(conn_.get(), query.c_str(),
                               static_cast<int>(values.size()),
                               /*paramTypes=*/nullptr, values.data(),
                               /*paramLengths=*/nullptr,
                               /*paramFormats=*/nullptr, /*resultFormat=*/0));
  if (result.get() != nullptr) {
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
      if (status == PGRES_COPY_IN) {
        PQputCopyEnd(conn_.get(), "COPY FROM STDIN is only supported by CopyIn");
      } else {
        char* buffer = nullptr;
        while (PQgetCopyData(conn_.get(), &buffer, /*async=*/0) > 0) {
          PQfreemem(buffer);
          buffer = nullptr;
        }
      }
      DrainResults("PQexecParams").IgnoreError();
      return absl::InvalidArgumentError(
          "PQexecParams: COPY is not supported by Query, use CopyIn");
    }
  }
  absl::Status s = CheckResult("PQexecParams", result.get());
  if (!s.ok()) return s;
  return result;
}

absl::Status PgConnection::CopyIn(std::string_view copy_sql,
                                  std::string_view data) {
  if (IsBroken()) {
    return absl::UnavailableError(
        absl::StrCat("PQexec(COPY): connection is broken: ",
                     OneLine(PQerrorMessage(conn_.get()))));
  }
  const std::string query(copy_sql);
  {
    PgResult start(PQexec(conn_.get(), query.c_str()));
    absl::Status s = CheckResult("PQexec(COPY)", start.get());
    if (!s.ok()) {
      DrainResults("PQexec(COPY)").IgnoreError();
      return s;
    }
    const ExecStatusType status = PQresultStatus(start.get());
    if (status != PGRES_COPY_IN) {
      // Not a COPY FROM STDIN statement; PQexec already consumed the rest.
      if (status == PGRES_COPY_OUT) {
        char* buffer = nullptr;
        while (PQgetCopyData(conn_.get(), &buffer, /*async=*/0) > 0) {
          PQfreemem(buffer);
          buffer = nullptr;
        }
        DrainResults("PQexec(COPY)").IgnoreError();
      }
      return absl::InvalidArgumentError(
          absl::StrCat("PQexec(COPY): expected COPY_IN, got ",
                       PQresStatus(status), " for: ", Sv(copy_sql.substr(0, 80))));
    }
  }

  // Send the data. If the server rejects a row it stops reading, libpq sees
  // the error and PQputCopyData returns -1 ("no COPY in progress"); the
  // server's message is then in the final result, which is what we report.
  std::string put_error;
  for (size_t offset = 0; offset < data.size(); offset += kCopyChunk) {
    const size_t len = std::min(kCopyChunk, data.size() - offset);
    if (PQputCopyData(conn_.get(), data.data() + offset,
                      static_cast<int>(len)) != 1) {
      put_error = absl::StrCat("PQputCopyData: ",
                               OneLine(PQerrorMessage(conn_.get())));
      break;
    }
  }
  const int end_rc =
      PQputCopyEnd(conn_.get(), put_error.empty() ? nullptr : "client aborted");
  std::string end_error;
  if (end_rc != 1) {
    end_error =
        absl::StrCat("PQputCopyEnd: ", OneLine(PQerrorMessage(conn_.get())));
  }

  // The final result tells whether the rows were stored; drain to NULL so the
  // connection is ready for the next command even after an error.
  absl::Status result = DrainResults("PQputCopyEnd");
  if (!result.ok()) return result;
  if (!put_error.empty() || !end_error.empty()) {
    const std::string message = !put_error.empty() ? put_error : end_error;
    if (IsBroken()) return absl::UnavailableError(message);
    return absl::InternalError(message);
  }
  return absl::OkStatus();
}

absl::Status PgConnection::Begin() { return Exec("BEGIN"); }

absl::Status PgConnection::Rollback() { return Exec("ROLLBACK"); }

absl::Status PgConnection::Commit() {
  if (IsBroken()) {
    return absl::UnavailableError(
        absl::StrCat("PQexec(COMMIT): connection is broken: ",
                     OneLine(PQerrorMessage(conn_.get()))));
  }
  PgResult result(PQexec(conn_.get(), "COMMIT"));
  absl::Status s = CheckResult("PQexec(COMMIT)", result.get());
  if (!s.ok()) return s;
  // The server answers COMMIT of a failed transaction with the tag
  // ROLLBACK and no error: the data is gone, so this is not a success.
  const char* tag = PQcmdStatus(result.get());
  if (tag != nullptr && std::strcmp(tag, "ROLLBACK") == 0) {
    return absl::AbortedError(
        "PQexec(COMMIT): the transaction had failed earlier and was rolled "
        "back");
  }
  return absl::OkStatus();
}

// ----------------------------------------------------------------- helpers

void CopyEscape(std::string_view value, std::string* out) {
  out->reserve(out->size() + value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        out->push_back(c);
    }
  }
}

void AppendCopyNull(std::string* out) { out->append("\\N"); }

std::string RedactDsn(std::string_view dsn) {
  if (IsUriDsn(dsn)) return RedactUri(dsn);
  return RedactKeyValue(dsn);
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteConninfoValue(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string SqlStateOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kSqlStatePayload);
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

}  // namespace pkiwatch::store
