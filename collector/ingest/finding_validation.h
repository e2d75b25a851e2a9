#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "pkiwatch/v1/finding.pb.h"
#include "pkiwatch/v1/ingest.pb.h"

namespace pkiwatch::ingest {

// Size limits for one finding. A CDP URL longer than kMaxUrlBytes is not a
// URL any Windows client would fetch; longer text is a bug or an attack.
inline constexpr size_t kMaxFindingBytes = 256 * 1024;
inline constexpr size_t kMaxParsedFindingBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxUrlBytes = 2048;
inline constexpr size_t kMaxNameBytes = 1024;
inline constexpr size_t kMaxSummaryBytes = 4096;
inline constexpr size_t kMaxDetailBytes = 16384;
inline constexpr size_t kMaxFindingsPerBatch = 5000;

// Parses one serialized finding and checks it, normalizing its URL. The
// error (InvalidArgument) says which field is wrong and why; the caller
// rejects that finding alone and keeps the rest of its batch.
absl::StatusOr<v1::Finding> ParseAndValidateFinding(const v1::SequencedFinding& item);

}  // namespace pkiwatch::ingest
