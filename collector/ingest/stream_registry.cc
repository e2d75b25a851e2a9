#include "collector/ingest/stream_registry.h"

namespace pkiwatch::ingest {

struct StreamRegistry::Registration::Entry {
  absl::Mutex mu;
  Writer writer ABSL_GUARDED_BY(mu);
  bool closed ABSL_GUARDED_BY(mu) = false;
};

StreamRegistry::Registration::~Registration() {
  {
    absl::MutexLock lock(&entry_->mu);  // waits for a Send in progress
    entry_->closed = true;
  }
  absl::MutexLock lock(&registry_->mu_);
  auto it = registry_->streams_.find(node_id_);
  if (it != registry_->streams_.end() && it->second == entry_) registry_->streams_.erase(it);
}

std::unique_ptr<StreamRegistry::Registration> StreamRegistry::Register(const std::string& node_id,
                                                                       Writer writer) {
  auto entry = std::make_shared<Registration::Entry>();
  {
    absl::MutexLock lock(&entry->mu);
    entry->writer = std::move(writer);
  }
  absl::MutexLock lock(&mu_);
  streams_[node_id] = entry;
  return std::unique_ptr<Registration>(new Registration(this, node_id, std::move(entry)));
}

bool StreamRegistry::Send(const std::string& node_id, const v1::CollectorMessage& message) {
  std::shared_ptr<Registration::Entry> entry;
  {
    absl::MutexLock lock(&mu_);
    auto it = streams_.find(node_id);
    if (it == streams_.end()) return false;
    entry = it->second;
  }
  absl::MutexLock lock(&entry->mu);
  return !entry->closed && entry->writer(message);
}

size_t StreamRegistry::connected() {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

}  // namespace pkiwatch::ingest
