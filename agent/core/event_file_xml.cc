// Event records from XML text, read in chunks (see event_file_reader.h).

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "agent/core/event_file_reader.h"
#include "agent/eventlog/event_xml.h"
#include "agent/eventlog/text_decoder.h"

namespace pkiwatch::agent {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
constexpr std::string_view kEventEnd = "</Event>";

class XmlEventFile final : public EventFileReader {
 public:
  XmlEventFile(std::string path, std::ifstream in, eventlog::DetectedEncoding detected)
      : path_(std::move(path)),
        in_(std::move(in)),
        encoding_(detected.encoding),
        decoder_(detected.encoding) {
    in_.seekg(static_cast<std::streamoff>(detected.bom_bytes));
  }

  absl::StatusOr<bool> Next(std::string& xml) override {
    while (ready_.empty()) {
      if (at_end_) return false;
      if (absl::Status s = ReadChunk(); !s.ok()) return s;
    }
    xml = std::move(ready_.front());
    ready_.pop_front();
    return true;
  }

  std::string Description() const override {
    return "XML (" + std::string(eventlog::EncodingName(encoding_)) + ")";
  }

 private:
  absl::Status ReadChunk() {
    chunk_.resize(kChunkBytes);
    in_.read(chunk_.data(), static_cast<std::streamsize>(chunk_.size()));
    chunk_.resize(static_cast<size_t>(in_.gcount()));
    if (in_.bad()) {
      return absl::DataLossError(
          absl::StrCat("reading event file ", path_, " failed: ", std::strerror(errno)));
    }
    decoder_.Append(chunk_, text_);
    if (in_.eof()) {
      decoder_.Finish(text_);
      at_end_ = true;
      TakeRecords(text_.size());  // an unterminated last record goes to the parser as is
      return absl::OkStatus();
    }
    const size_t end = text_.rfind(kEventEnd);
    if (end != std::string::npos) {
      TakeRecords(end + kEventEnd.size());
    } else if (text_.size() > eventlog::kMaxEventXmlBytes + kChunkBytes) {
      // No record ends within far more than the largest event may be: skip
      // the oversized text, keeping a record that may start at its end.
      CountUnreadable(absl::StrCat("text of more than ", eventlog::kMaxEventXmlBytes,
                                   " bytes without an </Event>"));
      const size_t start = text_.rfind("<Event");
      text_.erase(0, start == std::string::npos || start == 0 ? text_.size() : start);
    }
    return absl::OkStatus();
  }

  // Moves the records in text_[0, length) to ready_.
  void TakeRecords(size_t length) {
    const std::string_view head(text_.data(), length);
    for (std::string_view record : eventlog::SplitEventRecords(head)) {
      ready_.emplace_back(record);
    }
    text_.erase(0, length);
  }

  std::string path_;
  std::ifstream in_;
  eventlog::TextEncoding encoding_;
  eventlog::ToUtf8Decoder decoder_;
  std::string chunk_;
  std::string text_;  // decoded, not yet split
  std::deque<std::string> ready_;
  bool at_end_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventFileReader>> OpenXmlEventFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open event file ", path, ": ", std::strerror(errno)));
  }
  char head[4] = {};
  in.read(head, sizeof(head));
  const auto detected = eventlog::DetectTextEncoding(
      std::string_view(head, static_cast<size_t>(in.gcount())));
  in.clear();
  return std::make_unique<XmlEventFile>(path, std::move(in), detected);
}

}  // namespace pkiwatch::agent
