#include "agent/core/node_identity.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "agent/core/private_file.h"
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
  return WritePrivateFile(path_, json);
}

absl::Status NodeIdentityFile::Remove() const {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  if (ec) return absl::InternalError(absl::StrCat("remove ", path_, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace pkiwatch::agent
