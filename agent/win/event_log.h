// Windows event log: push subscriptions with persisted bookmarks and bounded
// queries. Each event is rendered with EvtRender(EvtRenderEventXml) and
// handed over as UTF-8 XML; parsing and classifying it is portable code
// (agent/eventlog).
//
// wine implements EvtQuery and EvtSubscribe as stubs that return NULL (with
// error 0 or ERROR_FILE_NOT_FOUND) and leaves EvtCreateBookmark out
// entirely: Start, QueryEventXml and EvtxFile::Open call EvtQuery first and
// fail cleanly there, naming the API - they never crash or block.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/win/handles.h"
#include "agent/win/status.h"

namespace pkiwatch::win {

// Up to `max_events` matching events of `channel` (newest first when
// `newest_first`), rendered as XML. `xpath` is an event log XPath query,
// e.g. "*[System[Provider[@Name='Microsoft-Windows-CAPI2'] and EventID=4107]]".
StatusOr<std::vector<std::string>> QueryEventXml(std::string_view channel, std::string_view xpath,
                                                 size_t max_events, bool newest_first);

// Turns a channel on (EvtChannelConfigEnabled = true, saved), as
// `wevtutil sl Microsoft-Windows-CAPI2/Operational /e:true` and the
// troubleshooting guides do for CAPI2's own log, which Windows ships
// disabled. Needs administrator rights (the service runs as LocalSystem);
// OK when it was on already. Returns whether it changed anything.
StatusOr<bool> EnableChannel(std::string_view channel);

// An exported event log file (.evtx: Event Viewer's "Save All Events As",
// `wevtutil epl`) read with EvtQuery(EvtQueryFilePath), one record at a
// time, oldest first, as UTF-8 event XML. At most one batch of event
// handles is held. Not thread-safe.
class EvtxFile {
 public:
  // Opens `path`, selecting the records that match `xpath`. Errors name the
  // API and the file: kNotFound (ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND)
  // for a missing file, checked before EvtQuery so the answer is the same
  // everywhere; E_INVALIDARG for a directory; EvtQuery's failure (a file
  // that is not an event log, no event log service).
  static StatusOr<std::unique_ptr<EvtxFile>> Open(std::string_view path,
                                                  std::string_view xpath = "*");
  EvtxFile(const EvtxFile&) = delete;
  EvtxFile& operator=(const EvtxFile&) = delete;

  // Stores the next record's XML in `xml` and returns true; false at the
  // end. A record EvtRender cannot render is skipped and counted
  // (unrendered(), last_error()); an error is EvtNext's (the file itself).
  StatusOr<bool> Next(std::string* xml);

  uint64_t unrendered() const { return unrendered_; }
  const std::string& last_error() const { return last_error_; }

 private:
  EvtxFile(UniqueEvtHandle query, std::string path)
      : query_(std::move(query)), path_(std::move(path)) {}

  UniqueEvtHandle query_;
  std::string path_;
  std::vector<UniqueEvtHandle> batch_;  // fetched, not yet returned from position_
  size_t position_ = 0;
  bool at_end_ = false;
  uint64_t unrendered_ = 0;
  std::string last_error_;
};

// Every record of an exported event log file (EvtxFile) handed to
// `callback` as XML, oldest first, stopping after `max_events` records or
// when `callback` returns false.
struct EvtxReadResult {
  size_t delivered = 0;
  uint64_t unrendered = 0;   // records skipped: EvtRender failed
  std::string last_error;    // why the last one was skipped
};
StatusOr<EvtxReadResult> ReadEvtxFile(std::string_view path, size_t max_events,
                                      const std::function<bool(std::string xml)>& callback,
                                      std::string_view xpath = "*");

// A push subscription to one channel. Events are delivered in order, one at
// a time, on a thread of the event log's thread pool.
class EventSubscription {
 public:
  struct Options {
    std::string channel;            // "Application", "Microsoft-Windows-CAPI2/Operational"
    std::string xpath = "*";
    // File holding the bookmark XML. With a readable bookmark, delivery
    // resumes after the last event the previous run handled; without one,
    // up to `max_backfill` of the newest past events are delivered first
    // (oldest of them first), then new ones. Empty: nothing is persisted.
    std::string bookmark_path;
    size_t max_backfill = 500;
    // The bookmark is written after this many events, by SaveBookmark and
    // on destruction.
    size_t save_every = 100;
  };
  // Receives each event's XML. Must not destroy the subscription.
  using Callback = std::function<void(std::string xml)>;

  static StatusOr<std::unique_ptr<EventSubscription>> Start(Options options, Callback callback);
  // Stops delivery (waits for a callback in progress) and saves the bookmark.
  ~EventSubscription();
  EventSubscription(const EventSubscription&) = delete;
  EventSubscription& operator=(const EventSubscription&) = delete;

  // Writes the bookmark file now (OK and nothing written without a path).
  Status SaveBookmark();

  uint64_t delivered() const { return delivered_.load(); }
  // Events that could not be rendered, and errors the event log reported to
  // the subscription (e.g. the channel was cleared); the last one's text.
  uint64_t errors() const { return errors_.load(); }
  std::string last_error() const;
  // Set when the bookmark file existed but was unusable and the
  // subscription started without it (the text says why).
  const std::string& bookmark_warning() const { return bookmark_warning_; }

 private:
  EventSubscription(Options options, Callback callback)
      : options_(std::move(options)), callback_(std::move(callback)) {}

  static DWORD WINAPI OnNotify(EVT_SUBSCRIBE_NOTIFY_ACTION action, void* context,
                               EVT_HANDLE event);
  void Deliver(EVT_HANDLE event);
  void RecordError(std::string text);
  Status SaveBookmarkLocked();

  const Options options_;
  const Callback callback_;
  std::string bookmark_warning_;

  mutable std::mutex mutex_;
  UniqueEvtHandle bookmark_;           // guarded by mutex_ after Start
  std::string last_error_;             // guarded by mutex_
  size_t unsaved_ = 0;                 // guarded by mutex_
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> errors_{0};

  UniqueEvtHandle subscription_;       // closed first in the destructor
};

// EvtRender(EvtRenderEventXml) of one event, as UTF-8.
StatusOr<std::string> RenderEventXml(EVT_HANDLE event);

}  // namespace pkiwatch::win
