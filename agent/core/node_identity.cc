#include "agent/core/node_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace pkiwatch::agent {

absl::StatusOr<std::optional<v1::NodeIdentity>> NodeIdentityFile::Load() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read ", path_, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  v1::NodeIdentity identity;
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), &identity);
  if (!status.ok() || identity.node_id().empty() || identity.node_key().empty()) {
    return absl::DataLossError(absl::StrCat(
        path_, " is not a node identity; delete it to enroll again (", status.ToString(), ")"));
  }
  return identity;
}

absl::Status NodeIdentityFile::Save(const v1::NodeIdentity& identity) const {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(identity, &json, options).ok()) {
    return absl::InternalError("cannot serialize the node identity");
  }
  const std::string temp = path_ + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("open ", temp, ": ", std::strerror(errno)));
  }
  // O_CREAT's mode does not apply to a temp file left by an earlier attempt.
  const bool restricted = ::fchmod(fd, 0600) == 0;
  const bool written = restricted && ::write(fd, json.data(), json.size()) ==
                                         static_cast<ssize_t>(json.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced || std::rename(temp.c_str(), path_.c_str()) != 0) {
    ::unlink(temp.c_str());
    return absl::InternalError(absl::StrCat("writing ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status NodeIdentityFile::Remove() const {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("unlink ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace pkiwatch::agent
