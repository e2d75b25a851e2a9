#include "tests/support/test_postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/support/temp_dir.h"

namespace pkiwatch::testing {
namespace {

namespace fs = std::filesystem;

// Bump when the template's initdb options change, so old caches are ignored.
constexpr char kTemplateFormat[] = "v1";

// Copies the tree at `from` to `to` (which must not exist), keeping modes
// and owners: PostgreSQL insists on a 0700/0750 data directory owned by the
// server's user.
absl::Status CopyTree(const fs::path& from, const fs::path& to) {
  auto copy_meta = [](const fs::path& src, const fs::path& dst) -> absl::Status {
    struct stat st;
    if (lstat(src.c_str(), &st) != 0 ||
        chmod(dst.c_str(), st.st_mode & 07777) != 0 ||
        chown(dst.c_str(), st.st_uid, st.st_gid) != 0) {
      return absl::InternalError(absl::StrCat("copying attributes of ",
                                              src.string(), " to ", dst.string()));
    }
    return absl::OkStatus();
  };
  std::error_code ec;
  if (!fs::create_directory(to, ec) || ec) {
    return absl::InternalError(absl::StrCat("mkdir ", to.string(), ": ", ec.message()));
  }
  absl::Status s = copy_meta(from, to);
  if (!s.ok()) return s;
  for (fs::recursive_directory_iterator it(from, ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::path dst = to / it->path().lexically_relative(from);
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st)) {
      fs::create_directory(dst, ec);
    } else if (fs::is_regular_file(st)) {
      fs::copy_file(it->path(), dst, ec);
    } else if (fs::is_symlink(st)) {
      fs::copy_symlink(it->path(), dst, ec);
      continue;  // chmod/chown would follow the link
    } else {
      continue;  // sockets, fifos: none in a stopped cluster
    }
    if (ec) break;
    s = copy_meta(it->path(), dst);
    if (!s.ok()) return s;
  }
  if (ec) {
    return absl::InternalError(absl::StrCat("copying ", from.string(), " to ",
                                            to.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

// A pristine stopped cluster (database "pkiwatch" included) that every test
// cluster is copied from: initdb costs a second or more of CPU per test
// process, a copy a fraction of that. Cached per user in /tmp and built
// once; concurrent test processes race benignly (the first rename wins).
absl::StatusOr<std::string> TemplateCluster() {
  absl::StatusOr<std::string> bindir = store::EmbeddedPostgres::FindBindir("");
  if (!bindir.ok()) return bindir.status();
  // /usr/lib/postgresql/15/bin -> "15": clusters are per major version.
  const std::string major = fs::path(*bindir).parent_path().filename().string();

  const std::string cache = absl::StrCat("/tmp/pkiwatch-test-pg-cache-", geteuid());
  if (mkdir(cache.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("mkdir ", cache));
  }
  // Only trust a cache we own and nobody else can write to.
  struct stat st;
  if (lstat(cache.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(cache, " is not a private directory of this user"));
  }
  const std::string final_dir =
      absl::StrCat(cache, "/pg", major, "-", kTemplateFormat);
  std::error_code ec;
  if (fs::exists(final_dir + "/PG_VERSION", ec)) return final_dir;

  const std::string work = MakeTempDir();
  if (work.empty()) return absl::InternalError("cannot create a temp directory");
  store::EmbeddedPostgres::Options options;
  options.data_dir = work;
  options.fast_unsafe = true;
  absl::Status s;
  {
    absl::StatusOr<std::unique_ptr<store::EmbeddedPostgres>> pg =
        store::EmbeddedPostgres::Start(options);
    s = pg.ok() ? (*pg)->Stop() : pg.status();
  }
  if (s.ok()) {
    // Both under /tmp: rename is atomic, so readers never see half a copy.
    const std::string staged =
        absl::StrCat(final_dir, ".tmp-", getpid());
    if (rename((work + "/pg").c_str(), staged.c_str()) != 0) {
      s = absl::InternalError(absl::StrCat("rename to ", staged));
    } else if (rename(staged.c_str(), final_dir.c_str()) != 0) {
      RemoveTree(staged);  // another process was faster; use its template
    }
  }
  RemoveTree(work);
  if (!s.ok()) return s;
  return final_dir;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestPostgres>> TestPostgres::Start() {
  std::unique_ptr<TestPostgres> pg(new TestPostgres());
  pg->dir_ = MakeTempDir();
  if (pg->dir_.empty()) {
    return absl::InternalError("TestPostgres: cannot create a temp directory");
  }
  // Without a usable template EmbeddedPostgres simply runs initdb.
  absl::StatusOr<std::string> tmpl = TemplateCluster();
  if (tmpl.ok() && !CopyTree(*tmpl, pg->dir_ + "/pg").ok()) {
    RemoveTree(pg->dir_ + "/pg");
  }
  store::EmbeddedPostgres::Options options;
  options.data_dir = pg->dir_;
  options.fast_unsafe = true;
  absl::StatusOr<std::unique_ptr<store::EmbeddedPostgres>> server =
      store::EmbeddedPostgres::Start(options);
  if (!server.ok()) return server.status();  // ~TestPostgres removes dir_
  pg->server_ = *std::move(server);
  return pg;
}

TestPostgres::~TestPostgres() {
  if (server_ != nullptr) {
    server_->Stop().IgnoreError();
    server_.reset();
  }
  if (!dir_.empty()) RemoveTree(dir_);
}

absl::StatusOr<TestPostgres*> TestPostgres::Shared() {
  // Destroyed at exit, which stops the server and removes its directory.
  static absl::once_flag once;
  static std::unique_ptr<TestPostgres> owner;
  static absl::Status error;
  absl::call_once(once, [] {
    absl::StatusOr<std::unique_ptr<TestPostgres>> pg = Start();
    if (pg.ok()) {
      owner = *std::move(pg);
    } else {
      error = pg.status();
    }
  });
  if (owner == nullptr) return error;
  return owner.get();
}

absl::StatusOr<std::unique_ptr<store::PgConnection>> TestPostgres::Connect()
    const {
  return store::PgConnection::Connect(dsn());
}

absl::StatusOr<std::string> TestPostgres::CreateDatabase() {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat("test_", ++counter);
  absl::StatusOr<std::unique_ptr<store::PgConnection>> admin =
      store::PgConnection::Connect(server_->admin_dsn());
  if (!admin.ok()) return admin.status();
  // Separate statements: CREATE/DROP DATABASE refuse to run inside the
  // implicit transaction of a multi-statement string.
  absl::Status s = (*admin)->Exec(
      absl::StrCat("DROP DATABASE IF EXISTS ", store::QuoteIdent(name)));
  if (!s.ok()) return s;
  s = (*admin)->Exec(absl::StrCat("CREATE DATABASE ", store::QuoteIdent(name)));
  if (!s.ok()) return s;
  return server_->DsnFor(name);
}

}  // namespace pkiwatch::testing
