#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "collector/store/connection_pool.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::ingest {

// Node identities: enrollment with the fleet's shared secret, node keys kept
// only as SHA-256 hashes, authentication of streams. Thread-safe.
class NodeRegistry {
 public:
  // `enroll_secret` empty disables enrollment (already enrolled nodes still
  // connect).
  NodeRegistry(store::ConnectionPool* pool, std::string enroll_secret)
      : pool_(pool), enroll_secret_(std::move(enroll_secret)) {}

  // Unauthenticated for a wrong secret (compared in constant time).
  absl::StatusOr<v1::EnrollResponse> Enroll(const v1::EnrollRequest& request);

  // Unauthenticated when the node is unknown or the key does not match; the
  // message never says which, so ids cannot be probed.
  absl::Status Authenticate(std::string_view node_id, std::string_view node_key);

  // Records the host facts and stats an agent reports at stream start and
  // returns the node's durable_through_seq. A new site or hostname moves the
  // node's pattern memberships and host counts in the same transaction.
  absl::StatusOr<uint64_t> RecordHello(std::string_view node_id, const v1::Hello& hello);

 private:
  store::ConnectionPool* const pool_;
  const std::string enroll_secret_;
};

// Reads the enroll secret (first line, surrounding white space cut).
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace pkiwatch::ingest
