// WritePrivateFile on Windows (native build; see agent/core/private_file.h).

#include "agent/core/private_file.h"
#include "agent/win/absl_status.h"
#include "agent/win/files.h"

namespace pkiwatch::agent {

absl::Status WritePrivateFile(const std::string& path, std::string_view data) {
  return win::ToAbslStatus(win::WritePrivateFileAtomically(path, data));
}

}  // namespace pkiwatch::agent
