// Task Scheduler 2.0 (ITaskService): the autoenrollment triggers are the
// scheduled tasks \Microsoft\Windows\CertificateServicesClient\SystemTask
// (machine) and UserTask (users). Raw state only; what a state means (a
// task stuck "running" waits for user interaction) is portable code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/win/handles.h"
#include "agent/win/status.h"

namespace pkiwatch::win {

inline constexpr std::string_view kAutoEnrollmentTaskFolder =
    "\\Microsoft\\Windows\\CertificateServicesClient";
inline constexpr std::string_view kAutoEnrollmentSystemTask =
    "\\Microsoft\\Windows\\CertificateServicesClient\\SystemTask";
inline constexpr std::string_view kAutoEnrollmentUserTask =
    "\\Microsoft\\Windows\\CertificateServicesClient\\UserTask";

struct TaskInfo {
  std::string path;
  uint32_t state = 0;        // TASK_STATE: 0 unknown, 1 disabled, 2 queued, 3 ready, 4 running
  bool enabled = false;
  // The run history. nullopt: never ran / none scheduled, or the Task
  // Scheduler does not report it (wine: E_NOTIMPL).
  std::optional<int64_t> last_run_unix;
  std::optional<int64_t> next_run_unix;
  std::optional<uint32_t> last_task_result;  // HRESULT, or the action's exit code
  uint32_t missed_runs = 0;
};

// "unknown", "disabled", "queued", "ready", "running", or "state(<n>)".
std::string TaskStateName(uint32_t state);

// A connection to the local Task Scheduler service. Needs COM initialized on
// the calling thread (ComApartment) for its whole lifetime; use it only on
// that thread.
class TaskScheduler {
 public:
  static StatusOr<std::unique_ptr<TaskScheduler>> Connect();

  // `path` like "\Folder\Task". kNotFound when the task or a folder is absent.
  StatusOr<TaskInfo> GetTask(std::string_view path);
  // Creates or replaces the task at `path` from Task Scheduler XML, creating
  // missing folders. The task runs as the principal the XML names.
  Status RegisterTaskXml(std::string_view path, std::string_view xml);
  // OK when the task is absent.
  Status DeleteTask(std::string_view path);
  // Deletes an empty folder; OK when absent.
  Status DeleteFolder(std::string_view path);

 private:
  explicit TaskScheduler(ComPtr<ITaskService> service) : service_(std::move(service)) {}
  StatusOr<ComPtr<ITaskFolder>> GetFolder(std::string_view path);
  StatusOr<ComPtr<ITaskFolder>> GetOrCreateFolder(std::string_view path);

  ComPtr<ITaskService> service_;
};

}  // namespace pkiwatch::win
