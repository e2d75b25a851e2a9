#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::agent {

// The node id and key the collector issued at enrollment, kept in the state
// directory in a file only the agent's user can read (mode 0600).
class NodeIdentityFile {
 public:
  explicit NodeIdentityFile(std::string path) : path_(std::move(path)) {}

  // nullopt when the file does not exist yet; an error when it is unreadable
  // or not a NodeIdentity.
  absl::StatusOr<std::optional<v1::NodeIdentity>> Load() const;
  // Writes atomically (temp file + rename), mode 0600.
  absl::Status Save(const v1::NodeIdentity& identity) const;
  absl::Status Remove() const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pkiwatch::agent
