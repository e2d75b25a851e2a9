#pragma once

// A computer whose exported event log was imported (pkiwatch-agent
// --import-events). Each computer named in the records becomes a node of its
// own, so its findings keep its name: under <state_dir>/imported/<computer>/
// it has its own spool, node identity and the list of records already
// imported (so importing an overlapping export again adds nothing twice).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/core/spool.h"
#include "agent/core/sqlite_db.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::agent {

inline constexpr char kImportedDirName[] = "imported";
// The directory name of a computer whose records carry no <Computer>.
inline constexpr char kUnknownComputer[] = "unknown-computer";
inline constexpr size_t kMaxComputerNameBytes = 255;

// Lower-case letters, digits, '.', '-' and '_' of the computer name (others
// become '_'), at most kMaxComputerNameBytes; kUnknownComputer when empty.
// Windows computer names are case-insensitive, so "WS01" and "ws01" share one.
std::string ImportedHostDirName(std::string_view computer);

class ImportedHost {
 public:
  // Opens (creating when absent) the directory of `computer` under `root`.
  static absl::StatusOr<std::unique_ptr<ImportedHost>> Open(const std::string& root,
                                                            std::string_view computer,
                                                            const Spool::Options& spool_bounds);
  // Every computer already under `root` (none when `root` does not exist).
  static absl::StatusOr<std::vector<std::unique_ptr<ImportedHost>>> OpenAll(
      const std::string& root, const Spool::Options& spool_bounds);

  ~ImportedHost();

  const std::string& computer() const { return computer_; }
  const std::string& dir() const { return dir_; }
  Spool& spool() { return *spool_; }
  std::string identity_path() const { return dir_ + "/node_identity.json"; }

  // The node this computer enrolls as: hostname and domain from the name
  // ("ws01.corp.example" -> ws01, corp.example), the given site, and an
  // agent version that says the data was imported.
  v1::HostFacts Facts(std::string_view site) const;

  // Record bookkeeping for one import: Begin, then Claim per record (true
  // the first time a channel's record id is seen, ever), then Commit once
  // the findings are in the spool. Records without an id are always new.
  absl::Status BeginImport();
  absl::StatusOr<bool> Claim(std::string_view channel, uint64_t record_id);
  absl::Status CommitImport();

 private:
  ImportedHost(std::string computer, std::string dir, std::unique_ptr<Spool> spool,
               std::unique_ptr<SqliteDb> records);

  std::string computer_;
  std::string dir_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<SqliteDb> records_;
  std::optional<SqliteStatement> claim_;
  std::optional<SqliteWriteTransaction> transaction_;
};

}  // namespace pkiwatch::agent
