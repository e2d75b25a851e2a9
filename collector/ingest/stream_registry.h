#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::ingest {

// The agents connected to this collector right now, so that commands can be
// pushed over their open streams. Thread-safe. (With several collectors
// behind a load balancer, each pushes to its own agents; undelivered
// commands wait in the database for the agent's next Hello.)
class StreamRegistry {
 public:
  // Writes one message on a stream; the stream serializes its writers.
  using Writer = std::function<bool(const v1::CollectorMessage&)>;

  // Unregisters on destruction, after which the writer is never called.
  class Registration {
   public:
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    friend class StreamRegistry;
    struct Entry;
    Registration(StreamRegistry* registry, std::string node_id, std::shared_ptr<Entry> entry)
        : registry_(registry), node_id_(std::move(node_id)), entry_(std::move(entry)) {}
    StreamRegistry* registry_;
    std::string node_id_;
    std::shared_ptr<Entry> entry_;
  };

  // A newer stream of the same node replaces an older one.
  std::unique_ptr<Registration> Register(const std::string& node_id, Writer writer);

  // False when the node has no open stream here or the write failed.
  bool Send(const std::string& node_id, const v1::CollectorMessage& message);

  size_t connected();

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Registration::Entry>> streams_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace pkiwatch::ingest
