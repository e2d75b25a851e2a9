#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pkiwatch/v1/query.pb.h"

namespace pkiwatch::query {

// What a PKI engineer should check next for a failure pattern, following
// the field guides' troubleshooting trees (CAPI2 4107, CertEnroll 86 / NDES,
// autoenrollment over RPC/DCOM), narrowed by where the fault sits.
// `probe` is the pattern's dominant probe (may be empty), `hresult` its top
// error (0 when none).
std::vector<std::string> NextSteps(std::string_view probe, uint32_t hresult, v1::Blame blame);

}  // namespace pkiwatch::query
