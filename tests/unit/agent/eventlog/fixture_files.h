#pragma once

// Reading the shared fixtures (PKIWATCH_FIXTURES_DIR/events) in the
// event-log tests. Standard library only, like the code under test.

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace pkiwatch::eventlog::testing {

inline std::filesystem::path EventsDir() {
  return std::filesystem::path(PKIWATCH_FIXTURES_DIR) / "events";
}

inline std::optional<std::string> ReadFixture(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The text between `begin` (included) and `end` (excluded; end of text when
// absent), or "" when `begin` does not occur.
inline std::string Between(std::string_view text, std::string_view begin, std::string_view end) {
  const size_t b = text.find(begin);
  if (b == std::string_view::npos) return {};
  const size_t e = end.empty() ? std::string_view::npos : text.find(end, b + begin.size());
  return std::string(text.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
}

}  // namespace pkiwatch::eventlog::testing

// Loads a fixture under events/ into `var`, or skips the test naming the
// missing file.
#define PKIWATCH_LOAD_EVENT_FIXTURE(var, relative)                                          \
  std::string var;                                                                         \
  do {                                                                                     \
    const std::filesystem::path _p = ::pkiwatch::eventlog::testing::EventsDir() / relative; \
    std::optional<std::string> _c = ::pkiwatch::eventlog::testing::ReadFixture(_p);         \
    if (!_c) GTEST_SKIP() << "fixture not found: " << _p.string();                         \
    var = std::move(*_c);                                                                  \
  } while (0)
