#include "agent/win/task_scheduler.h"

#include "agent/win/strings.h"

namespace pkiwatch::win {
namespace {

// Splits "\A\B\Task" into "\A\B" and "Task" (the folder of a top-level task
// is "\").
std::pair<std::string, std::string> SplitPath(std::string_view path) {
  const size_t slash = path.find_last_of('\\');
  if (slash == std::string_view::npos) return {"\\", std::string(path)};
  std::string folder(path.substr(0, slash));
  if (folder.empty()) folder = "\\";
  return {folder, std::string(path.substr(slash + 1))};
}

bool IsNotFound(HRESULT hr) {
  return hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) ||
         hr == HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND);
}

}  // namespace

std::string TaskStateName(uint32_t state) {
  switch (state) {
    case TASK_STATE_UNKNOWN: return "unknown";
    case TASK_STATE_DISABLED: return "disabled";
    case TASK_STATE_QUEUED: return "queued";
    case TASK_STATE_READY: return "ready";
    case TASK_STATE_RUNNING: return "running";
    default: return "state(" + std::to_string(state) + ")";
  }
}

StatusOr<std::unique_ptr<TaskScheduler>> TaskScheduler::Connect() {
  ComPtr<ITaskService> service;
  HRESULT hr = CoCreateInstance(CLSID_TaskScheduler, nullptr, CLSCTX_INPROC_SERVER,
                                IID_ITaskService, service.put_void());
  if (FAILED(hr)) return ApiError("CoCreateInstance", "CLSID_TaskScheduler", hr);
  // Empty VARIANTs: the local machine, the caller's credentials.
  UniqueVariant server, user, domain, password;
  hr = service->Connect(server.get(), user.get(), domain.get(), password.get());
  if (FAILED(hr)) return ApiError("ITaskService::Connect", "local", hr);
  return std::unique_ptr<TaskScheduler>(new TaskScheduler(std::move(service)));
}

StatusOr<ComPtr<ITaskFolder>> TaskScheduler::GetFolder(std::string_view path) {
  UniqueBstr name = MakeBstr(path);
  ComPtr<ITaskFolder> folder;
  const HRESULT hr = service_->GetFolder(name.get(), folder.put());
  if (FAILED(hr)) return ApiError("ITaskService::GetFolder", path, hr);
  return folder;
}

StatusOr<ComPtr<ITaskFolder>> TaskScheduler::GetOrCreateFolder(std::string_view path) {
  auto root = GetFolder("\\");
  if (!root.ok()) return root.status();
  ComPtr<ITaskFolder> current = std::move(*root);
  std::string so_far;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('\\', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    so_far += "\\";
    so_far += part;
    UniqueBstr name = MakeBstr(part);
    ComPtr<ITaskFolder> next;
    HRESULT hr = current->GetFolder(name.get(), next.put());
    if (IsNotFound(hr)) {
      UniqueVariant sddl;
      hr = current->CreateFolder(name.get(), sddl.get(), next.put());
      if (hr == HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)) hr = current->GetFolder(name.get(), next.put());
      if (FAILED(hr)) return ApiError("ITaskFolder::CreateFolder", so_far, hr);
    } else if (FAILED(hr)) {
      return ApiError("ITaskFolder::GetFolder", so_far, hr);
    }
    current = std::move(next);
  }
  return current;
}

StatusOr<TaskInfo> TaskScheduler::GetTask(std::string_view path) {
  const auto [folder_path, task_name] = SplitPath(path);
  auto folder = GetFolder(folder_path);
  if (!folder.ok()) return folder.status();
  UniqueBstr name = MakeBstr(task_name);
  ComPtr<IRegisteredTask> task;
  HRESULT hr = (*folder)->GetTask(name.get(), task.put());
  if (FAILED(hr)) return ApiError("ITaskFolder::GetTask", path, hr);

  TaskInfo info;
  info.path = std::string(path);
  TASK_STATE state = TASK_STATE_UNKNOWN;
  hr = task->get_State(&state);
  if (FAILED(hr)) return ApiError("IRegisteredTask::get_State", path, hr);
  info.state = static_cast<uint32_t>(state);
  VARIANT_BOOL enabled = VARIANT_FALSE;
  hr = task->get_Enabled(&enabled);
  if (FAILED(hr)) return ApiError("IRegisteredTask::get_Enabled", path, hr);
  info.enabled = enabled != VARIANT_FALSE;
  // The history getters: E_NOTIMPL (wine) leaves the value unknown; other
  // failures are errors.
  DATE last_run = 0;
  hr = task->get_LastRunTime(&last_run);
  if (FAILED(hr) && hr != E_NOTIMPL) return ApiError("IRegisteredTask::get_LastRunTime", path, hr);
  // SCHED_S_TASK_HAS_NOT_RUN is a success code with no time.
  if (hr == S_OK) info.last_run_unix = LocalOleDateToUnixSeconds(last_run);
  LONG result = 0;
  hr = task->get_LastTaskResult(&result);
  if (FAILED(hr) && hr != E_NOTIMPL) {
    return ApiError("IRegisteredTask::get_LastTaskResult", path, hr);
  }
  if (SUCCEEDED(hr)) info.last_task_result = static_cast<uint32_t>(result);
  DATE next_run = 0;
  hr = task->get_NextRunTime(&next_run);
  if (SUCCEEDED(hr) && hr == S_OK) info.next_run_unix = LocalOleDateToUnixSeconds(next_run);
  LONG missed = 0;
  if (SUCCEEDED(task->get_NumberOfMissedRuns(&missed)) && missed > 0) {
    info.missed_runs = static_cast<uint32_t>(missed);
  }
  return info;
}

Status TaskScheduler::RegisterTaskXml(std::string_view path, std::string_view xml) {
  const auto [folder_path, task_name] = SplitPath(path);
  auto folder = GetOrCreateFolder(folder_path);
  if (!folder.ok()) return folder.status();
  UniqueBstr name = MakeBstr(task_name);
  UniqueBstr definition = MakeBstr(xml);
  UniqueVariant user, password, sddl;
  ComPtr<IRegisteredTask> task;
  const HRESULT hr = (*folder)->RegisterTask(name.get(), definition.get(), TASK_CREATE_OR_UPDATE,
                                             user.get(), password.get(),
                                             TASK_LOGON_INTERACTIVE_TOKEN, sddl.get(), task.put());
  if (FAILED(hr)) return ApiError("ITaskFolder::RegisterTask", path, hr);
  return Status();
}

Status TaskScheduler::DeleteTask(std::string_view path) {
  const auto [folder_path, task_name] = SplitPath(path);
  auto folder = GetFolder(folder_path);
  if (!folder.ok()) {
    return IsNotFound(static_cast<HRESULT>(folder.status().hresult())) ? Status() : folder.status();
  }
  UniqueBstr name = MakeBstr(task_name);
  const HRESULT hr = (*folder)->DeleteTask(name.get(), 0);
  if (FAILED(hr) && !IsNotFound(hr)) return ApiError("ITaskFolder::DeleteTask", path, hr);
  return Status();
}

Status TaskScheduler::DeleteFolder(std::string_view path) {
  const auto [parent_path, folder_name] = SplitPath(path);
  auto parent = GetFolder(parent_path);
  if (!parent.ok()) {
    return IsNotFound(static_cast<HRESULT>(parent.status().hresult())) ? Status() : parent.status();
  }
  UniqueBstr name = MakeBstr(folder_name);
  const HRESULT hr = (*parent)->DeleteFolder(name.get(), 0);
  if (FAILED(hr) && !IsNotFound(hr)) return ApiError("ITaskFolder::DeleteFolder", path, hr);
  return Status();
}

}  // namespace pkiwatch::win
