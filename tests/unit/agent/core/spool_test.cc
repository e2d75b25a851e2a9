#include "agent/core/spool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/core/sqlite_db.h"
#include "gtest/gtest.h"

namespace pkiwatch::agent {
namespace {

// Passes when `text` contains `part`, showing both otherwise.
::testing::AssertionResult Contains(absl::string_view text,
                                    absl::string_view part) {
  if (absl::StrContains(text, part)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not contain \"" << part << "\"";
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "spool_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << "mkdtemp(" << tmpl << ")";
    dir_ = tmpl;
    path_ = dir_ + "/spool.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Spool> MustOpen(uint64_t max_findings = 200000,
                                  uint64_t max_bytes = 256ull << 20) {
    absl::StatusOr<std::unique_ptr<Spool>> spool =
        Spool::Open({path_, max_findings, max_bytes});
    EXPECT_TRUE(spool.ok()) << spool.status();
    return spool.ok() ? std::move(*spool) : nullptr;
  }

  std::string dir_;
  std::string path_;
};

std::vector<std::string> Payloads(const std::string& prefix, int count,
                                  size_t pad_to = 0) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string p = absl::StrCat(prefix, i);
    if (p.size() < pad_to) p.resize(pad_to, '.');
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<uint64_t> Seqs(const std::vector<Spool::Entry>& entries) {
  std::vector<uint64_t> out;
  out.reserve(entries.size());
  for (const Spool::Entry& e : entries) out.push_back(e.seq);
  return out;
}

std::vector<Spool::Entry> ReadAll(Spool& spool) {
  absl::StatusOr<std::vector<Spool::Entry>> all =
      spool.ReadAfter(0, SIZE_MAX, SIZE_MAX);
  EXPECT_TRUE(all.ok()) << all.status();
  return all.ok() ? *all : std::vector<Spool::Entry>{};
}

TEST_F(SpoolTest, AppendReadAckInOrder) {
  std::unique_ptr<Spool> spool = MustOpen();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->stats().next_seq, 1u);

  absl::StatusOr<std::vector<uint64_t>> seqs =
      spool->Append({"a", "bb", "ccc"});
  ASSERT_TRUE(seqs.ok()) << seqs.status();
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{1, 2, 3}));
  seqs = spool->Append({"dddd", ""});
  ASSERT_TRUE(seqs.ok()) << seqs.status();
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{4, 5}));

  Spool::Stats stats = spool->stats();
  EXPECT_EQ(stats.depth, 5u);
  EXPECT_EQ(stats.bytes, 10u);
  EXPECT_EQ(stats.next_seq, 6u);
  EXPECT_EQ(stats.dropped_total, 0u);

  std::vector<Spool::Entry> all = ReadAll(*spool);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(Seqs(all), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(all[0].payload, "a");
  EXPECT_EQ(all[3].payload, "dddd");
  EXPECT_EQ(all[4].payload, "");

  absl::StatusOr<std::vector<Spool::Entry>> after = spool->ReadAfter(3, 10, 1000);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(Seqs(*after), (std::vector<uint64_t>{4, 5}));

  ASSERT_TRUE(spool->AckThrough(2).ok());
  EXPECT_EQ(Seqs(ReadAll(*spool)), (std::vector<uint64_t>{3, 4, 5}));
  stats = spool->stats();
  EXPECT_EQ(stats.depth, 3u);
  EXPECT_EQ(stats.bytes, 7u);

  // Acking again, or acking nothing, changes nothing.
  ASSERT_TRUE(spool->AckThrough(2).ok());
  ASSERT_TRUE(spool->AckThrough(0).ok());
  EXPECT_EQ(spool->stats().depth, 3u);

  ASSERT_TRUE(spool->AckThrough(5).ok());
  EXPECT_TRUE(ReadAll(*spool).empty());
  stats = spool->stats();
  EXPECT_EQ(stats.depth, 0u);
  EXPECT_EQ(stats.bytes, 0u);
  EXPECT_EQ(stats.next_seq, 6u);

  // An empty batch stores nothing and consumes no seq.
  seqs = spool->Append({});
  ASSERT_TRUE(seqs.ok());
  EXPECT_TRUE(seqs->empty());
  EXPECT_EQ(spool->stats().next_seq, 6u);
}

TEST_F(SpoolTest, FileIsCreatedWithMode0600) {
  std::unique_ptr<Spool> spool = MustOpen();
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Append({"x"}).ok());
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The WAL is open while the spool is; it must not be readable by others.
  const std::string wal = path_ + "-wal";
  ASSERT_EQ(stat(wal.c_str(), &st), 0) << wal;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SpoolTest, SeqsContinueAfterReopenAndAfterDeletingEverything) {
  {
    std::unique_ptr<Spool> spool = MustOpen();
    ASSERT_NE(spool, nullptr);
    ASSERT_TRUE(spool->Append({"a", "b", "c"}).ok());
  }
  {
    std::unique_ptr<Spool> spool = MustOpen();
    ASSERT_NE(spool, nullptr);
    Spool::Stats stats = spool->stats();
    EXPECT_EQ(stats.depth, 3u);
    EXPECT_EQ(stats.bytes, 3u);
    EXPECT_EQ(stats.next_seq, 4u);
    absl::StatusOr<std::vector<uint64_t>> seqs = spool->Append({"d"});
    ASSERT_TRUE(seqs.ok()) << seqs.status();
    EXPECT_EQ(*seqs, (std::vector<uint64_t>{4}));
    // Delete everything: the highest seq must still never be reused.
    ASSERT_TRUE(spool->AckThrough(4).ok());
    seqs = spool->Append({"e"});
    ASSERT_TRUE(seqs.ok());
    EXPECT_EQ(*seqs, (std::vector<uint64_t>{5}));
    ASSERT_TRUE(spool->AckThrough(5).ok());
  }
  {
    std::unique_ptr<Spool> spool = MustOpen();
    ASSERT_NE(spool, nullptr);
    EXPECT_EQ(spool->stats().depth, 0u);
    EXPECT_EQ(spool->stats().next_seq, 6u);
    absl::StatusOr<std::vector<uint64_t>> seqs = spool->Append({"f", "g"});
    ASSERT_TRUE(seqs.ok());
    EXPECT_EQ(*seqs, (std::vector<uint64_t>{6, 7}));
  }
}

TEST_F(SpoolTest, CountBoundDropsOldestAndCountsDrops) {
  {
    std::unique_ptr<Spool> spool = MustOpen(/*max_findings=*/10);
    ASSERT_NE(spool, nullptr);
    ASSERT_TRUE(spool->Append(Payloads("a", 8)).ok());
    ASSERT_TRUE(spool->Append(Payloads("b", 7)).ok());  // seqs 9..15
    std::vector<Spool::Entry> all = ReadAll(*spool);
    ASSERT_EQ(all.size(), 10u);
    EXPECT_EQ(all.front().seq, 6u);
    EXPECT_EQ(all.front().payload, "a5");
    EXPECT_EQ(all.back().seq, 15u);
    EXPECT_EQ(all.back().payload, "b6");
    Spool::Stats stats = spool->stats();
    EXPECT_EQ(stats.depth, 10u);
    EXPECT_EQ(stats.dropped_total, 5u);
    EXPECT_EQ(stats.next_seq, 16u);
  }
  // dropped_total is persisted.
  std::unique_ptr<Spool> spool = MustOpen(/*max_findings=*/10);
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->stats().dropped_total, 5u);
  EXPECT_EQ(spool->stats().depth, 10u);
}

TEST_F(SpoolTest, ByteBoundDropsOldestAndCountsDrops) {
  std::unique_ptr<Spool> spool =
      MustOpen(/*max_findings=*/1000, /*max_bytes=*/100);
  ASSERT_NE(spool, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(spool->Append({std::string(30, static_cast<char>('a' + i))})
                    .ok());
  }
  // 3 x 30 bytes fit in 100; the two oldest went.
  std::vector<Spool::Entry> all = ReadAll(*spool);
  EXPECT_EQ(Seqs(all), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(all.front().payload, std::string(30, 'c'));
  Spool::Stats stats = spool->stats();
  EXPECT_EQ(stats.bytes, 90u);
  EXPECT_EQ(stats.depth, 3u);
  EXPECT_EQ(stats.dropped_total, 2u);

  // One payload of exactly max_bytes pushes out everything else.
  ASSERT_TRUE(spool->Append({std::string(100, 'z')}).ok());
  all = ReadAll(*spool);
  EXPECT_EQ(Seqs(all), (std::vector<uint64_t>{6}));
  EXPECT_EQ(spool->stats().bytes, 100u);
  EXPECT_EQ(spool->stats().dropped_total, 5u);
}

TEST_F(SpoolTest, BatchLargerThanBoundKeepsItsNewestEntries) {
  std::unique_ptr<Spool> spool = MustOpen(/*max_findings=*/3);
  ASSERT_NE(spool, nullptr);
  absl::StatusOr<std::vector<uint64_t>> seqs = spool->Append(Payloads("p", 5));
  ASSERT_TRUE(seqs.ok()) << seqs.status();
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  std::vector<Spool::Entry> all = ReadAll(*spool);
  EXPECT_EQ(Seqs(all), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(spool->stats().dropped_total, 2u);
  EXPECT_EQ(spool->stats().next_seq, 6u);
}

TEST_F(SpoolTest, PayloadLargerThanMaxBytesIsRejectedAndStoresNothing) {
  std::unique_ptr<Spool> spool = MustOpen(1000, /*max_bytes=*/10);
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Append({"ok"}).ok());
  absl::StatusOr<std::vector<uint64_t>> seqs =
      spool->Append({"fine", std::string(11, 'x')});
  EXPECT_EQ(seqs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(seqs.status().message(), path_));
  Spool::Stats stats = spool->stats();
  EXPECT_EQ(stats.depth, 1u);
  EXPECT_EQ(stats.next_seq, 2u);
  EXPECT_EQ(Seqs(ReadAll(*spool)), (std::vector<uint64_t>{1}));
}

TEST_F(SpoolTest, ReadAfterHonoursCountAndByteLimits) {
  std::unique_ptr<Spool> spool = MustOpen();
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Append(Payloads("", 10, /*pad_to=*/10)).ok());

  absl::StatusOr<std::vector<Spool::Entry>> got = spool->ReadAfter(0, 3, 1000);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Seqs(*got), (std::vector<uint64_t>{1, 2, 3}));

  got = spool->ReadAfter(2, 100, 25);  // 2 x 10 bytes fit, a third does not.
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Seqs(*got), (std::vector<uint64_t>{3, 4}));

  got = spool->ReadAfter(2, 100, 30);  // Exactly full.
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Seqs(*got), (std::vector<uint64_t>{3, 4, 5}));

  got = spool->ReadAfter(5, 100, 5);  // Always at least one entry.
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Seqs(*got), (std::vector<uint64_t>{6}));

  got = spool->ReadAfter(7, 100, 0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Seqs(*got), (std::vector<uint64_t>{8}));

  got = spool->ReadAfter(10, 100, 1000);  // Nothing after the last.
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());

  got = spool->ReadAfter(UINT64_MAX, 100, 1000);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());

  got = spool->ReadAfter(0, 0, 1000);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SpoolTest, EnsureSeqAboveOnFreshSpool) {
  {
    std::unique_ptr<Spool> spool = MustOpen();
    ASSERT_NE(spool, nullptr);
    ASSERT_TRUE(spool->EnsureSeqAbove(100).ok());
    EXPECT_EQ(spool->stats().next_seq, 101u);
  }
  std::unique_ptr<Spool> spool = MustOpen();  // Persisted.
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->stats().next_seq, 101u);
  absl::StatusOr<std::vector<uint64_t>> seqs = spool->Append({"a"});
  ASSERT_TRUE(seqs.ok());
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{101}));
}

TEST_F(SpoolTest, EnsureSeqAboveDeletesHeldEntriesAndNeverLowers) {
  std::unique_ptr<Spool> spool = MustOpen();
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Append(Payloads("p", 5)).ok());

  ASSERT_TRUE(spool->EnsureSeqAbove(3).ok());
  EXPECT_EQ(Seqs(ReadAll(*spool)), (std::vector<uint64_t>{4, 5}));
  Spool::Stats stats = spool->stats();
  EXPECT_EQ(stats.next_seq, 6u);
  EXPECT_EQ(stats.depth, 2u);
  EXPECT_EQ(stats.dropped_total, 0u);  // Held by the collector, not dropped.

  ASSERT_TRUE(spool->EnsureSeqAbove(0).ok());
  EXPECT_EQ(spool->stats().next_seq, 6u);

  ASSERT_TRUE(spool->EnsureSeqAbove(50).ok());
  EXPECT_TRUE(ReadAll(*spool).empty());
  EXPECT_EQ(spool->stats().next_seq, 51u);
  EXPECT_EQ(spool->stats().depth, 0u);

  absl::Status too_big = spool->EnsureSeqAbove(UINT64_MAX);
  EXPECT_EQ(too_big.code(), absl::StatusCode::kOutOfRange);
  too_big = spool->EnsureSeqAbove(INT64_MAX);
  EXPECT_EQ(too_big.code(), absl::StatusCode::kOutOfRange);
  // next_seq must stay storable as a signed 64-bit integer.
  constexpr uint64_t kLast = static_cast<uint64_t>(INT64_MAX) - 1;
  ASSERT_TRUE(spool->EnsureSeqAbove(kLast - 1).ok());
  EXPECT_EQ(spool->stats().next_seq, kLast);
  absl::StatusOr<std::vector<uint64_t>> seqs = spool->Append({"last"});
  ASSERT_TRUE(seqs.ok()) << seqs.status();
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{kLast}));
  seqs = spool->Append({"one too many"});
  EXPECT_EQ(seqs.status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(SpoolTest, GarbageFileIsAClearErrorAndIsLeftAlone) {
  std::string garbage;
  for (int i = 0; i < 200; ++i) garbage += "this is not an SQLite database. ";
  {
    std::ofstream out(path_, std::ios::binary);
    out << garbage;
  }
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open({path_});
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), absl::StatusCode::kDataLoss);
  const std::string message(spool.status().message());
  EXPECT_TRUE(Contains(message, path_));
  EXPECT_TRUE(Contains(message, "SQLITE_NOTADB"));
  EXPECT_TRUE(Contains(message, "file is not a database"));

  std::ifstream in(path_, std::ios::binary);
  std::string after((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  EXPECT_EQ(after, garbage);
}

TEST_F(SpoolTest, ForeignSqliteDatabaseIsRefusedAndLeftAlone) {
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(
        path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)").ok());
  }
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open({path_});
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(spool.status().message(), path_));
  EXPECT_TRUE(Contains(spool.status().message(), "not a pkiwatch spool"));

  absl::StatusOr<std::unique_ptr<SqliteDb>> db =
      SqliteDb::Open(path_, SQLITE_OPEN_READONLY);
  ASSERT_TRUE(db.ok());
  absl::StatusOr<std::string> mode = (*db)->QueryText("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(*mode, "delete");  // Not switched to WAL.
  absl::StatusOr<int64_t> x = (*db)->QueryInt64("SELECT x FROM t");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(*x, 1);
}

TEST_F(SpoolTest, NewerSchemaVersionIsRefused) {
  {
    std::unique_ptr<Spool> spool = MustOpen();
    ASSERT_NE(spool, nullptr);
  }
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db =
        SqliteDb::Open(path_, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open({path_});
  ASSERT_FALSE(spool.ok());
  EXPECT_EQ(spool.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(spool.status().message(), "99"));
}

TEST_F(SpoolTest, BadOptionsAndMissingDirectoryAreErrors) {
  EXPECT_EQ(Spool::Open({""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Spool::Open({path_, 0, 10}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Spool::Open({path_, 10, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);

  const std::string missing = dir_ + "/no/such/dir/spool.db";
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open({missing});
  ASSERT_FALSE(spool.ok());
  EXPECT_TRUE(Contains(spool.status().message(), missing));
  EXPECT_TRUE(Contains(spool.status().message(), "SQLITE_CANTOPEN"));
}

// The scheduler thread appends while the uplink thread reads and acks: every
// seq is seen exactly once, in order, with its own payload.
TEST_F(SpoolTest, ConcurrentAppendAndReadAck) {
  constexpr int kTotal = 20000;
  constexpr int kBatch = 100;
  std::unique_ptr<Spool> spool = MustOpen();
  ASSERT_NE(spool, nullptr);

  std::atomic<bool> writer_done{false};
  std::string writer_error;
  std::thread writer([&] {
    uint64_t expected = 1;
    for (int base = 0; base < kTotal; base += kBatch) {
      std::vector<std::string> batch;
      for (int i = base; i < base + kBatch; ++i) {
        batch.push_back(absl::StrCat("payload-", i));
      }
      absl::StatusOr<std::vector<uint64_t>> seqs = spool->Append(batch);
      if (!seqs.ok()) {
        writer_error = seqs.status().ToString();
        break;
      }
      for (uint64_t seq : *seqs) {
        if (seq != expected++) {
          writer_error = absl::StrCat("Append returned seq ", seq);
          break;
        }
      }
      if (!writer_error.empty()) break;
    }
    writer_done.store(true);
  });

  std::string reader_error;
  uint64_t last = 0;
  while (last < static_cast<uint64_t>(kTotal)) {
    const bool done_before_read = writer_done.load();
    absl::StatusOr<std::vector<Spool::Entry>> got =
        spool->ReadAfter(last, 700, 64 << 10);
    if (!got.ok()) {
      reader_error = got.status().ToString();
      break;
    }
    if (got->empty()) {
      // The writer finished before this read and nothing is left: stuck.
      if (done_before_read) {
        reader_error = absl::StrCat("no entries after seq ", last);
        break;
      }
      absl::SleepFor(absl::Milliseconds(1));
      continue;
    }
    for (const Spool::Entry& e : *got) {
      if (e.seq != last + 1 ||
          e.payload != absl::StrCat("payload-", e.seq - 1)) {
        reader_error = absl::StrCat("after seq ", last, " got seq ", e.seq,
                                    " payload ", e.payload);
        break;
      }
      last = e.seq;
    }
    if (!reader_error.empty()) break;
    absl::Status ack = spool->AckThrough(last);
    if (!ack.ok()) {
      reader_error = ack.ToString();
      break;
    }
  }
  writer.join();
  EXPECT_EQ(writer_error, "");
  EXPECT_EQ(reader_error, "");
  EXPECT_EQ(last, static_cast<uint64_t>(kTotal));
  Spool::Stats stats = spool->stats();
  EXPECT_EQ(stats.depth, 0u);
  EXPECT_EQ(stats.bytes, 0u);
  EXPECT_EQ(stats.next_seq, static_cast<uint64_t>(kTotal) + 1);
  EXPECT_EQ(stats.dropped_total, 0u);
}

// ------------------------------------------------------------ kill -9 test

struct Report {
  uint32_t batch;
  uint64_t first_seq;
};

constexpr int kKillBatch = 200;
constexpr uint32_t kChildMaxBatches = 20000;  // Bounds a child left alone.
constexpr size_t kKillAfterReports = 15;

std::string KillPayload(int round, uint32_t batch, int index) {
  std::string p = absl::StrCat("round ", round, " batch ", batch, " index ",
                               index, " ");
  p.resize(300, '#');
  return p;
}

// Runs in the forked child: appends batches until killed and reports each
// one after Append returned. Never returns; exit codes tell failures.
[[noreturn]] void AppendUntilKilled(const std::string& path, int round,
                                    int report_fd) {
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open({path});
  if (!spool.ok()) _exit(2);
  for (uint32_t b = 0; b < kChildMaxBatches; ++b) {
    std::vector<std::string> payloads;
    payloads.reserve(kKillBatch);
    for (int i = 0; i < kKillBatch; ++i) {
      payloads.push_back(KillPayload(round, b, i));
    }
    absl::StatusOr<std::vector<uint64_t>> seqs =
        (*spool)->Append(std::move(payloads));
    if (!seqs.ok() || seqs->size() != static_cast<size_t>(kKillBatch)) _exit(3);
    const Report report{b, seqs->front()};
    if (write(report_fd, &report, sizeof(report)) !=
        static_cast<ssize_t>(sizeof(report))) {
      _exit(4);
    }
  }
  _exit(0);
}

// Reads one report; false at end of stream. Fails the test on a 60 s stall
// (a bound against hanging, not a timing assertion).
bool ReadReport(int fd, Report* report) {
  char* out = reinterpret_cast<char*>(report);
  size_t got = 0;
  while (got < sizeof(Report)) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, 60000);
    if (ready <= 0) {
      ADD_FAILURE() << "no progress report from the child within 60 s";
      return false;
    }
    const ssize_t n = read(fd, out + got, sizeof(Report) - got);
    if (n == 0) {
      EXPECT_EQ(got, 0u) << "truncated report";
      return false;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "read: " << errno;
      return false;
    }
    got += static_cast<size_t>(n);
  }
  return true;
}

TEST_F(SpoolTest, SurvivesSigkillDuringAppends) {
  // seq -> payload of every batch known to be committed, over all rounds.
  std::map<uint64_t, std::string> expected;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork: " << errno;
    if (pid == 0) {
      close(fds[0]);
      AppendUntilKilled(path_, round, fds[1]);
    }
    close(fds[1]);

    std::vector<Report> reports;
    Report report;
    while (reports.size() < kKillAfterReports && ReadReport(fds[0], &report)) {
      reports.push_back(report);
    }
    kill(pid, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus))
        << "child exited with " << WEXITSTATUS(wstatus);
    EXPECT_EQ(WTERMSIG(wstatus), SIGKILL);
    // Reports still in the pipe are batches that were committed too.
    while (ReadReport(fds[0], &report)) reports.push_back(report);
    close(fds[0]);
    ASSERT_GE(reports.size(), kKillAfterReports);

    // This round continues right after everything committed before.
    ASSERT_EQ(reports.front().first_seq, expected.size() + 1);
    uint64_t expected_next = reports.front().first_seq;
    for (size_t k = 0; k < reports.size(); ++k) {
      // Batches are numbered 0, 1, ... and take consecutive seqs.
      ASSERT_EQ(reports[k].batch, k);
      ASSERT_EQ(reports[k].first_seq, expected_next);
      expected_next += kKillBatch;
      for (int i = 0; i < kKillBatch; ++i) {
        expected[reports[k].first_seq + static_cast<uint64_t>(i)] =
            KillPayload(round, reports[k].batch, i);
      }
    }

    // The file opens cleanly (WAL recovery) and holds every reported batch,
    // plus at most the one batch committed before its report was written.
    // Each Append is one transaction: never part of a batch.
    std::unique_ptr<Spool> spool = MustOpen();
    ASSERT_NE(spool, nullptr);
    std::vector<Spool::Entry> all = ReadAll(*spool);
    const uint64_t reported_last = expected_next - 1;
    ASSERT_TRUE(all.size() == reported_last ||
                all.size() == reported_last + kKillBatch)
        << all.size() << " entries, " << reported_last << " reported";
    if (all.size() > reported_last) {
      const uint32_t unreported = reports.back().batch + 1;
      for (int i = 0; i < kKillBatch; ++i) {
        expected[expected_next + static_cast<uint64_t>(i)] =
            KillPayload(round, unreported, i);
      }
    }
    ASSERT_EQ(expected.size(), all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      ASSERT_EQ(all[i].seq, i + 1) << "seqs are not contiguous";
      ASSERT_EQ(all[i].payload, expected[all[i].seq]) << "seq " << all[i].seq;
    }
    Spool::Stats stats = spool->stats();
    EXPECT_EQ(stats.depth, all.size());
    EXPECT_EQ(stats.next_seq, all.size() + 1);
    EXPECT_EQ(stats.dropped_total, 0u);
    spool.reset();

    absl::StatusOr<std::unique_ptr<SqliteDb>> db =
        SqliteDb::Open(path_, SQLITE_OPEN_READONLY);
    ASSERT_TRUE(db.ok()) << db.status();
    absl::StatusOr<std::string> check =
        (*db)->QueryText("PRAGMA integrity_check");
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_EQ(*check, "ok");
  }
}

}  // namespace
}  // namespace pkiwatch::agent
