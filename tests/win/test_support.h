// Helpers shared by the wine tests of agent/win.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/win/certificates.h"
#include "agent/win/status.h"

namespace pkiwatch::win::testing {

// True when running under wine (ntdll exports wine_get_version).
bool RunningUnderWine();

// A Linux path as wine sees it ("Z:\work\..."); other paths unchanged.
std::string WinePath(std::string_view unix_path);

// The http fixture's directory (Windows path) and port; nullopt when the
// fixture is not running (the test then skips, naming the directory).
std::string HttpFixtureDir();
std::optional<uint16_t> HttpFixturePort();

// Reads a whole file (binary); empty when missing.
std::vector<uint8_t> ReadBinaryFile(const std::string& path);

// A unique name for test objects ("pkiwatch-test-<pid>-<counter>").
std::string UniqueName(std::string_view prefix);

// Adds a DER certificate to a system store (created when missing), with
// CERT_ARCHIVED_PROP_ID when `archived`. Test set-up only.
Status AddCertificateToStore(StoreLocation location, std::string_view store,
                             const std::vector<uint8_t>& der, bool archived);
// Deletes the certificate with this SHA-1 thumbprint (upper-case hex); OK
// when absent.
Status RemoveCertificateFromStore(StoreLocation location, std::string_view store,
                                  std::string_view thumbprint);
// Deletes every certificate whose subject contains `subject_part` (stale
// fixture roots from earlier runs: the fixture makes new keys each time).
Status RemoveCertificatesBySubject(StoreLocation location, std::string_view store,
                                   std::string_view subject_part);
// Deletes a whole system store (registry-backed); OK when absent.
Status DeleteSystemStore(StoreLocation location, std::string_view store);

// Task Scheduler XML of a task that runs `cmd /c exit 0`, with no trigger.
std::string SimpleTaskXml(std::string_view description);

}  // namespace pkiwatch::win::testing
