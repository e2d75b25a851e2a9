// Helper for the wine tests (not shipped):
//   pkiwatch_win_test_tool service NAME MARKER
//       run as the service NAME (RunAsService); writes "running" to MARKER
//       while running and "stopped" when the SCM stopped it
//   pkiwatch_win_test_tool prepare-e2e FIXTURE_DIR TASK_FOLDER
//       machine AEPolicy 7 (Group Policy key), Enroll LogLevel 4, SystemTask
//       and UserTask in TASK_FOLDER, the fixture root in LocalMachine\Root,
//       e2e-good.cer and e2e-revoked.cer in LocalMachine\My
//   pkiwatch_win_test_tool cleanup-e2e FIXTURE_DIR TASK_FOLDER
//       removes all of that again
//   pkiwatch_win_test_tool query-service NAME
//       prints the service state ("running", ...); exit 3 when absent
// FIXTURE_DIR is a Windows path (Z:\...). Exit 0 on success, 1 on failure
// (the error is printed), 2 on a usage error.

#include <cstdio>
#include <string>
#include <vector>

#include "agent/win/certificates.h"
#include "agent/win/files.h"
#include "agent/win/handles.h"
#include "agent/win/pki_settings.h"
#include "agent/win/registry.h"
#include "agent/win/service_host.h"
#include "agent/win/services.h"
#include "agent/win/strings.h"
#include "agent/win/task_scheduler.h"
#include "tests/win/test_support.h"

namespace pkiwatch::win {
namespace {

int Fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

std::string Thumbprint(StoreLocation location, const char* store, const std::vector<uint8_t>& der) {
  auto certificates = EnumerateSystemStore(location, store);
  if (!certificates.ok()) return "";
  for (const StoreCertificate& c : *certificates) {
    if (c.der == der) return c.thumbprint;
  }
  return "";
}

int Service(const std::string& name, const std::string& marker) {
  const Status status = RunAsService(name, [&](const StopSignal& stop) {
    WriteFileAtomically(marker, "running");
    while (!stop.WaitFor(std::chrono::seconds(60))) {
    }
    WriteFileAtomically(marker, "stopped");
    return 0;
  });
  return status.ok() ? 0 : Fail(status);
}

int PrepareOrCleanup(bool prepare, const std::string& fixture_dir, const std::string& folder) {
  const auto root = testing::ReadBinaryFile(fixture_dir + "\\root.cer");
  const auto good = testing::ReadBinaryFile(fixture_dir + "\\e2e-good.cer");
  const auto revoked = testing::ReadBinaryFile(fixture_dir + "\\e2e-revoked.cer");
  if (root.empty() || good.empty() || revoked.empty()) {
    return Fail(Status::Error(0x80070002u, "fixture certificates missing in " + fixture_dir));
  }
  auto com = ComApartment::Enter();
  if (!com.ok()) return Fail(com.status());
  auto scheduler = TaskScheduler::Connect();
  if (!scheduler.ok()) return Fail(scheduler.status());

  if (prepare) {
    // Leftovers of earlier runs (the fixture makes new keys every run).
    for (const auto& [store, subject] : {std::pair<const char*, const char*>{"Root", "pkiwatch Test Root"},
                                         {"My", "pkiwatch-e2e-"}}) {
      const Status s = testing::RemoveCertificatesBySubject(StoreLocation::kLocalMachine, store, subject);
      if (!s.ok()) return Fail(s);
    }
    auto policy = RegistryKey::Create(RegistryRoot::kLocalMachine, kAutoEnrollmentPolicyPath);
    if (!policy.ok()) return Fail(policy.status());
    if (Status s = policy->WriteDword("AEPolicy", 7); !s.ok()) return Fail(s);
    auto local = RegistryKey::Create(RegistryRoot::kLocalMachine, kAutoEnrollmentLocalPath);
    if (!local.ok()) return Fail(local.status());
    if (Status s = local->WriteDword("LogLevel", 4); !s.ok()) return Fail(s);
    for (const char* task : {"SystemTask", "UserTask"}) {
      const Status s = (*scheduler)->RegisterTaskXml(folder + "\\" + task,
                                                     testing::SimpleTaskXml("pkiwatch e2e"));
      if (!s.ok()) return Fail(s);
    }
    for (const auto& [store, der] : {std::pair<const char*, const std::vector<uint8_t>*>{"Root", &root},
                                     {"My", &good},
                                     {"My", &revoked}}) {
      const Status s = testing::AddCertificateToStore(StoreLocation::kLocalMachine, store, *der, false);
      if (!s.ok()) return Fail(s);
    }
    return 0;
  }

  Status result;
  auto keep_first = [&](Status s) {
    if (result.ok() && !s.ok()) result = std::move(s);
  };
  if (auto policy = RegistryKey::Open(RegistryRoot::kLocalMachine, kAutoEnrollmentPolicyPath, true);
      policy.ok()) {
    keep_first(policy->DeleteValue("AEPolicy"));
  }
  if (auto local = RegistryKey::Open(RegistryRoot::kLocalMachine, kAutoEnrollmentLocalPath, true);
      local.ok()) {
    keep_first(local->DeleteValue("LogLevel"));
  }
  for (const char* task : {"SystemTask", "UserTask"}) {
    keep_first((*scheduler)->DeleteTask(folder + "\\" + task));
  }
  // Folders bottom-up: "\a\b" then "\a".
  for (std::string f = folder; f.size() > 1; f = f.substr(0, f.find_last_of('\\'))) {
    keep_first((*scheduler)->DeleteFolder(f));
  }
  for (const auto& [store, der] : {std::pair<const char*, const std::vector<uint8_t>*>{"Root", &root},
                                   {"My", &good},
                                   {"My", &revoked}}) {
    const std::string thumbprint = Thumbprint(StoreLocation::kLocalMachine, store, *der);
    if (!thumbprint.empty()) {
      keep_first(testing::RemoveCertificateFromStore(StoreLocation::kLocalMachine, store, thumbprint));
    }
  }
  return result.ok() ? 0 : Fail(result);
}

int QueryService(const std::string& name) {
  auto state = QueryServiceState(name);
  if (!state.ok()) {
    std::fprintf(stderr, "%s\n", state.status().message().c_str());
    return state.status().code() == StatusCode::kNotFound ? 3 : 1;
  }
  std::printf("%s\n", ServiceStateName(state->current_state).c_str());
  return 0;
}

int Main(const std::vector<std::string>& args) {
  if (args.size() == 3 && args[0] == "service") return Service(args[1], args[2]);
  if (args.size() == 3 && args[0] == "prepare-e2e") return PrepareOrCleanup(true, args[1], args[2]);
  if (args.size() == 3 && args[0] == "cleanup-e2e") return PrepareOrCleanup(false, args[1], args[2]);
  if (args.size() == 2 && args[0] == "query-service") return QueryService(args[1]);
  std::fprintf(stderr,
               "usage: pkiwatch_win_test_tool service NAME MARKER | prepare-e2e DIR FOLDER | "
               "cleanup-e2e DIR FOLDER | query-service NAME\n");
  return 2;
}

}  // namespace
}  // namespace pkiwatch::win

int wmain(int argc, wchar_t** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.push_back(pkiwatch::win::WideToUtf8(argv[i]));
  return pkiwatch::win::Main(args);
}
