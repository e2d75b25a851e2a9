#include "collector/ingest/node_registry.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collector/store/pattern_counters.h"
#include "common/utf8.h"

namespace pkiwatch::ingest {
namespace {

constexpr size_t kMaxFactBytes = 512;

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string FormatUuidV4(std::string bytes) {
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);
  const std::string hex = absl::BytesToHexString(bytes);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

bool LooksLikeUuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string Fact(const std::string& s) { return SanitizeUtf8(s, kMaxFactBytes); }

std::vector<std::optional<std::string>> HostParams(std::string_view node_id,
                                                   const v1::HostFacts& h) {
  return {std::string(node_id), Fact(h.hostname()), Fact(h.fqdn()),    Fact(h.domain()),
          Fact(h.site()),       Fact(h.os()),       Fact(h.os_build()), Fact(h.agent_version()),
          Fact(h.proxy())};
}

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read secret file ", path));
  std::string line;
  std::getline(in, line);
  std::string secret(absl::StripAsciiWhitespace(line));
  if (secret.size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret in ", path, " is shorter than 16 characters"));
  }
  return secret;
}

absl::StatusOr<v1::EnrollResponse> NodeRegistry::Enroll(const v1::EnrollRequest& request) {
  if (enroll_secret_.empty()) {
    return absl::FailedPreconditionError("enrollment is disabled on this collector");
  }
  const std::string& given = request.enroll_secret();
  if (given.size() != enroll_secret_.size() ||
      CRYPTO_memcmp(given.data(), enroll_secret_.data(), given.size()) != 0) {
    return absl::UnauthenticatedError("enroll secret does not match");
  }
  auto id_bytes = RandomBytes(16);
  auto key_bytes = RandomBytes(32);
  if (!id_bytes.ok()) return id_bytes.status();
  if (!key_bytes.ok()) return key_bytes.status();
  v1::EnrollResponse response;
  response.set_node_id(FormatUuidV4(*std::move(id_bytes)));
  response.set_node_key(absl::WebSafeBase64Escape(*key_bytes));

  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  std::vector<std::optional<std::string>> params = HostParams(response.node_id(), request.host());
  params.push_back(Sha256Hex(response.node_key()));
  auto r = (*lease)->Query(
      "INSERT INTO nodes (node_id, hostname, fqdn, domain, site, os, os_build, agent_version, "
      "proxy, key_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, decode($10, 'hex'))",
      params);
  if (!r.ok()) return r.status();
  return response;
}

absl::Status NodeRegistry::Authenticate(std::string_view node_id, std::string_view node_key) {
  const auto denied = absl::UnauthenticatedError("node id or node key rejected");
  if (!LooksLikeUuid(node_id) || node_key.empty() || node_key.size() > 256) return denied;
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto r = (*lease)->Query("SELECT encode(key_hash, 'hex') FROM nodes WHERE node_id = $1",
                           {std::string(node_id)});
  if (!r.ok()) return r.status();
  if (r->rows() != 1) return denied;
  const std::string expected(r->Get(0, 0));
  const std::string actual = Sha256Hex(node_key);
  if (expected.size() != actual.size() ||
      CRYPTO_memcmp(expected.data(), actual.data(), actual.size()) != 0) {
    return denied;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> NodeRegistry::RecordHello(std::string_view node_id,
                                                   const v1::Hello& hello) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  store::PgConnection& conn = **lease;
  std::vector<std::optional<std::string>> params = HostParams(node_id, hello.host());
  params.push_back(absl::StrCat(hello.stats().spool_depth()));
  params.push_back(absl::StrCat(hello.stats().spool_dropped_total()));
  if (absl::Status s = conn.Begin(); !s.ok()) return s;
  auto fail = [&conn](absl::Status s) {
    (void)conn.Rollback();  // the original error is the one worth reporting
    return s;
  };
  // Locked like a batch write, so the pattern memberships move with the site
  // and hostname without interleaving with the node's batches.
  auto before = conn.Query("SELECT hostname, site FROM nodes WHERE node_id = $1 FOR UPDATE",
                           {std::string(node_id)});
  if (!before.ok()) return fail(before.status());
  if (before->rows() != 1) return fail(absl::NotFoundError("node is not enrolled"));
  const bool moved = before->Get(0, 0) != *params[1] || before->Get(0, 1) != *params[4];
  auto r = conn.Query(
      "UPDATE nodes SET hostname = $2, fqdn = $3, domain = $4, site = $5, os = $6, "
      "os_build = $7, agent_version = $8, proxy = $9, spool_depth = $10, "
      "spool_dropped_total = $11, last_seen_at = now() WHERE node_id = $1 "
      "RETURNING durable_through_seq",
      params);
  if (!r.ok()) return fail(r.status());
  if (moved) {
    if (absl::Status s = store::RefreshPatternCounters(conn, node_id); !s.ok()) return fail(s);
  }
  if (absl::Status s = conn.Commit(); !s.ok()) return fail(s);
  return static_cast<uint64_t>(r->GetInt64(0, 0));
}

}  // namespace pkiwatch::ingest
