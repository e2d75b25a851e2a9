// Integration tests for collector/store: PgConnection, EmbeddedPostgres and
// migrations against a real throwaway PostgreSQL cluster.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/store/embedded_postgres.h"
#include "collector/store/migrations.h"
#include "collector/store/pg_connection.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_postgres.h"

namespace pkiwatch::store {
namespace {

using ::pkiwatch::testing::ScopedTempDir;
using ::pkiwatch::testing::TestPostgres;

// Debian's Abseil has its own string_view type.
std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }

bool Contains(const absl::Status& s, std::string_view needle) {
  return Str(s.message()).find(needle) != std::string::npos;
}

// A connection to a fresh database in the shared cluster.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPostgres*> pg = TestPostgres::Shared();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = *pg;
    absl::StatusOr<std::string> dsn = pg_->CreateDatabase();
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
    absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(dsn_);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = *std::move(conn);
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<PgResult> r = conn_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->rows() != 1) return -1;
    return r->GetInt64(0, 0);
  }

  TestPostgres* pg_ = nullptr;
  std::string dsn_;
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(StoreTest, MigrationsApplyOnceAndAreIdempotent) {
  ASSERT_TRUE(ApplyMigrations(*conn_).ok());
  ASSERT_TRUE(ApplyMigrations(*conn_).ok());
  const int64_t expected = static_cast<int64_t>(EmbeddedMigrations().size());
  ASSERT_GE(expected, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM schema_migrations"), expected);
  absl::StatusOr<PgResult> r =
      conn_->Query("SELECT version, name FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "1");
  EXPECT_EQ(r->Get(0, 1), "0001_init");
  for (const char* table : {"nodes", "cas", "templates", "urls", "error_codes",
                            "findings", "current_state", "rejected_findings"}) {
    absl::StatusOr<PgResult> t =
        conn_->Query("SELECT to_regclass($1) IS NOT NULL", {std::string(table)});
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->Get(0, 0), "t") << table;
  }
  // Unique keys map to AlreadyExists (the dimension tables rely on them).
  ASSERT_TRUE(conn_->Exec("INSERT INTO urls (url) VALUES ('http://pki/a.crl')").ok());
  absl::Status dup = conn_->Exec("INSERT INTO urls (url) VALUES ('http://pki/a.crl')");
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
}

TEST_F(StoreTest, ConcurrentMigrationsDoNotRace) {
  // Two "collectors" migrating the same empty database at once.
  std::vector<absl::Status> results(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([this, i, &results] {
      absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Connect(dsn_);
      if (!c.ok()) {
        results[i] = c.status();
        return;
      }
      results[i] = ApplyMigrations(**c);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(results[0].ok()) << results[0];
  EXPECT_TRUE(results[1].ok()) << results[1];
  EXPECT_EQ(Count("SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(EmbeddedMigrations().size()));
}

TEST_F(StoreTest, QueryWithParamsNullAndUnicode) {
  const std::string unicode = "h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC";
  absl::StatusOr<PgResult> r = conn_->Query(
      "SELECT $1::text AS a, $2::text IS NULL AS b, $2::text AS c, "
      "length($1::text) AS d, $3::bigint + 1 AS e",
      {unicode, std::nullopt, "9000000000000000000"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 1);
  ASSERT_EQ(r->cols(), 5);
  EXPECT_EQ(r->Get(0, 0), unicode);
  EXPECT_EQ(r->Get(0, 1), "t");
  EXPECT_TRUE(r->IsNull(0, 2));
  EXPECT_EQ(r->GetInt64(0, 2), 0);
  EXPECT_EQ(r->GetInt64(0, 3), 10);  // characters, not bytes
  EXPECT_EQ(r->GetInt64(0, 4), 9000000000000000001);
  EXPECT_EQ(r->ColumnIndex("e"), 4);
  EXPECT_EQ(r->ColumnIndex("nope"), -1);
  // Out-of-range access is safe.
  EXPECT_TRUE(r->IsNull(5, 0));
  EXPECT_EQ(r->Get(0, 99), "");
  EXPECT_EQ(r->GetInt64(-1, 0), 0);

  // A NUL byte cannot be sent as a text parameter.
  absl::StatusOr<PgResult> nul =
      conn_->Query("SELECT $1::text", {std::string("a\0b", 3)});
  EXPECT_EQ(nul.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, ExecAndErrorMapping) {
  ASSERT_TRUE(conn_->Exec("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL); "
                          "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
                  .ok());
  EXPECT_EQ(Count("SELECT count(*) FROM t"), 2);
  EXPECT_TRUE(conn_->Exec("").ok());

  absl::Status dup = conn_->Exec("INSERT INTO t VALUES (1, 'again')");
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_TRUE(Contains(dup, "SQLSTATE 23505")) << dup;
  EXPECT_TRUE(Contains(dup, "PQsendQuery")) << dup;
  EXPECT_EQ(SqlStateOf(dup), "23505");

  absl::StatusOr<PgResult> null_v =
      conn_->Query("INSERT INTO t VALUES ($1, $2)", {"3", std::nullopt});
  EXPECT_EQ(null_v.status().code(), absl::StatusCode::kFailedPrecondition)
      << null_v.status();
  EXPECT_TRUE(Contains(null_v.status(), "PQexecParams")) << null_v.status();
  EXPECT_TRUE(Contains(null_v.status(), "SQLSTATE 23502")) << null_v.status();

  absl::Status syntax = conn_->Exec("SELEC 1");
  EXPECT_EQ(syntax.code(), absl::StatusCode::kInternal) << syntax;
  EXPECT_TRUE(Contains(syntax, "SQLSTATE 42601")) << syntax;
  EXPECT_EQ(SqlStateOf(absl::OkStatus()), "");

  // A failing statement in a multi-statement string is reported, and the
  // implicit transaction discards the statements before it.
  absl::Status multi =
      conn_->Exec("INSERT INTO t VALUES (10, 'x'); INSERT INTO t VALUES (1, 'y')");
  EXPECT_EQ(multi.code(), absl::StatusCode::kAlreadyExists) << multi;
  EXPECT_EQ(Count("SELECT count(*) FROM t"), 2);

  // COPY through Query/Exec is refused without wedging the connection.
  absl::StatusOr<PgResult> copy = conn_->Query("COPY t FROM STDIN");
  EXPECT_EQ(copy.status().code(), absl::StatusCode::kInvalidArgument);
  absl::Status copy_exec = conn_->Exec("COPY t TO STDOUT");
  EXPECT_EQ(copy_exec.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(conn_->IsBroken());
  EXPECT_EQ(Count("SELECT count(*) FROM t"), 2);
}

TEST_F(StoreTest, CopyInHundredThousandRows) {
  ASSERT_TRUE(
      conn_->Exec("CREATE TABLE scratch (id bigint PRIMARY KEY, name text, note text)")
          .ok());
  std::string data;
  constexpr int kRows = 100000;
  for (int i = 0; i < kRows; ++i) {
    absl::StrAppend(&data, i, "\t");
    CopyEscape(absl::StrCat("row ", i), &data);
    data.push_back('\t');
    if (i % 2 == 0) {
      AppendCopyNull(&data);
    } else {
      CopyEscape("tab\there\nnew\\line\r \xC3\xBC", &data);
    }
    data.push_back('\n');
  }
  absl::Status s = conn_->CopyIn("COPY scratch (id, name, note) FROM STDIN", data);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Count("SELECT count(*) FROM scratch"), kRows);
  EXPECT_EQ(Count("SELECT count(*) FROM scratch WHERE note IS NULL"), kRows / 2);
  absl::StatusOr<PgResult> r =
      conn_->Query("SELECT name, note FROM scratch WHERE id = $1", {"4321"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 1);
  EXPECT_EQ(r->Get(0, 0), "row 4321");
  EXPECT_EQ(r->Get(0, 1), "tab\there\nnew\\line\r \xC3\xBC");
}

TEST_F(StoreTest, CopyInConstraintViolationLeavesConnectionUsable) {
  ASSERT_TRUE(conn_->Exec("CREATE TABLE scratch (id bigint PRIMARY KEY, v text)").ok());
  // Many rows, a duplicate near the end: the server fails mid-stream.
  std::string data;
  for (int i = 0; i < 50000; ++i) absl::StrAppend(&data, i, "\tv\n");
  absl::StrAppend(&data, "7\tduplicate\n");
  for (int i = 50000; i < 50100; ++i) absl::StrAppend(&data, i, "\tv\n");
  absl::Status s = conn_->CopyIn("COPY scratch FROM STDIN", data);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_TRUE(Contains(s, "SQLSTATE 23505")) << s;
  EXPECT_FALSE(conn_->IsBroken());
  EXPECT_EQ(Count("SELECT count(*) FROM scratch"), 0);

  // Malformed data (wrong column count) is an error too.
  s = conn_->CopyIn("COPY scratch FROM STDIN", "1\ta\textra\n");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s, "SQLSTATE 22P04")) << s;

  // A COPY statement that is not FROM STDIN, and a missing table.
  s = conn_->CopyIn("SELECT 1", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  s = conn_->CopyIn("COPY no_such_table FROM STDIN", "1\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_TRUE(Contains(s, "SQLSTATE 42P01")) << s;

  // Still usable: a good COPY now works.
  ASSERT_TRUE(conn_->CopyIn("COPY scratch FROM STDIN", "1\tok\n2\tok\n").ok());
  EXPECT_EQ(Count("SELECT count(*) FROM scratch"), 2);
}

TEST_F(StoreTest, FailedCopyInTransactionMakesCommitAbort) {
  ASSERT_TRUE(conn_->Exec("CREATE TABLE scratch (id bigint PRIMARY KEY)").ok());
  ASSERT_TRUE(conn_->Begin().ok());
  EXPECT_TRUE(conn_->InTransaction());
  ASSERT_TRUE(conn_->CopyIn("COPY scratch FROM STDIN", "1\n2\n").ok());
  EXPECT_FALSE(conn_->CopyIn("COPY scratch FROM STDIN", "3\n3\n").ok());
  // The server answers COMMIT with ROLLBACK: that must not look like success.
  absl::Status commit = conn_->Commit();
  EXPECT_EQ(commit.code(), absl::StatusCode::kAborted) << commit;
  EXPECT_FALSE(conn_->InTransaction());
  EXPECT_EQ(Count("SELECT count(*) FROM scratch"), 0);
}

TEST_F(StoreTest, BeginRollbackDiscardsAndCommitKeeps) {
  ASSERT_TRUE(conn_->Exec("CREATE TABLE t (id int)").ok());
  ASSERT_TRUE(conn_->Begin().ok());
  ASSERT_TRUE(conn_->Exec("INSERT INTO t VALUES (1)").ok());
  EXPECT_EQ(Count("SELECT count(*) FROM t"), 1);
  ASSERT_TRUE(conn_->Rollback().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM t"), 0);

  ASSERT_TRUE(conn_->Begin().ok());
  ASSERT_TRUE(conn_->Query("INSERT INTO t VALUES ($1)", {"2"}).ok());
  ASSERT_TRUE(conn_->Commit().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM t"), 1);

  // Migrations refuse to run inside a caller's transaction.
  ASSERT_TRUE(conn_->Begin().ok());
  EXPECT_EQ(ApplyMigrations(*conn_).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(conn_->Rollback().ok());
}

TEST(RedactDsnTest, CutsPasswords) {
  EXPECT_EQ(RedactDsn("host=db user=pk password=s3cret dbname=x"),
            "host=db user=pk password=*** dbname=x");
  EXPECT_EQ(RedactDsn("password = 'with space \\' quote' host=db"),
            "password = *** host=db");
  EXPECT_EQ(RedactDsn("postgresql://pk:s3cret@db:5432/x?sslmode=require"),
            "postgresql://pk:***@db:5432/x?sslmode=require");
  EXPECT_EQ(RedactDsn("postgres://pk@db/x?password=s3cret&sslmode=disable"),
            "postgres://pk@db/x?password=***&sslmode=disable");
  EXPECT_EQ(RedactDsn("postgresql://pk:p%40ss@db"), "postgresql://pk:***@db");
  EXPECT_EQ(RedactDsn("host=db dbname=x"), "host=db dbname=x");
  EXPECT_EQ(RedactDsn(""), "");
  EXPECT_EQ(RedactDsn("pkiwatch"), "pkiwatch");
}

TEST(CopyEscapeTest, EscapesSpecialCharacters) {
  std::string out;
  CopyEscape("a\\b\tc\nd\re", &out);
  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re");
  AppendCopyNull(&out);
  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re\\N");
  EXPECT_EQ(QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteConninfoValue("a b'\\"), "'a b\\'\\\\'");
}

TEST(PgConnectionTest, WrongDsnIsUnavailableWithoutPassword) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // A socket directory with no server in it.
  const std::string dsn = absl::StrCat("host=", dir.path(),
                                       " port=5432 dbname=x user=pk "
                                       "password=topsecret connect_timeout=2");
  absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Connect(dsn);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable) << c.status();
  EXPECT_TRUE(Contains(c.status(), "PQconnectdbParams")) << c.status();
  EXPECT_TRUE(Contains(c.status(), "password=***")) << c.status();
  EXPECT_FALSE(Contains(c.status(), "topsecret")) << c.status();

  absl::StatusOr<std::unique_ptr<PgConnection>> bad =
      PgConnection::Connect("host=x nosuchoption=1 password=topsecret");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  EXPECT_FALSE(Contains(bad.status(), "topsecret")) << bad.status();
}

// ------------------------------------------------------- EmbeddedPostgres

EmbeddedPostgres::Options OptionsFor(const std::string& dir) {
  EmbeddedPostgres::Options o;
  o.data_dir = dir;
  o.fast_unsafe = true;
  return o;
}

absl::Status WriteRow(const std::string& dsn, const std::string& value) {
  absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Connect(dsn);
  if (!c.ok()) return c.status();
  absl::Status s = (*c)->Exec("CREATE TABLE IF NOT EXISTS kv (v text)");
  if (!s.ok()) return s;
  return (*c)->Query("INSERT INTO kv VALUES ($1)", {value}).status();
}

absl::StatusOr<std::vector<std::string>> ReadRows(const std::string& dsn) {
  absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Connect(dsn);
  if (!c.ok()) return c.status();
  absl::StatusOr<PgResult> r = (*c)->Query("SELECT v FROM kv ORDER BY v");
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.emplace_back(r->Get(i, 0));
  return out;
}

TEST(EmbeddedPostgresTest, RestartReusesData) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  {
    absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg =
        EmbeddedPostgres::Start(OptionsFor(dir.path()));
    ASSERT_TRUE(pg.ok()) << pg.status();
    EXPECT_TRUE(absl::StrContains((*pg)->dsn(), "dbname='pkiwatch'")) << (*pg)->dsn();
    ASSERT_TRUE(WriteRow((*pg)->dsn(), "before restart").ok());
    ASSERT_TRUE((*pg)->Stop().ok());
    ASSERT_TRUE((*pg)->Stop().ok());  // idempotent
    EXPECT_FALSE(PgConnection::Connect((*pg)->dsn()).ok());
  }
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> again =
      EmbeddedPostgres::Start(OptionsFor(dir.path()));
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<std::vector<std::string>> rows = ReadRows((*again)->dsn());
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, std::vector<std::string>{"before restart"});
  // Unix socket only: nothing listens on TCP.
  absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Connect((*again)->dsn());
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<PgResult> listen = (*c)->Query("SHOW listen_addresses");
  ASSERT_TRUE(listen.ok()) << listen.status();
  EXPECT_EQ(listen->Get(0, 0), "");
  EXPECT_TRUE((*again)->Stop().ok());
}

TEST(EmbeddedPostgresTest, TwoClustersAtOnce) {
  ScopedTempDir dir_a;
  ScopedTempDir dir_b;
  ASSERT_FALSE(dir_a.path().empty());
  ASSERT_FALSE(dir_b.path().empty());
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> a =
      EmbeddedPostgres::Start(OptionsFor(dir_a.path()));
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> b =
      EmbeddedPostgres::Start(OptionsFor(dir_b.path()));
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(WriteRow((*a)->dsn(), "in a").ok());
  ASSERT_TRUE(WriteRow((*b)->dsn(), "in b").ok());
  absl::StatusOr<std::vector<std::string>> rows_a = ReadRows((*a)->dsn());
  absl::StatusOr<std::vector<std::string>> rows_b = ReadRows((*b)->dsn());
  ASSERT_TRUE(rows_a.ok()) << rows_a.status();
  ASSERT_TRUE(rows_b.ok()) << rows_b.status();
  EXPECT_EQ(*rows_a, std::vector<std::string>{"in a"});
  EXPECT_EQ(*rows_b, std::vector<std::string>{"in b"});
}

TEST(EmbeddedPostgresTest, ReusesPostmasterLeftByKilledRun) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // A child process starts the cluster and exits without stopping it, as a
  // killed collector would.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg =
        EmbeddedPostgres::Start(OptionsFor(dir.path()));
    if (!pg.ok()) _exit(1);
    if (!WriteRow((*pg)->dsn(), "from killed run").ok()) _exit(2);
    _exit(0);  // no destructors: the postmaster keeps running
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);

  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg =
      EmbeddedPostgres::Start(OptionsFor(dir.path()));
  ASSERT_TRUE(pg.ok()) << pg.status();
  absl::StatusOr<std::vector<std::string>> rows = ReadRows((*pg)->dsn());
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, std::vector<std::string>{"from killed run"});
  EXPECT_TRUE((*pg)->Stop().ok());
}

TEST(EmbeddedPostgresTest, StaleLockFileWithReusedPidIsReplaced) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string cluster_dir;
  {
    absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg =
        EmbeddedPostgres::Start(OptionsFor(dir.path()));
    ASSERT_TRUE(pg.ok()) << pg.status();
    ASSERT_TRUE(WriteRow((*pg)->dsn(), "before reboot").ok());
    cluster_dir = (*pg)->cluster_dir();
    ASSERT_TRUE((*pg)->Stop().ok());
  }
  // As after a reboot: postmaster.pid names a PID now used by an unrelated
  // live process (a child that just waits to be killed).
  const pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    pause();
    _exit(0);
  }
  {
    std::ofstream pid_file(cluster_dir + "/postmaster.pid");
    pid_file << other << "\n" << cluster_dir << "\n1700000000\n5432\n"
             << dir.path() << "/run\n\n  5432001    0\nready   \n";
  }
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg =
      EmbeddedPostgres::Start(OptionsFor(dir.path()));
  kill(other, SIGKILL);
  waitpid(other, nullptr, 0);
  ASSERT_TRUE(pg.ok()) << pg.status();
  absl::StatusOr<std::vector<std::string>> rows = ReadRows((*pg)->dsn());
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, std::vector<std::string>{"before reboot"});
}

TEST(EmbeddedPostgresTest, LongDataDirUsesPrivateSocketDir) {
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string deep = absl::StrCat(
      dir.path(), "/a-rather-long-directory-name-to-exceed-the-socket-limit/"
                  "and-another-level-of-nesting-for-good-measure");
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg =
      EmbeddedPostgres::Start(OptionsFor(deep));
  ASSERT_TRUE(pg.ok()) << pg.status();
  const std::string socket_dir = (*pg)->socket_dir();
  EXPECT_TRUE(absl::StartsWith(socket_dir, "/tmp/pkiwatch-pg-")) << socket_dir;
  struct stat st;
  ASSERT_EQ(stat(socket_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(WriteRow((*pg)->dsn(), "deep").ok());
  ASSERT_TRUE((*pg)->Stop().ok());
  EXPECT_NE(stat(socket_dir.c_str(), &st), 0);  // removed on stop
}

TEST(EmbeddedPostgresTest, RootWithUnreachableDataDirFailsClearly) {
  if (geteuid() != 0) GTEST_SKIP() << "only meaningful when running as root";
  ScopedTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string locked = dir.path() + "/locked";
  ASSERT_EQ(mkdir(locked.c_str(), 0700), 0);
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg =
      EmbeddedPostgres::Start(OptionsFor(locked + "/data"));
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().code(), absl::StatusCode::kFailedPrecondition) << pg.status();
  EXPECT_TRUE(Contains(pg.status(), "/var/lib/pkiwatch")) << pg.status();
}

TEST(EmbeddedPostgresTest, BadOptions) {
  EXPECT_EQ(EmbeddedPostgres::Start(EmbeddedPostgres::Options{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ScopedTempDir dir;
  EmbeddedPostgres::Options o = OptionsFor(dir.path());
  o.bindir = dir.path();  // no pg_ctl here
  EXPECT_EQ(EmbeddedPostgres::Start(o).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pkiwatch::store
