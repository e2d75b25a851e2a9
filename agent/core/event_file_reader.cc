#include "agent/core/event_file_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace pkiwatch::agent {

absl::StatusOr<std::unique_ptr<EventFileReader>> EventFileReader::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string text = absl::StrCat("cannot open event file ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(text);
    if (err == EACCES) return absl::PermissionDeniedError(text);
    return absl::FailedPreconditionError(text);
  }
  char head[sizeof(kEvtxSignature)] = {};
  in.read(head, sizeof(head));
  if (in.gcount() == sizeof(head) && std::memcmp(head, kEvtxSignature, sizeof(head)) == 0) {
    return OpenEvtxFile(path);
  }
  return OpenXmlEventFile(path);
}

}  // namespace pkiwatch::agent
