#include "agent/core/imported_host.h"

#include <cctype>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace pkiwatch::agent {
namespace {

constexpr char kComputerFile[] = "computer.txt";

absl::Status MakeDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create ", path, ": ", ec.message()));
  std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadComputer(const std::string& dir) {
  std::ifstream in(dir + "/" + kComputerFile);
  std::string name;
  if (!in || !std::getline(in, name)) {
    return absl::NotFoundError(absl::StrCat(dir, " holds no ", kComputerFile));
  }
  return name;
}

}  // namespace

std::string ImportedHostDirName(std::string_view computer) {
  std::string name;
  for (char c : computer.substr(0, kMaxComputerNameBytes)) {
    const auto u = static_cast<unsigned char>(c);
    name.push_back(std::isalnum(u) || c == '.' || c == '-' || c == '_'
                       ? static_cast<char>(std::tolower(u))
                       : '_');
  }
  // "." and ".." are not names of their own.
  if (name.empty() || name.find_first_not_of('.') == std::string::npos) return kUnknownComputer;
  return name;
}

ImportedHost::ImportedHost(std::string computer, std::string dir, std::unique_ptr<Spool> spool,
                           std::unique_ptr<SqliteDb> records)
    : computer_(std::move(computer)),
      dir_(std::move(dir)),
      spool_(std::move(spool)),
      records_(std::move(records)) {}

ImportedHost::~ImportedHost() {
  // Statement and transaction go before the connection they belong to.
  claim_.reset();
  transaction_.reset();
}

absl::StatusOr<std::unique_ptr<ImportedHost>> ImportedHost::Open(
    const std::string& root, std::string_view computer, const Spool::Options& spool_bounds) {
  const std::string dir = absl::StrCat(root, "/", ImportedHostDirName(computer));
  if (absl::Status s = MakeDir(dir); !s.ok()) return s;
  std::string name(computer.substr(0, kMaxComputerNameBytes));
  if (auto existing = ReadComputer(dir); existing.ok()) {
    name = *existing;  // the first spelling seen stays the node's name
  } else {
    std::ofstream out(dir + "/" + kComputerFile, std::ios::trunc);
    out << name << "\n";
    if (!out.flush()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot write ", dir, "/", kComputerFile));
    }
  }
  Spool::Options options = spool_bounds;
  options.path = dir + "/spool.sqlite";
  auto spool = Spool::Open(options);
  if (!spool.ok()) return spool.status();
  auto records =
      SqliteDb::Open(dir + "/imported_records.sqlite", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!records.ok()) return records.status();
  if (absl::Status s = (*records)->Exec(
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
          "CREATE TABLE IF NOT EXISTS imported_records (channel BLOB NOT NULL, "
          "record_id INTEGER NOT NULL, PRIMARY KEY (channel, record_id)) WITHOUT ROWID");
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<ImportedHost>(
      new ImportedHost(std::move(name), dir, *std::move(spool), *std::move(records)));
}

absl::StatusOr<std::vector<std::unique_ptr<ImportedHost>>> ImportedHost::OpenAll(
    const std::string& root, const Spool::Options& spool_bounds) {
  std::vector<std::unique_ptr<ImportedHost>> hosts;
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return hosts;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (!entry.is_directory()) continue;
    auto computer = ReadComputer(entry.path().string());
    if (!computer.ok()) continue;  // not ours
    auto host = Open(root, *computer, spool_bounds);
    if (!host.ok()) return host.status();
    hosts.push_back(*std::move(host));
  }
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot list ", root, ": ", ec.message()));
  return hosts;
}

v1::HostFacts ImportedHost::Facts(std::string_view site) const {
  v1::HostFacts facts;
  const size_t dot = computer_.find('.');
  facts.set_hostname(computer_.substr(0, dot));
  if (dot != std::string::npos) {
    facts.set_fqdn(computer_);
    facts.set_domain(computer_.substr(dot + 1));
  }
  facts.set_site(std::string(site));
  facts.set_agent_version(absl::StrCat(PKIWATCH_VERSION, " (imported events)"));
  return facts;
}

absl::Status ImportedHost::BeginImport() {
  auto transaction = SqliteWriteTransaction::Begin(*records_);
  if (!transaction.ok()) return transaction.status();
  transaction_.emplace(*std::move(transaction));
  if (!claim_) {
    auto statement = records_->Prepare(
        "INSERT OR IGNORE INTO imported_records (channel, record_id) VALUES (?1, ?2)");
    if (!statement.ok()) return statement.status();
    claim_.emplace(*std::move(statement));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ImportedHost::Claim(std::string_view channel, uint64_t record_id) {
  if (record_id == 0) return true;
  if (!transaction_ || !claim_) return absl::FailedPreconditionError("Claim outside an import");
  claim_->Reset();
  if (absl::Status s = claim_->BindBlob(1, channel); !s.ok()) return s;
  if (absl::Status s = claim_->BindInt64(2, static_cast<int64_t>(record_id)); !s.ok()) return s;
  if (absl::Status s = claim_->Run(); !s.ok()) return s;
  return sqlite3_changes(records_->get()) > 0;
}

absl::Status ImportedHost::CommitImport() {
  if (!transaction_) return absl::FailedPreconditionError("CommitImport without BeginImport");
  if (claim_) claim_->Reset();
  absl::Status s = transaction_->Commit();
  transaction_.reset();
  return s;
}

}  // namespace pkiwatch::agent
