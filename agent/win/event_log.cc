#include "agent/win/event_log.h"

#include <algorithm>

#include "agent/win/files.h"
#include "agent/win/strings.h"

namespace pkiwatch::win {
namespace {

constexpr size_t kMaxBookmarkBytes = 64 * 1024;

// EvtRender into a wide string (both event XML and bookmark XML).
StatusOr<std::wstring> Render(EVT_HANDLE handle, EVT_RENDER_FLAGS flags, std::string_view what) {
  DWORD used = 0;
  DWORD properties = 0;
  if (EvtRender(nullptr, handle, flags, 0, nullptr, &used, &properties)) return std::wstring();
  if (GetLastError() != ERROR_INSUFFICIENT_BUFFER) return LastError("EvtRender", what);
  std::wstring text(used / sizeof(wchar_t) + 1, L'\0');
  if (!EvtRender(nullptr, handle, flags, static_cast<DWORD>(text.size() * sizeof(wchar_t)),
                 text.data(), &used, &properties)) {
    return LastError("EvtRender", what);
  }
  text.resize(used / sizeof(wchar_t));
  while (!text.empty() && text.back() == L'\0') text.pop_back();
  return text;
}

// Reads events from a query handle (EvtNext) until `max` or the end.
StatusOr<std::vector<UniqueEvtHandle>> NextEvents(EVT_HANDLE query, size_t max,
                                                  std::string_view channel) {
  std::vector<UniqueEvtHandle> events;
  while (events.size() < max) {
    EVT_HANDLE batch[64];
    const DWORD want = static_cast<DWORD>(std::min<size_t>(std::size(batch), max - events.size()));
    DWORD returned = 0;
    if (!EvtNext(query, want, batch, 5000, 0, &returned)) {
      const DWORD error = GetLastError();
      if (error == ERROR_NO_MORE_ITEMS) break;
      return LastError("EvtNext", channel);
    }
    for (DWORD i = 0; i < returned; ++i) events.emplace_back(batch[i]);
    if (returned == 0) break;
  }
  return events;
}

StatusOr<UniqueEvtHandle> OpenQuery(std::string_view channel, std::string_view xpath,
                                    bool newest_first) {
  const std::wstring wide_channel = Utf8ToWide(channel);
  const std::wstring wide_query = Utf8ToWide(xpath);
  DWORD flags = EvtQueryChannelPath;
  flags |= newest_first ? EvtQueryReverseDirection : EvtQueryForwardDirection;
  UniqueEvtHandle query(EvtQuery(nullptr, wide_channel.c_str(), wide_query.c_str(), flags));
  if (!query) return LastError("EvtQuery", channel);
  return query;
}

}  // namespace

StatusOr<std::string> RenderEventXml(EVT_HANDLE event) {
  auto text = Render(event, EvtRenderEventXml, "event");
  if (!text.ok()) return text.status();
  return WideToUtf8(*text);
}

StatusOr<std::vector<std::string>> QueryEventXml(std::string_view channel, std::string_view xpath,
                                                 size_t max_events, bool newest_first) {
  auto query = OpenQuery(channel, xpath, newest_first);
  if (!query.ok()) return query.status();
  auto events = NextEvents(query->get(), max_events, channel);
  if (!events.ok()) return events.status();
  std::vector<std::string> xml;
  for (const UniqueEvtHandle& event : *events) {
    auto rendered = RenderEventXml(event.get());
    if (!rendered.ok()) return rendered.status();
    xml.push_back(std::move(*rendered));
  }
  return xml;
}

StatusOr<bool> EnableChannel(std::string_view channel) {
  const std::wstring wide = Utf8ToWide(channel);
  SetLastError(ERROR_SUCCESS);  // wine's stubs fail without setting one
  UniqueEvtHandle config(EvtOpenChannelConfig(nullptr, wide.c_str(), 0));
  if (!config) return LastError("EvtOpenChannelConfig", channel);
  EVT_VARIANT enabled{};
  DWORD used = 0;
  if (!EvtGetChannelConfigProperty(config.get(), EvtChannelConfigEnabled, 0, sizeof(enabled),
                                   &enabled, &used)) {
    return LastError("EvtGetChannelConfigProperty", channel);
  }
  if (enabled.Type == EvtVarTypeBoolean && enabled.BooleanVal) return false;
  EVT_VARIANT on{};
  on.Type = EvtVarTypeBoolean;
  on.BooleanVal = TRUE;
  if (!EvtSetChannelConfigProperty(config.get(), EvtChannelConfigEnabled, 0, &on)) {
    return LastError("EvtSetChannelConfigProperty", channel);
  }
  if (!EvtSaveChannelConfig(config.get(), 0)) return LastError("EvtSaveChannelConfig", channel);
  return true;
}

StatusOr<std::unique_ptr<EvtxFile>> EvtxFile::Open(std::string_view path,
                                                   std::string_view xpath) {
  const std::wstring wide_path = Utf8ToWide(path);
  const DWORD attributes = GetFileAttributesW(wide_path.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES) return LastError("GetFileAttributesW", path);
  if ((attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    return Status::Error(0x80070057u /* E_INVALIDARG */,
                         "EvtxFile(" + std::string(path) + "): a directory, not an .evtx file");
  }
  const std::wstring wide_query = Utf8ToWide(xpath);
  UniqueEvtHandle query(EvtQuery(nullptr, wide_path.c_str(), wide_query.c_str(),
                                 EvtQueryFilePath | EvtQueryForwardDirection));
  if (!query) {
    Status failed = LastError("EvtQuery", path);
    // The file was there a moment ago: seen with wine's EvtQuery stub.
    if (failed.hresult() == 0x80070002u /* ERROR_FILE_NOT_FOUND */) {
      failed = Status::Error(failed.hresult(), failed.message() +
                                                   " (the file exists: the event log API cannot "
                                                   "open it here)");
    }
    return failed;
  }
  return std::unique_ptr<EvtxFile>(new EvtxFile(std::move(query), std::string(path)));
}

StatusOr<bool> EvtxFile::Next(std::string* xml) {
  // Bounded by the file: every pass consumes a record or ends.
  while (!at_end_) {
    if (position_ == batch_.size()) {
      batch_.clear();
      position_ = 0;
      EVT_HANDLE raw[64];
      DWORD returned = 0;
      if (!EvtNext(query_.get(), static_cast<DWORD>(std::size(raw)), raw, 5000, 0, &returned)) {
        if (GetLastError() == ERROR_NO_MORE_ITEMS) {
          at_end_ = true;
          break;
        }
        return LastError("EvtNext", path_);
      }
      // Owned at once, so that every handle of the batch is closed.
      for (DWORD i = 0; i < returned; ++i) batch_.emplace_back(raw[i]);
      if (returned == 0) {
        at_end_ = true;
        break;
      }
    }
    const UniqueEvtHandle event = std::move(batch_[position_++]);
    auto rendered = RenderEventXml(event.get());
    if (!rendered.ok()) {
      ++unrendered_;
      last_error_ = rendered.status().message();
      continue;
    }
    *xml = std::move(*rendered);
    return true;
  }
  return false;
}

StatusOr<EvtxReadResult> ReadEvtxFile(std::string_view path, size_t max_events,
                                      const std::function<bool(std::string xml)>& callback,
                                      std::string_view xpath) {
  auto file = EvtxFile::Open(path, xpath);
  if (!file.ok()) return file.status();
  EvtxReadResult result;
  std::string xml;
  while (result.delivered < max_events) {
    auto more = (*file)->Next(&xml);
    if (!more.ok()) return more.status();
    if (!*more) break;
    ++result.delivered;
    if (!callback(std::move(xml))) break;
  }
  result.unrendered = (*file)->unrendered();
  result.last_error = (*file)->last_error();
  return result;
}

StatusOr<std::unique_ptr<EventSubscription>> EventSubscription::Start(Options options,
                                                                      Callback callback) {
  std::unique_ptr<EventSubscription> self(
      new EventSubscription(std::move(options), std::move(callback)));
  const Options& o = self->options_;

  // The query comes first: it checks channel and XPath, serves the
  // backfill, and is where an event log without a service fails - wine's
  // EvtQuery returns NULL, while its EvtCreateBookmark is not even a stub
  // (calling it aborts the process), so nothing else may be called before.
  auto query = OpenQuery(o.channel, o.xpath, /*newest_first=*/true);
  if (!query.ok()) return query.status();

  // A bookmark from the previous run, if there is a usable one.
  bool have_position = false;
  if (!o.bookmark_path.empty()) {
    auto saved = ReadSmallFile(o.bookmark_path, kMaxBookmarkBytes);
    if (saved.ok()) {
      const std::wstring xml = Utf8ToWide(*saved);
      UniqueEvtHandle bookmark(EvtCreateBookmark(xml.c_str()));
      if (bookmark) {
        self->bookmark_ = std::move(bookmark);
        have_position = true;
      } else {
        self->bookmark_warning_ =
            LastError("EvtCreateBookmark", o.bookmark_path).message() + "; starting without it";
      }
    } else if (saved.status().code() != StatusCode::kNotFound) {
      self->bookmark_warning_ = saved.status().message() + "; starting without it";
    }
  }
  if (!self->bookmark_) {
    self->bookmark_.reset(EvtCreateBookmark(nullptr));
    if (!self->bookmark_) return LastError("EvtCreateBookmark", "new");
  }

  DWORD flags = EvtSubscribeStartAfterBookmark;
  if (!have_position) {
    // Bounded backfill: the newest `max_backfill` matching events, delivered
    // oldest first; the bookmark then points at the newest, and the
    // subscription continues right after it, so nothing falls in between.
    auto past = NextEvents(query->get(), o.max_backfill, o.channel);
    if (!past.ok()) return past.status();
    for (auto it = past->rbegin(); it != past->rend(); ++it) self->Deliver(it->get());
    // Nothing matched so far: every matching event is new, so starting at
    // the oldest record cannot repeat anything.
    if (past->empty()) flags = EvtSubscribeStartAtOldestRecord;
  }
  query->reset();

  const std::wstring channel = Utf8ToWide(o.channel);
  const std::wstring xpath = Utf8ToWide(o.xpath);
  self->subscription_.reset(EvtSubscribe(
      nullptr, nullptr, channel.c_str(), xpath.c_str(),
      flags == EvtSubscribeStartAfterBookmark ? self->bookmark_.get() : nullptr, self.get(),
      &EventSubscription::OnNotify, flags));
  if (!self->subscription_) return LastError("EvtSubscribe", o.channel);
  return self;
}

EventSubscription::~EventSubscription() {
  // EvtClose waits for a callback in progress; after it no more arrive.
  subscription_.reset();
  std::lock_guard<std::mutex> lock(mutex_);
  // Only a moved position is worth writing (also: a failed Start writes
  // nothing).
  if (unsaved_ > 0) SaveBookmarkLocked();
}

DWORD WINAPI EventSubscription::OnNotify(EVT_SUBSCRIBE_NOTIFY_ACTION action, void* context,
                                         EVT_HANDLE event) {
  auto* self = static_cast<EventSubscription*>(context);
  if (action == EvtSubscribeActionError) {
    // For errors the "event" is the Win32 error code.
    const auto code = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(event));
    self->RecordError(ApiError("EvtSubscribe callback", self->options_.channel, code).message());
    return ERROR_SUCCESS;
  }
  self->Deliver(event);
  return ERROR_SUCCESS;
}

void EventSubscription::Deliver(EVT_HANDLE event) {
  auto xml = RenderEventXml(event);
  if (!xml.ok()) {
    RecordError(xml.status().message());
    return;
  }
  callback_(std::move(*xml));
  delivered_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!EvtUpdateBookmark(bookmark_.get(), event)) {
    const Status error = LastError("EvtUpdateBookmark", options_.channel);
    errors_.fetch_add(1);
    last_error_ = error.message();
    return;
  }
  if (++unsaved_ >= options_.save_every) {
    if (Status saved = SaveBookmarkLocked(); !saved.ok()) {
      errors_.fetch_add(1);
      last_error_ = saved.message();
    }
  }
}

void EventSubscription::RecordError(std::string text) {
  errors_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mutex_);
  last_error_ = std::move(text);
}

std::string EventSubscription::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

Status EventSubscription::SaveBookmark() {
  std::lock_guard<std::mutex> lock(mutex_);
  return SaveBookmarkLocked();
}

Status EventSubscription::SaveBookmarkLocked() {
  if (options_.bookmark_path.empty() || !bookmark_) return Status();
  auto xml = Render(bookmark_.get(), EvtRenderBookmark, "bookmark");
  if (!xml.ok()) return xml.status();
  if (Status written = WriteFileAtomically(options_.bookmark_path, WideToUtf8(*xml));
      !written.ok()) {
    return written;
  }
  unsaved_ = 0;
  return Status();
}

}  // namespace pkiwatch::win
