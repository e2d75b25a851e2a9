#include "agent/win/task_scheduler.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

class TaskSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto com = ComApartment::Enter();
    ASSERT_TRUE(com.ok()) << com.status().message();
    com_ = std::move(*com);
    auto scheduler = TaskScheduler::Connect();
    ASSERT_TRUE(scheduler.ok()) << scheduler.status().message();
    scheduler_ = std::move(*scheduler);
    folder_ = "\\" + testing::UniqueName("pkiwatch-test");
  }
  void TearDown() override {
    if (scheduler_) {
      EXPECT_TRUE(scheduler_->DeleteTask(folder_ + "\\CertificateServicesClient\\SystemTask").ok());
      EXPECT_TRUE(scheduler_->DeleteFolder(folder_ + "\\CertificateServicesClient").ok());
      EXPECT_TRUE(scheduler_->DeleteFolder(folder_).ok());
    }
    scheduler_.reset();  // before COM goes
  }
  std::unique_ptr<ComApartment> com_;
  std::unique_ptr<TaskScheduler> scheduler_;
  std::string folder_;
};

TEST_F(TaskSchedulerTest, RegistersReadsAndDeletesATask) {
  const std::string path = folder_ + "\\CertificateServicesClient\\SystemTask";
  ASSERT_TRUE(scheduler_->RegisterTaskXml(path, testing::SimpleTaskXml("pkiwatch test")).ok());

  auto task = scheduler_->GetTask(path);
  ASSERT_TRUE(task.ok()) << task.status().message();
  EXPECT_EQ(task->path, path);
  EXPECT_TRUE(task->enabled);
  // Registered, never run: ready (or unknown on some hosts), no last run.
  EXPECT_NE(task->state, 1u) << TaskStateName(task->state);  // not disabled
  EXPECT_FALSE(task->last_run_unix.has_value());

  // Registering again replaces it.
  ASSERT_TRUE(scheduler_->RegisterTaskXml(path, testing::SimpleTaskXml("pkiwatch test 2")).ok());
  ASSERT_TRUE(scheduler_->DeleteTask(path).ok());
  auto gone = scheduler_->GetTask(path);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound) << gone.status().message();
  EXPECT_NE(gone.status().message().find("ITaskFolder::GetTask(" + path + ")"), std::string::npos);
  // Deleting again is fine.
  EXPECT_TRUE(scheduler_->DeleteTask(path).ok());
}

TEST_F(TaskSchedulerTest, MissingFolderIsNotFound) {
  auto task = scheduler_->GetTask(folder_ + "\\nothing\\SystemTask");
  ASSERT_FALSE(task.ok());
  EXPECT_EQ(task.status().code(), StatusCode::kNotFound);
  EXPECT_NE(task.status().message().find("ITaskService::GetFolder"), std::string::npos);
}

TEST(TaskStateNameTest, Names) {
  EXPECT_EQ(TaskStateName(4), "running");
  EXPECT_EQ(TaskStateName(1), "disabled");
  EXPECT_EQ(TaskStateName(9), "state(9)");
}

}  // namespace
}  // namespace pkiwatch::win
