// .evtx files on Windows (native build; see agent/core/event_file_reader.h):
// the event log API reads them (win::EvtxFile), as Event Viewer does.

#include "absl/strings/str_cat.h"
#include "agent/core/event_file_reader.h"
#include "agent/win/absl_status.h"
#include "agent/win/event_log.h"

namespace pkiwatch::agent {
namespace {

class WindowsEvtxFile final : public EventFileReader {
 public:
  explicit WindowsEvtxFile(std::unique_ptr<win::EvtxFile> file) : file_(std::move(file)) {}

  absl::StatusOr<bool> Next(std::string& xml) override {
    win::StatusOr<bool> more = file_->Next(&xml);
    // Records EvtRender could not render are skipped by EvtxFile; count
    // them here as well.
    while (counted_ < file_->unrendered()) {
      ++counted_;
      CountUnreadable(file_->last_error());
    }
    if (!more.ok()) return win::ToAbslStatus(more.status());
    return *more;
  }

  std::string Description() const override { return "evtx"; }

 private:
  std::unique_ptr<win::EvtxFile> file_;
  uint64_t counted_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventFileReader>> OpenEvtxFile(const std::string& path) {
  auto file = win::EvtxFile::Open(path);
  if (!file.ok()) return win::ToAbslStatus(file.status());
  return std::make_unique<WindowsEvtxFile>(*std::move(file));
}

}  // namespace pkiwatch::agent
