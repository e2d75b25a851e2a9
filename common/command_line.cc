#include "common/command_line.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pkiwatch {
namespace {

std::string NormalizeFlag(std::string arg) {
  if (!absl::StartsWith(arg, "-") || arg == "-" || arg == "--") return arg;
  const size_t dashes = absl::StartsWith(arg, "--") ? 2 : 1;
  const size_t end = std::min(arg.find('='), arg.size());
  for (size_t i = dashes; i < end; ++i) {
    if (arg[i] == '-') arg[i] = '_';
  }
  return arg;
}

}  // namespace

CommandLine::CommandLine(int argc, char** argv) {
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !flags_done) {
      if (arg == "--") flags_done = true;
      else arg = NormalizeFlag(std::move(arg));
    }
    args_.push_back(std::move(arg));
  }
  for (std::string& arg : args_) pointers_.push_back(arg.data());
  pointers_.push_back(nullptr);  // argv[argc] is NULL, as for main()
}

std::vector<std::string> CommandLine::AllValues(std::string_view name) const {
  std::string flag = absl::StrCat("--", absl::string_view(name.data(), name.size()));
  for (char& c : flag) {
    if (c == '-' && &c - flag.data() >= 2) c = '_';
  }
  // Abseil also accepts the single-dash spelling (-name=V, -name V).
  const std::string short_flag = flag.substr(1);
  std::vector<std::string> values;
  for (size_t i = 1; i < args_.size(); ++i) {
    if (args_[i] == "--") break;
    if ((args_[i] == flag || args_[i] == short_flag) && i + 1 < args_.size()) {
      values.push_back(args_[++i]);
    } else if (absl::StartsWith(args_[i], flag + "=")) {
      values.push_back(args_[i].substr(flag.size() + 1));
    } else if (absl::StartsWith(args_[i], short_flag + "=")) {
      values.push_back(args_[i].substr(short_flag.size() + 1));
    }
  }
  return values;
}

}  // namespace pkiwatch
