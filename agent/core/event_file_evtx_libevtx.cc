// Event records from an .evtx file with libevtx (Linux; see
// event_file_reader.h). Recovered (deleted) records are not read: they may be
// partial and would replay events the log had already dropped.

#include <libevtx.h>

#include <string_view>

#include "absl/strings/str_cat.h"
#include "agent/core/event_file_reader.h"

namespace pkiwatch::agent {
namespace {

// libevtx's error chain as text; frees it.
std::string TakeError(libevtx_error_t*& error) {
  if (error == nullptr) return "unknown libevtx error";
  char text[1024] = {};
  libevtx_error_sprint(error, text, sizeof(text));
  libevtx_error_free(&error);
  return text;
}

class EvtxFile final : public EventFileReader {
 public:
  EvtxFile(libevtx_file_t* file, int records, bool damaged)
      : file_(file), records_(records), damaged_(damaged) {}

  ~EvtxFile() override {
    libevtx_error_t* error = nullptr;
    libevtx_file_close(file_, &error);
    libevtx_file_free(&file_, &error);
    if (error != nullptr) libevtx_error_free(&error);
  }

  absl::StatusOr<bool> Next(std::string& xml) override {
    while (next_ < records_) {
      const int index = next_++;
      libevtx_error_t* error = nullptr;
      libevtx_record_t* record = nullptr;
      if (libevtx_file_get_record_by_index(file_, index, &record, &error) != 1) {
        CountUnreadable(absl::StrCat("record ", index, ": ", TakeError(error)));
        continue;
      }
      size_t size = 0;
      bool ok = libevtx_record_get_utf8_xml_string_size(record, &size, &error) == 1 && size > 0;
      if (ok) {
        xml.resize(size);
        ok = libevtx_record_get_utf8_xml_string(record, reinterpret_cast<uint8_t*>(xml.data()),
                                                size, &error) == 1;
      }
      libevtx_error_t* free_error = nullptr;
      libevtx_record_free(&record, &free_error);
      if (free_error != nullptr) libevtx_error_free(&free_error);
      if (!ok) {
        CountUnreadable(absl::StrCat("record ", index, ": ", TakeError(error)));
        continue;
      }
      while (!xml.empty() && xml.back() == '\0') xml.pop_back();
      return true;
    }
    return false;
  }

  // A damaged log (truncated copy, dirty shutdown) still gives the records
  // libevtx can find.
  std::string Description() const override { return damaged_ ? "evtx, damaged" : "evtx"; }

 private:
  libevtx_file_t* file_;
  int records_;
  bool damaged_;
  int next_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventFileReader>> OpenEvtxFile(const std::string& path) {
  libevtx_error_t* error = nullptr;
  libevtx_file_t* file = nullptr;
  if (libevtx_file_initialize(&file, &error) != 1) {
    return absl::InternalError(TakeError(error));
  }
  if (libevtx_file_open(file, path.c_str(), LIBEVTX_OPEN_READ, &error) != 1) {
    const std::string text = TakeError(error);
    libevtx_file_free(&file, &error);
    if (error != nullptr) libevtx_error_free(&error);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, " as an .evtx file: ", text));
  }
  int records = 0;
  if (libevtx_file_get_number_of_records(file, &records, &error) != 1) {
    const std::string text = TakeError(error);
    libevtx_file_close(file, &error);
    libevtx_file_free(&file, &error);
    if (error != nullptr) libevtx_error_free(&error);
    return absl::FailedPreconditionError(absl::StrCat("cannot count the records of ", path, ": ", text));
  }
  const bool damaged = libevtx_file_is_corrupted(file, &error) == 1;
  if (error != nullptr) libevtx_error_free(&error);
  if (damaged && records == 0) {
    libevtx_file_close(file, &error);
    libevtx_file_free(&file, &error);
    if (error != nullptr) libevtx_error_free(&error);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has the .evtx signature but no readable record (damaged file)"));
  }
  return std::make_unique<EvtxFile>(file, records, damaged);
}

}  // namespace pkiwatch::agent
