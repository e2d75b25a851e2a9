#include "agent/win/key_storage.h"

#include "agent/win/handles.h"
#include "agent/win/strings.h"

namespace pkiwatch::win {

Status TestEphemeralKey(std::string_view provider, const KeyCreationOptions& options) {
  const std::wstring provider_name = Utf8ToWide(provider);
  UniqueNcryptHandle storage;
  // Provider and key handles are both NCRYPT_HANDLE (ULONG_PTR) values.
  SECURITY_STATUS status = NCryptOpenStorageProvider(storage.put(), provider_name.c_str(), 0);
  if (status != ERROR_SUCCESS) {
    return ApiError("NCryptOpenStorageProvider", provider, static_cast<uint32_t>(status));
  }
  const std::wstring algorithm = Utf8ToWide(options.algorithm);
  UniqueNcryptHandle key;
  // A null key name makes an ephemeral key: nothing is written to disk or
  // to the TPM's persistent storage.
  status = NCryptCreatePersistedKey(storage.get(), key.put(), algorithm.c_str(), nullptr, 0, 0);
  const std::string what = std::string(provider) + ", " + options.algorithm;
  if (status != ERROR_SUCCESS) {
    return ApiError("NCryptCreatePersistedKey", what, static_cast<uint32_t>(status));
  }
  if (options.algorithm == "RSA" && options.key_bits != 0) {
    DWORD bits = options.key_bits;
    status = NCryptSetProperty(key.get(), NCRYPT_LENGTH_PROPERTY, reinterpret_cast<BYTE*>(&bits),
                              sizeof bits, 0);
    if (status != ERROR_SUCCESS) {
      return ApiError("NCryptSetProperty(Length)", what, static_cast<uint32_t>(status));
    }
  }
  status = NCryptFinalizeKey(key.get(), 0);
  if (status != ERROR_SUCCESS) {
    return ApiError("NCryptFinalizeKey", what, static_cast<uint32_t>(status));
  }
  return Status();
}

}  // namespace pkiwatch::win
