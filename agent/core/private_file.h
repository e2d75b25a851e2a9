#pragma once

// Writing a secret (the node key) so that only the agent's account can read
// it: mode 0600 on POSIX (private_file_posix.cc); a protected DACL for
// SYSTEM and Administrators on Windows (agent/win/private_file_win.cc).
// Atomic: a reader sees the old content or the new, never a mix.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace pkiwatch::agent {

absl::Status WritePrivateFile(const std::string& path, std::string_view data);

}  // namespace pkiwatch::agent
