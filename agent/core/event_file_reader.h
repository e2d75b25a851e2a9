#pragma once

// Reads the records of an exported Windows event log, one event XML (UTF-8)
// at a time, for `pkiwatch-agent --import-events`:
//  - XML text: what `wevtutil qe <log> /f:xml` writes (a bare sequence of
//    <Event> elements, or wrapped in a root element with /e:Events),
//    Get-WinEvent ... ToXml() output and `evtxexport -f xml`; UTF-8 or
//    UTF-16 (Windows PowerShell's `>` writes UTF-16LE). Read in chunks, so
//    the file is never held in memory whole.
//  - .evtx binary logs (recognized by their "ElfFile" signature), read with
//    libevtx on Linux and with EvtQuery on Windows.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace pkiwatch::agent {

class EventFileReader {
 public:
  // NotFound / PermissionDenied / FailedPrecondition naming the path when the
  // file cannot be opened or is not an event log in a known format.
  static absl::StatusOr<std::unique_ptr<EventFileReader>> Open(const std::string& path);
  virtual ~EventFileReader() = default;

  // Stores the next record's XML in `xml` and returns true; false at the end.
  // A record that cannot be read is skipped and counted (unreadable());
  // an error means the file itself failed (I/O error mid-read).
  virtual absl::StatusOr<bool> Next(std::string& xml) = 0;

  // "XML (UTF-16LE)", "evtx".
  virtual std::string Description() const = 0;
  // Records skipped because they could not be read (evtx) or were larger
  // than an event may be (XML); their reason is in last_error().
  uint64_t unreadable() const { return unreadable_; }
  const std::string& last_error() const { return last_error_; }

 protected:
  void CountUnreadable(std::string reason) {
    ++unreadable_;
    last_error_ = std::move(reason);
  }

 private:
  uint64_t unreadable_ = 0;
  std::string last_error_;
};

// The two formats (event_file_xml.cc, event_file_evtx_*.cc).
absl::StatusOr<std::unique_ptr<EventFileReader>> OpenXmlEventFile(const std::string& path);
absl::StatusOr<std::unique_ptr<EventFileReader>> OpenEvtxFile(const std::string& path);

// The first bytes of an .evtx file.
inline constexpr char kEvtxSignature[] = "ElfFile";  // followed by a NUL

}  // namespace pkiwatch::agent
