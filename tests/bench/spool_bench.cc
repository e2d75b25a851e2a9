// Throughput of the agent's durable spool: Append of batches of 500 findings
// of 300 bytes (one synced transaction each), and the uplink's ReadAfter +
// AckThrough cycle. Prints findings/s per benchmark.
//
// The cost is dominated by fsync, so the file system matters: set
// PKIWATCH_BENCH_DIR to the directory to measure (default: the system temp
// directory).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "agent/core/spool.h"

namespace pkiwatch::agent {
namespace {

constexpr int kBatch = 500;
constexpr size_t kPayloadBytes = 300;

// A spool in a fresh temporary directory, removed afterwards.
class BenchSpool {
 public:
  explicit BenchSpool(uint64_t max_findings = 200000) {
    const char* env = std::getenv("PKIWATCH_BENCH_DIR");
    std::error_code ec;
    const std::filesystem::path base =
        env != nullptr ? std::filesystem::path(env)
                       : std::filesystem::temp_directory_path(ec);
    std::string tmpl = (base / "spool_bench.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      error_ = "mkdtemp(" + tmpl + ") failed";
      return;
    }
    dir_ = tmpl;
    absl::StatusOr<std::unique_ptr<Spool>> spool =
        Spool::Open({dir_ + "/spool.db", max_findings, 256ull << 20});
    if (!spool.ok()) {
      error_ = spool.status().ToString();
      return;
    }
    spool_ = std::move(*spool);
  }
  ~BenchSpool() {
    spool_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  Spool* get() const { return spool_.get(); }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  std::string error_;
  std::unique_ptr<Spool> spool_;
};

std::vector<std::string> MakeBatch(int batch_index) {
  std::vector<std::string> batch;
  batch.reserve(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    std::string p = "finding " + std::to_string(batch_index) + "/" +
                    std::to_string(i) + " ";
    p.resize(kPayloadBytes, 'x');
    batch.push_back(std::move(p));
  }
  return batch;
}

absl::Status Fill(Spool& spool, const std::vector<std::string>& batch,
                  int batches) {
  for (int i = 0; i < batches; ++i) {
    absl::StatusOr<std::vector<uint64_t>> seqs = spool.Append(batch);
    if (!seqs.ok()) return seqs.status();
  }
  return absl::OkStatus();
}

void SetRate(benchmark::State& state, int64_t findings) {
  state.SetItemsProcessed(findings);
  state.SetBytesProcessed(findings * static_cast<int64_t>(kPayloadBytes));
  state.counters["findings/s"] =
      benchmark::Counter(static_cast<double>(findings),
                         benchmark::Counter::kIsRate);
}

// Append with a moderate backlog: acked every 20 batches (outside timing),
// as an uplink keeping up would.
void BM_SpoolAppend(benchmark::State& state) {
  BenchSpool bench;
  if (bench.get() == nullptr) {
    state.SkipWithError(bench.error().c_str());
    return;
  }
  const std::vector<std::string> batch = MakeBatch(0);
  int64_t findings = 0;
  int since_ack = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::string> copy = batch;
    state.ResumeTiming();
    absl::StatusOr<std::vector<uint64_t>> seqs =
        bench.get()->Append(std::move(copy));
    if (!seqs.ok()) {
      state.SkipWithError(seqs.status().ToString().c_str());
      break;
    }
    findings += kBatch;
    if (++since_ack == 20) {
      state.PauseTiming();
      absl::Status ack = bench.get()->AckThrough(seqs->back());
      since_ack = 0;
      state.ResumeTiming();
      if (!ack.ok()) {
        state.SkipWithError(ack.ToString().c_str());
        break;
      }
    }
  }
  SetRate(state, findings);
}
BENCHMARK(BM_SpoolAppend)->Unit(benchmark::kMillisecond)->UseRealTime();

// Append into a full spool (collector down): every batch also drops the
// 500 oldest entries.
void BM_SpoolAppendAtBound(benchmark::State& state) {
  BenchSpool bench(/*max_findings=*/50000);
  if (bench.get() == nullptr) {
    state.SkipWithError(bench.error().c_str());
    return;
  }
  const std::vector<std::string> batch = MakeBatch(0);
  absl::Status filled = Fill(*bench.get(), batch, 100);  // To the bound.
  if (!filled.ok()) {
    state.SkipWithError(filled.ToString().c_str());
    return;
  }
  int64_t findings = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::string> copy = batch;
    state.ResumeTiming();
    absl::StatusOr<std::vector<uint64_t>> seqs =
        bench.get()->Append(std::move(copy));
    if (!seqs.ok()) {
      state.SkipWithError(seqs.status().ToString().c_str());
      break;
    }
    findings += kBatch;
  }
  SetRate(state, findings);
  state.counters["dropped"] =
      static_cast<double>(bench.get()->stats().dropped_total);
}
BENCHMARK(BM_SpoolAppendAtBound)->Unit(benchmark::kMillisecond)->UseRealTime();

// The uplink's cycle: read up to 500 entries (1 MiB), then acknowledge them.
// The spool is refilled with 50,000 entries, untimed, whenever it runs dry.
void BM_SpoolReadAfterAndAck(benchmark::State& state) {
  BenchSpool bench;
  if (bench.get() == nullptr) {
    state.SkipWithError(bench.error().c_str());
    return;
  }
  const std::vector<std::string> batch = MakeBatch(0);
  uint64_t last = 0;
  int64_t findings = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<Spool::Entry>> entries =
        bench.get()->ReadAfter(last, kBatch, 1 << 20);
    if (!entries.ok()) {
      state.SkipWithError(entries.status().ToString().c_str());
      break;
    }
    if (entries->empty()) {
      state.PauseTiming();
      absl::Status filled = Fill(*bench.get(), batch, 100);
      state.ResumeTiming();
      if (!filled.ok()) {
        state.SkipWithError(filled.ToString().c_str());
        break;
      }
      continue;
    }
    last = entries->back().seq;
    absl::Status ack = bench.get()->AckThrough(last);
    if (!ack.ok()) {
      state.SkipWithError(ack.ToString().c_str());
      break;
    }
    findings += static_cast<int64_t>(entries->size());
  }
  SetRate(state, findings);
}
BENCHMARK(BM_SpoolReadAfterAndAck)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace pkiwatch::agent

BENCHMARK_MAIN();
