#include "agent/win/services.h"

#include <chrono>
#include <string>
#include <thread>

#include "agent/win/files.h"
#include "agent/win/service_host.h"
#include "agent/win/win32.h"
#include "gtest/gtest.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kRunning = 4;
constexpr uint32_t kStopped = 1;

TEST(ServicesTest, MissingServiceIsNotFound) {
  auto state = QueryServiceState("pkiwatch-no-such-service");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(state.status().message(),
            "OpenServiceW(pkiwatch-no-such-service): " + DescribeError(0x80070424u));
  EXPECT_EQ(DescribeError(0x80070424u).rfind("0x80070424 ERROR_SERVICE_DOES_NOT_EXIST ", 0), 0u);
  EXPECT_TRUE(UninstallService("pkiwatch-no-such-service", seconds(1)).ok());
}

TEST(ServicesTest, StateNames) {
  EXPECT_EQ(ServiceStateName(kRunning), "running");
  EXPECT_EQ(ServiceStateName(99), "unknown(99)");
  EXPECT_EQ(ServiceStartTypeName(2), "auto");
}

TEST(ServicesTest, QuotesCommandLines) {
  EXPECT_EQ(QuoteCommandLine({"C:\\Program Files\\pkiwatch\\agent.exe", "--service"}),
            "\"C:\\Program Files\\pkiwatch\\agent.exe\" --service");
  EXPECT_EQ(QuoteCommandLine({"a\"b", "", "c\\\\"}), "\"a\\\"b\" \"\" c\\\\");
  EXPECT_EQ(QuoteCommandLine({"with space\\"}), "\"with space\\\\\"");
}

TEST(StopSignalTest, NotifiesWaiters) {
  StopSignal stop;
  EXPECT_FALSE(stop.stop_requested());
  EXPECT_FALSE(stop.WaitFor(milliseconds(1)));
  std::thread notifier([&] { stop.Notify(); });
  EXPECT_TRUE(stop.WaitFor(seconds(30)));
  notifier.join();
  EXPECT_TRUE(stop.stop_requested());
}

// Started from a console, not by the SCM: a clean error, the body never runs
// (wine takes ~10 s to give up waiting for the SCM's pipe).
TEST(ServiceHostTest, OutsideTheScmIsACleanError) {
  bool ran = false;
  const Status status = RunAsService("pkiwatch-not-a-service", [&](const StopSignal&) {
    ran = true;
    return 0;
  });
  EXPECT_EQ(status.hresult(), 0x80070427u) << status.message();  // FAILED_SERVICE_CONTROLLER_CONNECT
  EXPECT_EQ(status.message().rfind("StartServiceCtrlDispatcherW(pkiwatch-not-a-service): ", 0), 0u);
  EXPECT_FALSE(ran);
}

TEST(ServiceHostTest, ConsoleRunsTheBody) {
  const int code = RunInConsole([](const StopSignal& stop) { return stop.stop_requested() ? 1 : 7; });
  EXPECT_EQ(code, 7);
}

// Installs the test tool as a service (LocalSystem, demand start), starts it,
// stops it through the SCM and removes it. The tool runs RunAsService and
// writes "running"/"stopped" to a marker file.
TEST(ServicesTest, InstallStartStopUninstall) {
  const std::string name = testing::UniqueName("pkiwatch-test-svc");
  const std::string marker = testing::WinePath(PKIWATCH_WIN_TEST_DIR) + "-" + name + ".txt";
  ServiceInstallOptions options;
  options.name = name;
  options.display_name = "pkiwatch test service";
  options.description = "Installed by tests/win/services_test.cc";
  options.executable = testing::WinePath(PKIWATCH_WIN_TEST_TOOL);
  options.arguments = {"service", name, marker};
  options.auto_start = false;
  const Status installed = InstallService(options);
  ASSERT_TRUE(installed.ok()) << installed.message();

  const Status again = InstallService(options);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.message();

  const Status started = StartServiceByName(name);
  EXPECT_TRUE(started.ok()) << started.message();
  const Status running = WaitForServiceState(name, kRunning, seconds(60));
  EXPECT_TRUE(running.ok()) << running.message();
  auto state = QueryServiceState(name);
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->current_state, kRunning);
  EXPECT_EQ(ServiceStartTypeName(state->start_type), "demand");
  EXPECT_NE(state->process_id, 0u);

  const Status stopped = StopService(name, seconds(60));
  EXPECT_TRUE(stopped.ok()) << stopped.message();
  auto marker_text = ReadSmallFile(marker, 1024);
  ASSERT_TRUE(marker_text.ok()) << marker_text.status().message();
  EXPECT_EQ(*marker_text, "stopped");

  const Status removed = UninstallService(name, seconds(60));
  EXPECT_TRUE(removed.ok()) << removed.message();
  EXPECT_EQ(QueryServiceState(name).status().code(), StatusCode::kNotFound);
  DeleteFileW(std::wstring(marker.begin(), marker.end()).c_str());
}

}  // namespace
}  // namespace pkiwatch::win
