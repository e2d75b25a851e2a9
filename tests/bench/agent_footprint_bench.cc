// What the agent costs a domain member: the real pkiwatch-agent process,
// streaming to an in-process collector (real PostgreSQL), probing CRLs served
// on loopback on a short schedule. Samples the process's resident memory
// every second and reads its CPU time at the end. Prints peak RSS, CPU
// seconds and share of one core, and CPU per delivered finding.
//
// usage: agent_footprint_bench [--seconds N] [--urls N] [--interval SECONDS]

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/store/pg_connection.h"
#include "tests/integration/in_process_collector.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_postgres.h"
#include "tests/unit/agent/probes/test_http_server.h"

extern char** environ;

namespace pkiwatch {
namespace {

constexpr char kSecret[] = "footprint-bench-secret";

struct Args {
  int seconds = 60;
  int urls = 20;
  int interval = 10;  // the agent's minimum schedule
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A "VmRSS:   1234 kB" style field of /proc/PID/status, in kB (0 if absent).
long StatusKb(pid_t pid, const char* field) {
  std::istringstream status(ReadFile(absl::StrCat("/proc/", pid, "/status")));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  }
  return 0;
}

// utime + stime of /proc/PID/stat, in seconds.
double CpuSeconds(pid_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // Fields after the command: state is the 3rd of the line; utime the 14th.
  if (f.size() < 13) return 0;
  return (std::atof(f[11].c_str()) + std::atof(f[12].c_str())) / sysconf(_SC_CLK_TCK);
}

int Run(const Args& a) {
  auto pg = testing::TestPostgres::Start();
  if (!pg.ok()) return std::fprintf(stderr, "%s\n", pg.status().ToString().c_str()), 1;
  auto dsn = (*pg)->CreateDatabase();
  if (!dsn.ok()) return 1;
  auto collector = testing::InProcessCollector::Start(*dsn, kSecret);
  if (!collector.ok()) {
    return std::fprintf(stderr, "%s\n", collector.status().ToString().c_str()), 1;
  }

  testing::ScopedTempDir dir;
  const std::string pki = dir.path() + "/pki";
  if (std::system(absl::StrCat(PKIWATCH_SOURCE_DIR, "/deploy/linux/make-demo-pki.sh ", pki,
                               " '/CN=Footprint Bench CA' >/dev/null 2>&1")
                      .c_str()) != 0) {
    std::fprintf(stderr, "make-demo-pki.sh failed\n");
    return 1;
  }
  const std::string crl = ReadFile(pki + "/ca.crl");
  testing::TestHttpServer http;
  http.server().Get(R"(/crl/\d+\.crl)", [&crl](const httplib::Request&, httplib::Response& res) {
    res.set_content(crl, "application/pkix-crl");
  });
  if (!http.Start()) return std::fprintf(stderr, "no HTTP server\n"), 1;

  std::string watches;
  for (int i = 0; i < a.urls; ++i) {
    absl::StrAppend(&watches, i ? "," : "", "{\"url\": \"http://127.0.0.1:", http.port(),
                    "/crl/", i, ".crl\", \"issuerCertFile\": \"", pki, "/ca.pem\"}");
  }
  const std::string config = dir.path() + "/agent.json";
  std::ofstream(config) << "{\"collector\": \"" << (*collector)->address()
                        << "\", \"stateDir\": \"" << dir.path() << "/state\", \"crlWatches\": ["
                        << watches << "], \"schedules\": [{\"probe\": \"crl\", \"intervalSeconds\": "
                        << a.interval << ", \"jitterSeconds\": 0}], \"http\": {\"noProxy\": true}}";
  std::ofstream(dir.path() + "/secret") << kSecret << "\n";

  const std::string log = dir.path() + "/agent.log";
  std::vector<std::string> argv_s = {PKIWATCH_AGENT_BIN, "--config", config,
                                     "--enroll-secret-file", dir.path() + "/secret"};
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
    return std::fprintf(stderr, "cannot start %s\n", argv[0]), 1;
  }
  posix_spawn_file_actions_destroy(&actions);

  long peak_rss = 0;
  for (int s = 0; s < a.seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    peak_rss = std::max(peak_rss, StatusKb(pid, "VmRSS:"));
  }
  const double cpu = CpuSeconds(pid);
  const long hwm = StatusKb(pid, "VmHWM:");
  const long threads = StatusKb(pid, "Threads:");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);

  auto db = store::PgConnection::Connect(*dsn);
  long findings = 0;
  if (db.ok()) {
    auto r = (*db)->Query("SELECT count(*) FROM findings");
    if (r.ok()) findings = static_cast<long>(r->GetInt64(0, 0));
  }
  std::printf("agent footprint: %d s, %d CRL watches every %d s (loopback HTTP, real collector)\n",
              a.seconds, a.urls, a.interval);
  std::printf("  peak RSS %.1f MiB (high-water %.1f MiB), %ld threads\n", peak_rss / 1024.0,
              hwm / 1024.0, threads);
  std::printf("  CPU %.2f s = %.2f %% of one core\n", cpu, 100.0 * cpu / a.seconds);
  std::printf("  %ld findings delivered, %.2f ms CPU per finding\n", findings,
              findings > 0 ? 1000.0 * cpu / findings : 0.0);
  std::printf("  exit status %d after SIGTERM\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return findings > 0 ? 0 : 1;
}

}  // namespace
}  // namespace pkiwatch

int main(int argc, char** argv) {
  pkiwatch::Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const int v = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) a.seconds = v;
    if (!std::strcmp(argv[i], "--urls")) a.urls = v;
    if (!std::strcmp(argv[i], "--interval")) a.interval = v;
  }
  if (a.seconds < 1 || a.urls < 1 || a.interval < 10) {
    std::fprintf(stderr, "usage: %s [--seconds N>=1] [--urls N>=1] [--interval S>=10]\n", argv[0]);
    return 2;
  }
  return pkiwatch::Run(a);
}
