#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pkiwatch {

// Abseil flags are spelled with underscores (--data_dir); the documented
// spelling is with hyphens (--data-dir). This rewrites the flag names of argv
// (not the values) to underscores before absl::ParseCommandLine. Arguments
// after a bare "--" are left alone.
class CommandLine {
 public:
  CommandLine(int argc, char** argv);

  int argc() { return static_cast<int>(pointers_.size()) - 1; }
  char** argv() { return pointers_.data(); }

  // Every value given to a repeatable flag (--name=V or --name V), in order.
  // Abseil keeps only the last occurrence of a flag, so repeatable flags are
  // read here instead.
  std::vector<std::string> AllValues(std::string_view name) const;

 private:
  std::vector<std::string> args_;
  std::vector<char*> pointers_;
};

}  // namespace pkiwatch
