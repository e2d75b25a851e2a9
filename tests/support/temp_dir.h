#pragma once

// Small helpers for tests: temporary directories and environment variables.

#include <optional>
#include <string>

namespace pkiwatch::testing {

// Creates a fresh directory /tmp/pkiwatch-test-XXXXXX with mode 0755, so the
// unprivileged `postgres` user can traverse it when tests run as root (and
// short enough for unix socket paths). Returns "" on failure.
std::string MakeTempDir();

// Removes `path` and everything below it; errors are ignored.
void RemoveTree(const std::string& path);

// A temporary directory removed (recursively) on destruction.
class ScopedTempDir {
 public:
  ScopedTempDir() : path_(MakeTempDir()) {}
  ~ScopedTempDir() {
    if (!path_.empty()) RemoveTree(path_);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sets (or, with nullopt, unsets) an environment variable and restores the
// previous value on destruction. Not thread-safe, like setenv itself.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

}  // namespace pkiwatch::testing
