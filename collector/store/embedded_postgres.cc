#include "collector/store/embedded_postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/store/pg_connection.h"

extern char** environ;

namespace pkiwatch::store {
namespace {

namespace fs = std::filesystem;

// The socket file is <dir>/.s.PGSQL.<port> and must fit in sun_path (108
// bytes including the NUL); PostgreSQL refuses longer paths.
constexpr size_t kMaxSocketPath = 107;
constexpr size_t kSocketFileNameLen = sizeof("/.s.PGSQL.65535") - 1;
// Every cluster has its own socket directory, so they can all use the
// default port without colliding.
constexpr int kPort = 5432;
constexpr absl::Duration kProcessTimeout = absl::Seconds(120);
// Output kept from a child process for error messages.
constexpr size_t kMaxOutput = 8192;

// Debian's Abseil has its own string_view type; convert explicitly.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

std::string ErrnoText(int err) {
  return absl::StrCat(err, " ", std::strerror(err));
}

// Who the PostgreSQL binaries run as. Unset: the current user.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home;
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr interleaved, tail only
};

std::string Tail(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return absl::StrCat("...", Sv(text.substr(text.size() - max)));
}

std::string Trimmed(std::string_view text) {
  return std::string(absl::StripAsciiWhitespace(Sv(text)));
}

// Environment for the PostgreSQL tools: ours without PG* variables (PGPORT,
// PGDATA, PGHOST... would silently redirect the server or pg_ctl), messages
// in English so they read the same in every log, and the run-as user's HOME.
std::vector<std::string> ChildEnvironment(const RunAs* run_as) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("PG") || entry.starts_with("LC_") ||
        entry.starts_with("LANG=") ||
        entry.starts_with("LANGUAGE=")) {
      continue;
    }
    if (run_as != nullptr &&
        (entry.starts_with("HOME=") || entry.starts_with("USER=") ||
         entry.starts_with("LOGNAME="))) {
      continue;
    }
    env.emplace_back(entry);
  }
  env.emplace_back("LC_ALL=C");
  if (run_as != nullptr) {
    env.push_back(absl::StrCat("HOME=", run_as->home));
    env.emplace_back("USER=postgres");
    env.emplace_back("LOGNAME=postgres");
  }
  return env;
}

// In the forked child: drop to `run_as`. Only async-signal-safe calls.
bool ChildDropPrivileges(const RunAs* run_as) {
  if (run_as == nullptr) return true;
  if (setgroups(run_as->groups.size(), run_as->groups.data()) != 0) return false;
  if (setgid(run_as->gid) != 0) return false;
  if (setuid(run_as->uid) != 0) return false;
  return true;
}

void ChildCloseInheritedFds() {
  // The postmaster outlives us; it must not hold our sockets or the pipes of
  // whoever started us (a test runner waiting for EOF would hang).
  if (close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < 65536; ++fd) close(fd);
  }
}

// In the forked child: report `what` and errno on stderr (the pipe) and
// exit. Only async-signal-safe calls, so errno is printed as digits.
[[noreturn]] void ChildFail(const char* what) {
  int err = errno;
  char digits[16];
  size_t n = 0;
  do {
    digits[sizeof(digits) - 1 - n++] = static_cast<char>('0' + err % 10);
    err /= 10;
  } while (err > 0 && n < sizeof(digits) - 1);
  (void)!write(2, what, std::strlen(what));
  (void)!write(2, "errno ", 6);
  (void)!write(2, digits + sizeof(digits) - n, n);
  (void)!write(2, "\n", 1);
  _exit(127);
}

// Runs argv[0] (an absolute path) with argv, without a shell, capturing
// stdout and stderr. Killed after kProcessTimeout.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const RunAs* run_as) {
  if (argv.empty()) return absl::InvalidArgumentError("RunProcess: empty argv");
  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed in a multi-threaded process.
  std::vector<char*> c_argv;
  for (const std::string& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<std::string> env = ChildEnvironment(run_as);
  std::vector<char*> c_env;
  for (std::string& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", ErrnoText(errno)));
  }
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    const int err = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return absl::InternalError(absl::StrCat("open(/dev/null): ", ErrnoText(err)));
  }

  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    close(devnull);
    return absl::InternalError(absl::StrCat("fork: ", ErrnoText(err)));
  }
  if (pid == 0) {
    if (dup2(devnull, 0) < 0 || dup2(pipe_fds[1], 1) < 0 ||
        dup2(pipe_fds[1], 2) < 0) {
      _exit(127);
    }
    ChildCloseInheritedFds();
    if (!ChildDropPrivileges(run_as)) ChildFail("cannot switch to user postgres: ");
    // A directory every user can enter: the caller's cwd may be /root.
    if (chdir("/") != 0) ChildFail("chdir(/): ");
    execve(c_argv[0], c_argv.data(), c_env.data());
    ChildFail("execve: ");
  }
  close(pipe_fds[1]);
  close(devnull);

  ProcessResult result;
  const absl::Time deadline = absl::Now() + kProcessTimeout;
  bool timed_out = false;
  char buffer[4096];
  while (true) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) continue;
    const ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (n == 0) break;  // EOF: the child and its descendants closed stdout
    result.output.append(buffer, static_cast<size_t>(n));
    if (result.output.size() > 4 * kMaxOutput) {
      result.output = Tail(result.output, kMaxOutput);
    }
  }
  close(pipe_fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(
          absl::StrCat("waitpid(", argv[0], "): ", ErrnoText(errno)));
    }
  }
  result.output = Tail(result.output, kMaxOutput);
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        argv[0], ": no result after ", absl::FormatDuration(kProcessTimeout),
        "; output: ", Trimmed(result.output)));
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return result;
}

// Same as RunProcess but any non-zero exit is an error carrying the output.
absl::Status RunChecked(const std::vector<std::string>& argv, const RunAs* run_as) {
  absl::StatusOr<ProcessResult> r = RunProcess(argv, run_as);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    std::string cmd;
    for (size_t i = 0; i < argv.size() && i < 3; ++i) {
      absl::StrAppend(&cmd, i == 0 ? "" : " ", argv[i]);
    }
    return absl::InternalError(absl::StrCat(cmd, " ...: exit code ", r->exit_code,
                                            ": ", Trimmed(r->output)));
  }
  return absl::OkStatus();
}

// Whether `run_as` can search (traverse into) `dir`, checked by the kernel in
// a child running as that user, so ACLs and group membership count.
bool CanTraverse(const std::string& dir, const RunAs& run_as) {
  const pid_t pid = fork();
  if (pid < 0) return true;  // cannot tell: let initdb report the problem
  if (pid == 0) {
    if (!ChildDropPrivileges(&run_as)) _exit(2);
    _exit(access(dir.c_str(), X_OK) == 0 ? 0 : 1);
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return true;
  }
  return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
}

absl::StatusOr<RunAs> LookUpPostgresUser() {
  // getpwnam_r: other threads may use the passwd database too.
  struct passwd pwd;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  const int rc = getpwnam_r("postgres", &pwd, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return absl::FailedPreconditionError(
        "running as root, and PostgreSQL refuses to run as root, but there is "
        "no 'postgres' user to run it as (install the postgresql package or "
        "run the collector as an unprivileged user)");
  }
  RunAs run_as;
  run_as.uid = pwd.pw_uid;
  run_as.gid = pwd.pw_gid;
  run_as.home = pwd.pw_dir != nullptr ? pwd.pw_dir : "/";
  int ngroups = 32;
  run_as.groups.resize(static_cast<size_t>(ngroups));
  if (getgrouplist("postgres", pwd.pw_gid, run_as.groups.data(), &ngroups) < 0) {
    run_as.groups.resize(static_cast<size_t>(ngroups));
    if (getgrouplist("postgres", pwd.pw_gid, run_as.groups.data(), &ngroups) < 0) {
      ngroups = 1;
      run_as.groups.assign(1, pwd.pw_gid);
    }
  }
  run_as.groups.resize(static_cast<size_t>(ngroups));
  return run_as;
}

bool IsExecutable(const fs::path& p) {
  std::error_code ec;
  return access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p, ec);
}

absl::StatusOr<std::string> FindBindirImpl(const std::string& requested) {
  if (!requested.empty()) {
    if (!IsExecutable(fs::path(requested) / "pg_ctl") ||
        !IsExecutable(fs::path(requested) / "initdb")) {
      return absl::NotFoundError(absl::StrCat(
          "PostgreSQL bindir ", requested, " has no executable pg_ctl/initdb"));
    }
    return requested;
  }
  // Debian/Ubuntu layout; the newest major version wins.
  const fs::path root = "/usr/lib/postgresql";
  int best = -1;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::directory_entry& e = *it;
    int version = 0;
    if (!absl::SimpleAtoi(e.path().filename().string(), &version)) continue;
    if (!IsExecutable(e.path() / "bin" / "pg_ctl") ||
        !IsExecutable(e.path() / "bin" / "initdb")) {
      continue;
    }
    best = std::max(best, version);
  }
  if (best < 0) {
    return absl::NotFoundError(
        "no PostgreSQL server binaries found under /usr/lib/postgresql/<N>/bin "
        "(install postgresql, or pass the bindir)");
  }
  return (root / std::to_string(best) / "bin").string();
}

// Creates `dir` and missing parents; directories created here get mode
// `mode` regardless of the umask, so the postgres user can traverse them.
absl::Status MakeDirs(const fs::path& dir, mode_t mode) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return absl::OkStatus();
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    absl::Status s = MakeDirs(dir.parent_path(), mode);
    if (!s.ok()) return s;
  }
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(
        absl::StrCat("mkdir(", dir.string(), "): ", ErrnoText(errno)));
  }
  if (chmod(dir.c_str(), mode) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("chmod(", dir.string(), "): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::Status ChownTo(const std::string& path, const RunAs* run_as) {
  if (run_as == nullptr) return absl::OkStatus();
  if (chown(path.c_str(), run_as->uid, run_as->gid) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("chown(", path, ", postgres): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

// A private 0700 directory for the server's socket, owned by the server's
// user: nobody else can connect even though local auth is "trust".
absl::Status PrepareSocketDir(const std::string& dir, const RunAs* run_as) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(
        absl::StrCat("mkdir(", dir, "): ", ErrnoText(errno)));
  }
  if (chmod(dir.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("chmod(", dir, "): ", ErrnoText(errno)));
  }
  return ChownTo(dir, run_as);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LogTail(const std::string& log_path) {
  absl::StatusOr<std::string> log = ReadFile(log_path);
  if (!log.ok()) return "";
  return absl::StrCat("; server log ", log_path, ": ", Trimmed(Tail(*log, 2048)));
}

// A postgresql.conf string literal: single quotes doubled.
std::string ConfQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

absl::Status WriteFileAs(const std::string& path, std::string_view content,
                         const RunAs* run_as) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp));
    }
    out << content;
    if (!out.flush()) {
      return absl::InternalError(absl::StrCat("write failed: ", tmp));
    }
  }
  absl::Status s = ChownTo(tmp, run_as);
  if (!s.ok()) return s;
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("rename(", tmp, ", ", path, "): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

// Fields of postmaster.pid we need to reach a server already running.
struct PidFileInfo {
  pid_t pid = 0;
  int port = kPort;
  std::string socket_dir;
};

std::optional<PidFileInfo> ReadPidFile(const std::string& cluster_dir) {
  absl::StatusOr<std::string> text = ReadFile(cluster_dir + "/postmaster.pid");
  if (!text.ok()) return std::nullopt;
  // Line 4: port, line 5: first socket directory (see pidfile.h).
  std::vector<std::string> lines = absl::StrSplit(*text, '\n');
  if (lines.size() < 5) return std::nullopt;
  PidFileInfo info;
  int pid = 0;
  if (!absl::SimpleAtoi(Trimmed(lines[0]), &pid) || pid <= 0) return std::nullopt;
  info.pid = pid;
  if (!absl::SimpleAtoi(Trimmed(lines[3]), &info.port)) return std::nullopt;
  info.socket_dir = Trimmed(lines[4]);
  if (info.socket_dir.empty()) return std::nullopt;
  return info;
}

enum class PidState { kGone, kZombie, kPostgres, kOther };

// What process `pid` is, from /proc. kPostgres also when we cannot tell
// (another user's process and we are not root): never remove a lock file
// that might be live.
PidState ProbePid(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return PidState::kGone;
  // "pid (comm) S ...": the state follows the last ')'.
  const size_t paren = stat->rfind(')');
  if (paren != std::string::npos && paren + 2 < stat->size() &&
      (*stat)[paren + 2] == 'Z') {
    return PidState::kZombie;
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink(absl::StrCat("/proc/", pid, "/exe"), ec);
  if (ec) return PidState::kPostgres;
  // "postgres (deleted)" after a package upgrade replaced the binary.
  const std::string name = exe.filename().string();
  if (name.starts_with("postgres") || name.starts_with("postmaster")) {
    return PidState::kPostgres;
  }
  return PidState::kOther;
}

std::string MakeDsn(const std::string& socket_dir, int port,
                    const std::string& dbname) {
  return absl::StrCat("host=", QuoteConninfoValue(socket_dir), " port=", port,
                      " dbname=", QuoteConninfoValue(dbname), " user=postgres");
}

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> EmbeddedPostgres::Start(
    Options options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("EmbeddedPostgres: data_dir is empty");
  }
  if (options.database.empty()) {
    return absl::InvalidArgumentError("EmbeddedPostgres: database is empty");
  }
  std::unique_ptr<EmbeddedPostgres> pg(new EmbeddedPostgres());

  absl::StatusOr<std::string> bindir = FindBindirImpl(options.bindir);
  if (!bindir.ok()) return bindir.status();
  pg->bindir_ = *bindir;

  std::optional<RunAs> run_as;
  if (geteuid() == 0) {
    absl::StatusOr<RunAs> r = LookUpPostgresUser();
    if (!r.ok()) return r.status();
    run_as = *std::move(r);
    pg->as_postgres_user_ = true;
  }
  const RunAs* as = run_as.has_value() ? &*run_as : nullptr;

  absl::Status s = MakeDirs(fs::path(options.data_dir), 0755);
  if (!s.ok()) return s;
  std::error_code ec;
  const fs::path data_dir = fs::canonical(options.data_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("realpath(", options.data_dir,
                                            "): ", ec.message()));
  }
  if (as != nullptr && !CanTraverse(data_dir.string(), *as)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the embedded PostgreSQL runs as user 'postgres' (it refuses to run as "
        "root), and that user cannot reach ", data_dir.string(),
        " (a parent directory is not searchable, e.g. /root is 0700); use a "
        "data directory such as /var/lib/pkiwatch"));
  }

  pg->options_ = options;
  pg->options_.data_dir = data_dir.string();
  pg->cluster_dir_ = (data_dir / "pg").string();
  pg->log_path_ = (data_dir / "postgres.log").string();
  const std::string pg_ctl = pg->bindir_ + "/pg_ctl";

  // First start: initdb. PG_VERSION is written last-ish by initdb and marks a
  // usable cluster; a half-initialised directory makes initdb fail loudly.
  if (!fs::exists(fs::path(pg->cluster_dir_) / "PG_VERSION", ec)) {
    if (mkdir(pg->cluster_dir_.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("mkdir(", pg->cluster_dir_, "): ", ErrnoText(errno)));
    }
    s = ChownTo(pg->cluster_dir_, as);
    if (!s.ok()) return s;
    std::vector<std::string> argv = {
        pg->bindir_ + "/initdb", "-D", pg->cluster_dir_, "-U", "postgres",
        // Only unix-socket connections are possible (listen_addresses='')
        // and the socket directory is private, so local trust is safe.
        "--auth-local=trust", "--auth-host=reject", "-E", "UTF8",
        "--locale=C"};
    if (options.fast_unsafe) argv.push_back("--no-sync");
    s = RunChecked(argv, as);
    if (!s.ok()) return s;
  }
  // Our settings live in their own file so postgresql.conf stays stock; the
  // include is checked at every start in case a run died right after initdb.
  {
    const std::string main_conf = pg->cluster_dir_ + "/postgresql.conf";
    absl::StatusOr<std::string> text = ReadFile(main_conf);
    if (!text.ok()) return text.status();
    constexpr char kInclude[] = "include_if_exists = 'pkiwatch.conf'";
    if (!absl::StrContains(*text, kInclude)) {
      std::ofstream conf(main_conf, std::ios::app);
      conf << "\n# pkiwatch embedded cluster settings (rewritten at each "
              "start)\n"
           << kInclude << "\n";
      if (!conf.flush()) {
        return absl::InternalError(absl::StrCat("cannot append to ", main_conf));
      }
    }
  }

  // Log file owned by the server's user: pg_ctl opens it as that user, and
  // data_dir itself may not be writable for it.
  {
    const int fd = open(pg->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("open(", pg->log_path_, "): ", ErrnoText(errno)));
    }
    close(fd);
    s = ChownTo(pg->log_path_, as);
    if (!s.ok()) return s;
  }

  // Is a postmaster from an earlier run (killed without stopping it) still
  // serving this cluster? pg_ctl status only checks that the PID in
  // postmaster.pid exists, which is also true for a dead postmaster not yet
  // reaped (a zombie) and for an unrelated process that got the PID after a
  // reboot; the answer that counts is whether the socket accepts connections.
  std::optional<PidFileInfo> running;
  const absl::Time reuse_deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    absl::StatusOr<ProcessResult> status =
        RunProcess({pg_ctl, "status", "-D", pg->cluster_dir_}, as);
    if (!status.ok()) return status.status();
    if (status->exit_code != 0) break;  // not running: start it below
    std::optional<PidFileInfo> info = ReadPidFile(pg->cluster_dir_);
    std::string why = "postmaster.pid incomplete";
    if (info.has_value()) {
      absl::StatusOr<std::unique_ptr<PgConnection>> probe = PgConnection::Connect(
          MakeDsn(info->socket_dir, info->port, "postgres") + " connect_timeout=2");
      if (probe.ok()) {
        running = std::move(info);
        break;
      }
      why = std::string(probe.status().message());
      if (ProbePid(info->pid) == PidState::kOther) {
        // The PID was reused: the lock file is stale, and the postmaster
        // would refuse to start while it names a live process.
        const std::string pid_file = pg->cluster_dir_ + "/postmaster.pid";
        if (unlink(pid_file.c_str()) != 0 && errno != ENOENT) {
          return absl::PermissionDeniedError(absl::StrCat(
              "unlink(", pid_file, ") (stale, PID ", info->pid,
              " is not PostgreSQL): ", ErrnoText(errno)));
        }
        continue;
      }
    }
    if (absl::Now() > reuse_deadline) {
      return absl::UnavailableError(absl::StrCat(
          "a PostgreSQL server seems to be running on ", pg->cluster_dir_,
          " (pg_ctl status) but does not accept connections: ", why,
          LogTail(pg->log_path_)));
    }
    // Still starting up, shutting down, or a zombie not yet reaped.
    absl::SleepFor(absl::Milliseconds(200));
  }

  int port = kPort;
  if (running.has_value()) {
    // A previous run was killed and left its postmaster behind: reuse it.
    pg->socket_dir_ = running->socket_dir;
    port = running->port;
    pg->socket_dir_is_temp_ = pg->socket_dir_ != (data_dir / "run").string();
  } else {
    pg->socket_dir_ = (data_dir / "run").string();
    if (pg->socket_dir_.size() + kSocketFileNameLen > kMaxSocketPath) {
      char tmpl[] = "/tmp/pkiwatch-pg-XXXXXX";
      if (mkdtemp(tmpl) == nullptr) {
        return absl::InternalError(absl::StrCat("mkdtemp(", tmpl, "): ", ErrnoText(errno)));
      }
      pg->socket_dir_ = tmpl;
      pg->socket_dir_is_temp_ = true;
    }
    s = PrepareSocketDir(pg->socket_dir_, as);
    if (!s.ok()) return s;

    std::string conf = absl::StrCat(
        "# Written by pkiwatch at every start; edit postgresql.conf instead.\n",
        "listen_addresses = ''\n",  // unix socket only: no TCP port to collide
        "port = ", port, "\n",
        "unix_socket_directories = ", ConfQuote(pg->socket_dir_), "\n",
        "unix_socket_permissions = 0700\n");
    if (options.fast_unsafe) {
      // Tests only: a crash may lose or corrupt data.
      absl::StrAppend(&conf,
                      "fsync = off\nfull_page_writes = off\n"
                      "synchronous_commit = off\n");
    }
    s = WriteFileAs(pg->cluster_dir_ + "/pkiwatch.conf", conf, as);
    if (!s.ok()) return s;

    // A postmaster.pid left by a crash whose PID is gone is replaced by the
    // postmaster itself.
    absl::StatusOr<ProcessResult> start =
        RunProcess({pg_ctl, "start", "-w", "-t", "60", "-D", pg->cluster_dir_,
                    "-l", pg->log_path_},
                   as);
    if (!start.ok()) return start.status();
    if (start->exit_code != 0) {
      return absl::InternalError(absl::StrCat(
          "pg_ctl start -D ", pg->cluster_dir_, ": exit code ", start->exit_code,
          ": ", Trimmed(start->output), LogTail(pg->log_path_)));
    }
  }
  pg->running_ = true;
  pg->port_ = port;
  pg->dsn_ = MakeDsn(pg->socket_dir_, port, options.database);
  pg->admin_dsn_ = MakeDsn(pg->socket_dir_, port, "postgres");

  // Create the database. A reused postmaster may still be starting up, so
  // connection attempts are retried for a bounded time.
  std::unique_ptr<PgConnection> admin;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    absl::StatusOr<std::unique_ptr<PgConnection>> c =
        PgConnection::Connect(pg->admin_dsn_);
    if (c.ok()) {
      admin = *std::move(c);
      break;
    }
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat(
          "embedded PostgreSQL in ", pg->cluster_dir_, " started but is not "
          "reachable: ", c.status().message(), LogTail(pg->log_path_)));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  absl::StatusOr<PgResult> exists = admin->Query(
      "SELECT 1 FROM pg_database WHERE datname = $1", {options.database});
  if (!exists.ok()) return exists.status();
  if (exists->rows() == 0) {
    s = admin->Exec(absl::StrCat("CREATE DATABASE ", QuoteIdent(options.database)));
    // 42P04 duplicate_database: another process created it meanwhile.
    if (!s.ok() && SqlStateOf(s) != "42P04") return s;
  }
  return pg;
}

EmbeddedPostgres::~EmbeddedPostgres() { Stop().IgnoreError(); }

absl::StatusOr<std::string> EmbeddedPostgres::FindBindir(
    const std::string& requested) {
  return FindBindirImpl(requested);
}

std::string EmbeddedPostgres::DsnFor(const std::string& database) const {
  return MakeDsn(socket_dir_, port_, database);
}

absl::Status EmbeddedPostgres::Stop() {
  if (!running_) {
    // A failed Start may have created a temporary socket directory.
    if (socket_dir_is_temp_ && !socket_dir_.empty()) {
      std::error_code ec;
      fs::remove_all(socket_dir_, ec);
    }
    return absl::OkStatus();
  }
  std::optional<RunAs> run_as;
  if (as_postgres_user_) {
    absl::StatusOr<RunAs> r = LookUpPostgresUser();
    if (!r.ok()) return r.status();
    run_as = *std::move(r);
  }
  const RunAs* as = run_as.has_value() ? &*run_as : nullptr;
  const std::string pg_ctl = bindir_ + "/pg_ctl";
  absl::StatusOr<ProcessResult> stop = RunProcess(
      {pg_ctl, "stop", "-m", "fast", "-w", "-t", "60", "-D", cluster_dir_}, as);
  if (!stop.ok()) return stop.status();
  if (stop->exit_code != 0) {
    // Already stopped by someone else is fine; anything else is reported.
    absl::StatusOr<ProcessResult> st =
        RunProcess({pg_ctl, "status", "-D", cluster_dir_}, as);
    if (!st.ok() || st->exit_code == 0) {
      return absl::InternalError(
          absl::StrCat("pg_ctl stop -D ", cluster_dir_, ": exit code ",
                       stop->exit_code, ": ", Trimmed(stop->output)));
    }
  }
  running_ = false;
  if (socket_dir_is_temp_) {
    std::error_code ec;
    fs::remove_all(socket_dir_, ec);
  }
  return absl::OkStatus();
}

}  // namespace pkiwatch::store
