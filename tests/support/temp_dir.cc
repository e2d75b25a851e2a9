#include "tests/support/temp_dir.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace pkiwatch::testing {

std::string MakeTempDir() {
  // Always /tmp, not $TMPDIR: it must be reachable by the `postgres` user and
  // short enough for a unix socket path below it.
  char tmpl[] = "/tmp/pkiwatch-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::fprintf(stderr, "MakeTempDir: mkdtemp(%s): %s\n", tmpl,
                 std::strerror(errno));
    return "";
  }
  // mkdtemp creates 0700; the postgres user needs to traverse it.
  if (chmod(tmpl, 0755) != 0) {
    std::fprintf(stderr, "MakeTempDir: chmod(%s): %s\n", tmpl,
                 std::strerror(errno));
  }
  return tmpl;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

ScopedEnv::ScopedEnv(std::string name, const std::optional<std::string>& value)
    : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str()); old != nullptr) {
    previous_ = old;
  }
  if (value.has_value()) {
    setenv(name_.c_str(), value->c_str(), 1);
  } else {
    unsetenv(name_.c_str());
  }
}

ScopedEnv::~ScopedEnv() {
  if (previous_.has_value()) {
    setenv(name_.c_str(), previous_->c_str(), 1);
  } else {
    unsetenv(name_.c_str());
  }
}

}  // namespace pkiwatch::testing
