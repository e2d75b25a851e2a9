// Key storage providers: can this machine create a key the way certificate
// enrollment does? A provider that cannot (client event 57, e.g. the TPM
// provider failing with NTE_DEVICE_NOT_READY) stops autoenrollment.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/win/status.h"

namespace pkiwatch::win {

inline constexpr std::string_view kSoftwareKeyStorageProvider =
    "Microsoft Software Key Storage Provider";
inline constexpr std::string_view kPlatformCryptoProvider = "Microsoft Platform Crypto Provider";

struct KeyCreationOptions {
  std::string algorithm = "RSA";  // a CNG algorithm id: RSA, ECDSA_P256, ...
  uint32_t key_bits = 2048;       // RSA only; 0 keeps the provider's default
};

// Opens the provider, creates an ephemeral (unnamed, never persisted) key,
// finalizes it and frees everything. The error names the failing step
// (NCryptOpenStorageProvider, NCryptCreatePersistedKey, NCryptSetProperty,
// NCryptFinalizeKey) and carries the provider's HRESULT.
Status TestEphemeralKey(std::string_view provider, const KeyCreationOptions& options);

}  // namespace pkiwatch::win
