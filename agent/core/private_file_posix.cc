#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/core/private_file.h"

namespace pkiwatch::agent {

absl::Status WritePrivateFile(const std::string& path, std::string_view data) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat("open ", temp, ": ", std::strerror(errno)));
  }
  // O_CREAT's mode does not apply to a temp file left by an earlier attempt.
  const bool restricted = ::fchmod(fd, 0600) == 0;
  const bool written =
      restricted && ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced || std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return absl::InternalError(absl::StrCat("writing ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace pkiwatch::agent
