// Registry access with UTF-8 paths and typed reads. Raw values only; what a
// value means is decided by portable code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/win/handles.h"
#include "agent/win/registry_value.h"
#include "agent/win/status.h"

namespace pkiwatch::win {

enum class RegistryRoot { kLocalMachine, kCurrentUser, kUsers };

// "HKLM", "HKCU", "HKU" (for messages and reports).
std::string_view RegistryRootName(RegistryRoot root);

// An open registry key. Move-only; the handle is closed on destruction.
// Thread-compatible (Win32 registry handles may be used from any thread).
class RegistryKey {
 public:
  // Opens an existing key. kNotFound (ERROR_FILE_NOT_FOUND) when it does not
  // exist. `write` asks for KEY_READ | KEY_WRITE, otherwise KEY_READ. The
  // 64-bit view is used regardless of the process's bitness.
  static StatusOr<RegistryKey> Open(RegistryRoot root, std::string_view path, bool write = false);
  // Opens or creates (with every missing parent) for reading and writing.
  static StatusOr<RegistryKey> Create(RegistryRoot root, std::string_view path);
  // Deletes `path` with all its subkeys and values; OK when it is absent.
  static Status DeleteTree(RegistryRoot root, std::string_view path);

  RegistryKey(RegistryKey&&) = default;
  RegistryKey& operator=(RegistryKey&&) = default;

  // "HKLM\Software\..." as opened.
  const std::string& name() const { return name_; }

  // nullopt when the value does not exist; an error when it exists with
  // another type (the message names the type found) or cannot be read.
  StatusOr<std::optional<uint32_t>> ReadDword(std::string_view value) const;
  StatusOr<std::optional<uint64_t>> ReadQword(std::string_view value) const;
  // REG_SZ or REG_EXPAND_SZ (not expanded), without the terminating NUL.
  StatusOr<std::optional<std::string>> ReadString(std::string_view value) const;
  // REG_MULTI_SZ as its strings; a REG_SZ is accepted as one string.
  StatusOr<std::optional<std::vector<std::string>>> ReadMultiString(std::string_view value) const;
  // Any type, as raw bytes (REG_BINARY FILETIMEs, blobs).
  StatusOr<std::optional<std::vector<uint8_t>>> ReadBinary(std::string_view value) const;

  // Every value of the key, in registry order (at most `max_values`; more is
  // an error naming the key). See RegistryValue for what is decoded;
  // REG_EXPAND_SZ text is expanded (ExpandEnvironmentStringsW).
  StatusOr<std::vector<RegistryValue>> Values(size_t max_values = 4096) const;

  Status WriteDword(std::string_view value, uint32_t data);
  Status WriteString(std::string_view value, std::string_view data);
  // REG_EXPAND_SZ ("%ProgramData%\pkiwatch"), stored unexpanded.
  Status WriteExpandString(std::string_view value, std::string_view data);
  Status WriteMultiString(std::string_view value, const std::vector<std::string>& data);
  Status WriteBinary(std::string_view value, const std::vector<uint8_t>& data);
  // OK when the value is absent.
  Status DeleteValue(std::string_view value);

  // Names of the direct subkeys, in registry order.
  StatusOr<std::vector<std::string>> SubkeyNames() const;

 private:
  RegistryKey(UniqueHkey key, std::string name) : key_(std::move(key)), name_(std::move(name)) {}

  struct RawValue {
    uint32_t type = 0;
    std::vector<uint8_t> data;
  };
  StatusOr<std::optional<RawValue>> ReadRaw(std::string_view value) const;
  std::string ValueName(std::string_view value) const;

  UniqueHkey key_;
  std::string name_;
};

}  // namespace pkiwatch::win
