#include "agent/win/registry.h"

#include <algorithm>
#include <cstring>

#include "agent/win/strings.h"

namespace pkiwatch::win {
namespace {

HKEY RootHandle(RegistryRoot root) {
  switch (root) {
    case RegistryRoot::kLocalMachine:
      return HKEY_LOCAL_MACHINE;
    case RegistryRoot::kCurrentUser:
      return HKEY_CURRENT_USER;
    case RegistryRoot::kUsers:
      return HKEY_USERS;
  }
  return HKEY_LOCAL_MACHINE;
}

std::string KeyName(RegistryRoot root, std::string_view path) {
  std::string name(RegistryRootName(root));
  if (!path.empty()) {
    name += '\\';
    name += path;
  }
  return name;
}

Status WrongType(const std::string& value_name, uint32_t found, std::string_view expected) {
  std::string message = "registry value " + value_name + " has type " +
                        std::string(RegistryTypeName(found)) +
                        " (" + std::to_string(found) + "), expected " + std::string(expected);
  return Status::Error(0x8007000Du /* ERROR_INVALID_DATA */, std::move(message));
}

std::wstring BytesToWide(const std::vector<uint8_t>& data) {
  std::wstring text(data.size() / sizeof(wchar_t), L'\0');
  if (!text.empty()) std::memcpy(text.data(), data.data(), text.size() * sizeof(wchar_t));
  return text;
}

// The strings of a REG_MULTI_SZ; an empty string ends the list.
std::vector<std::string> SplitMultiString(const std::wstring& text) {
  std::vector<std::string> strings;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(L'\0', start);
    if (end == std::wstring::npos) end = text.size();
    if (end == start) break;
    strings.push_back(WideToUtf8(std::wstring_view(text).substr(start, end - start)));
    start = end + 1;
  }
  return strings;
}

// Stored strings may or may not carry their terminating NUL(s).
std::wstring StoredString(const std::vector<uint8_t>& data) {
  std::wstring text = BytesToWide(data);
  while (!text.empty() && text.back() == L'\0') text.pop_back();
  return text;
}

// ExpandEnvironmentStringsW; the text unchanged when that fails.
std::wstring Expand(const std::wstring& text) {
  const DWORD needed = ExpandEnvironmentStringsW(text.c_str(), nullptr, 0);
  if (needed == 0) return text;
  std::wstring expanded(needed, L'\0');
  const DWORD written = ExpandEnvironmentStringsW(text.c_str(), expanded.data(), needed);
  if (written == 0 || written > needed) return text;
  expanded.resize(written - 1);  // without the NUL
  return expanded;
}

RegistryValue Decode(std::string name, uint32_t type, const std::vector<uint8_t>& data) {
  RegistryValue value;
  value.name = std::move(name);
  value.type = type;
  value.size = static_cast<uint32_t>(data.size());
  if (type == REG_SZ) {
    value.data = WideToUtf8(StoredString(data));
  } else if (type == REG_EXPAND_SZ) {
    value.data = WideToUtf8(Expand(StoredString(data)));
  } else if (type == REG_MULTI_SZ) {
    value.data = SplitMultiString(BytesToWide(data));
  } else if (type == REG_DWORD && data.size() == sizeof(uint32_t)) {
    uint32_t number = 0;
    std::memcpy(&number, data.data(), sizeof number);
    value.data = number;
  }
  return value;
}

Status Write(HKEY key, const std::string& value_name, std::string_view value, DWORD type,
             const void* data, size_t size) {
  const std::wstring name = Utf8ToWide(value);
  const LSTATUS status =
      RegSetValueExW(key, name.c_str(), 0, type, static_cast<const BYTE*>(data),
                     static_cast<DWORD>(size));
  if (status != ERROR_SUCCESS) {
    return ApiError("RegSetValueExW", value_name, static_cast<uint32_t>(status));
  }
  return Status();
}

}  // namespace

std::string_view RegistryRootName(RegistryRoot root) {
  switch (root) {
    case RegistryRoot::kLocalMachine:
      return "HKLM";
    case RegistryRoot::kCurrentUser:
      return "HKCU";
    case RegistryRoot::kUsers:
      return "HKU";
  }
  return "?";
}

StatusOr<RegistryKey> RegistryKey::Open(RegistryRoot root, std::string_view path, bool write) {
  std::string name = KeyName(root, path);
  const std::wstring wide = Utf8ToWide(path);
  const REGSAM access = (write ? KEY_READ | KEY_WRITE : KEY_READ) | KEY_WOW64_64KEY;
  UniqueHkey key;
  const LSTATUS status = RegOpenKeyExW(RootHandle(root), wide.c_str(), 0, access, key.put());
  if (status != ERROR_SUCCESS) return ApiError("RegOpenKeyExW", name, static_cast<uint32_t>(status));
  return RegistryKey(std::move(key), std::move(name));
}

StatusOr<RegistryKey> RegistryKey::Create(RegistryRoot root, std::string_view path) {
  std::string name = KeyName(root, path);
  const std::wstring wide = Utf8ToWide(path);
  UniqueHkey key;
  const LSTATUS status =
      RegCreateKeyExW(RootHandle(root), wide.c_str(), 0, nullptr, REG_OPTION_NON_VOLATILE,
                      KEY_READ | KEY_WRITE | KEY_WOW64_64KEY, nullptr, key.put(), nullptr);
  if (status != ERROR_SUCCESS) {
    return ApiError("RegCreateKeyExW", name, static_cast<uint32_t>(status));
  }
  return RegistryKey(std::move(key), std::move(name));
}

Status RegistryKey::DeleteTree(RegistryRoot root, std::string_view path) {
  if (path.empty()) {
    return Status::Error(0x80070057u, "RegistryKey::DeleteTree: refusing to delete a root key");
  }
  const std::wstring wide = Utf8ToWide(path);
  // RegDeleteTreeW on the root handle deletes the key itself too.
  const LSTATUS status = RegDeleteTreeW(RootHandle(root), wide.c_str());
  if (status == ERROR_SUCCESS || status == ERROR_FILE_NOT_FOUND) return Status();
  return ApiError("RegDeleteTreeW", KeyName(root, path), static_cast<uint32_t>(status));
}

std::string RegistryKey::ValueName(std::string_view value) const {
  return name_ + "\\" + (value.empty() ? std::string("(Default)") : std::string(value));
}

StatusOr<std::optional<RegistryKey::RawValue>> RegistryKey::ReadRaw(std::string_view value) const {
  const std::wstring name = Utf8ToWide(value);
  // The size can change between the two calls (another writer): retry a few
  // times on ERROR_MORE_DATA.
  for (int attempt = 0; attempt < 4; ++attempt) {
    DWORD type = 0;
    DWORD size = 0;
    LSTATUS status = RegQueryValueExW(key_.get(), name.c_str(), nullptr, &type, nullptr, &size);
    if (status == ERROR_FILE_NOT_FOUND) return std::optional<RawValue>();
    if (status != ERROR_SUCCESS) {
      return ApiError("RegQueryValueExW", ValueName(value), static_cast<uint32_t>(status));
    }
    RawValue raw;
    raw.data.resize(size);
    status = RegQueryValueExW(key_.get(), name.c_str(), nullptr, &type,
                              raw.data.empty() ? nullptr : raw.data.data(), &size);
    if (status == ERROR_MORE_DATA) continue;
    if (status == ERROR_FILE_NOT_FOUND) return std::optional<RawValue>();
    if (status != ERROR_SUCCESS) {
      return ApiError("RegQueryValueExW", ValueName(value), static_cast<uint32_t>(status));
    }
    raw.data.resize(size);
    raw.type = type;
    return std::optional<RawValue>(std::move(raw));
  }
  return ApiError("RegQueryValueExW", ValueName(value), ERROR_MORE_DATA);
}

StatusOr<std::optional<uint32_t>> RegistryKey::ReadDword(std::string_view value) const {
  auto raw = ReadRaw(value);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<uint32_t>();
  const RawValue& v = **raw;
  if (v.type != REG_DWORD || v.data.size() != sizeof(uint32_t)) {
    return WrongType(ValueName(value), v.type, "REG_DWORD");
  }
  uint32_t data = 0;
  std::memcpy(&data, v.data.data(), sizeof data);
  return std::optional<uint32_t>(data);
}

StatusOr<std::optional<uint64_t>> RegistryKey::ReadQword(std::string_view value) const {
  auto raw = ReadRaw(value);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<uint64_t>();
  const RawValue& v = **raw;
  if (v.type != REG_QWORD || v.data.size() != sizeof(uint64_t)) {
    return WrongType(ValueName(value), v.type, "REG_QWORD");
  }
  uint64_t data = 0;
  std::memcpy(&data, v.data.data(), sizeof data);
  return std::optional<uint64_t>(data);
}

StatusOr<std::optional<std::string>> RegistryKey::ReadString(std::string_view value) const {
  auto raw = ReadRaw(value);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<std::string>();
  const RawValue& v = **raw;
  if (v.type != REG_SZ && v.type != REG_EXPAND_SZ) {
    return WrongType(ValueName(value), v.type, "REG_SZ");
  }
  return std::optional<std::string>(WideToUtf8(StoredString(v.data)));
}

StatusOr<std::optional<std::vector<std::string>>> RegistryKey::ReadMultiString(
    std::string_view value) const {
  auto raw = ReadRaw(value);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<std::vector<std::string>>();
  const RawValue& v = **raw;
  if (v.type != REG_MULTI_SZ && v.type != REG_SZ && v.type != REG_EXPAND_SZ) {
    return WrongType(ValueName(value), v.type, "REG_MULTI_SZ");
  }
  return std::optional<std::vector<std::string>>(SplitMultiString(BytesToWide(v.data)));
}

StatusOr<std::optional<std::vector<uint8_t>>> RegistryKey::ReadBinary(
    std::string_view value) const {
  auto raw = ReadRaw(value);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<std::vector<uint8_t>>();
  return std::optional<std::vector<uint8_t>>(std::move((*raw)->data));
}

Status RegistryKey::WriteDword(std::string_view value, uint32_t data) {
  return Write(key_.get(), ValueName(value), value, REG_DWORD, &data, sizeof data);
}

Status RegistryKey::WriteString(std::string_view value, std::string_view data) {
  const std::wstring wide = Utf8ToWide(data);
  return Write(key_.get(), ValueName(value), value, REG_SZ, wide.c_str(),
               (wide.size() + 1) * sizeof(wchar_t));
}

Status RegistryKey::WriteExpandString(std::string_view value, std::string_view data) {
  const std::wstring wide = Utf8ToWide(data);
  return Write(key_.get(), ValueName(value), value, REG_EXPAND_SZ, wide.c_str(),
               (wide.size() + 1) * sizeof(wchar_t));
}

Status RegistryKey::WriteMultiString(std::string_view value,
                                     const std::vector<std::string>& data) {
  std::wstring joined;
  for (const std::string& s : data) {
    joined += Utf8ToWide(s);
    joined.push_back(L'\0');
  }
  joined.push_back(L'\0');
  return Write(key_.get(), ValueName(value), value, REG_MULTI_SZ, joined.data(),
               joined.size() * sizeof(wchar_t));
}

Status RegistryKey::WriteBinary(std::string_view value, const std::vector<uint8_t>& data) {
  return Write(key_.get(), ValueName(value), value, REG_BINARY, data.data(), data.size());
}

Status RegistryKey::DeleteValue(std::string_view value) {
  const std::wstring name = Utf8ToWide(value);
  const LSTATUS status = RegDeleteValueW(key_.get(), name.c_str());
  if (status == ERROR_SUCCESS || status == ERROR_FILE_NOT_FOUND) return Status();
  return ApiError("RegDeleteValueW", ValueName(value), static_cast<uint32_t>(status));
}

StatusOr<std::vector<RegistryValue>> RegistryKey::Values(size_t max_values) const {
  DWORD max_name = 0;  // characters, without the NUL
  DWORD max_data = 0;  // bytes
  auto query_sizes = [&]() -> Status {
    const LSTATUS status = RegQueryInfoKeyW(key_.get(), nullptr, nullptr, nullptr, nullptr,
                                            nullptr, nullptr, nullptr, &max_name, &max_data,
                                            nullptr, nullptr);
    if (status != ERROR_SUCCESS) {
      return ApiError("RegQueryInfoKeyW", name_, static_cast<uint32_t>(status));
    }
    return Status();
  };
  if (Status sized = query_sizes(); !sized.ok()) return sized;

  std::vector<RegistryValue> values;
  // A value may grow between the size query and the read (another writer):
  // the sizes are queried again on ERROR_MORE_DATA, a few times.
  int resized = 0;
  for (DWORD index = 0;;) {
    std::wstring name(static_cast<size_t>(max_name) + 1, L'\0');
    std::vector<uint8_t> data(std::max<DWORD>(max_data, 1));
    DWORD name_length = static_cast<DWORD>(name.size());
    DWORD data_size = static_cast<DWORD>(data.size());
    DWORD type = 0;
    const LSTATUS status = RegEnumValueW(key_.get(), index, name.data(), &name_length, nullptr,
                                         &type, data.data(), &data_size);
    if (status == ERROR_NO_MORE_ITEMS) break;
    if (status == ERROR_MORE_DATA && resized++ < 4) {
      if (Status sized = query_sizes(); !sized.ok()) return sized;
      continue;
    }
    if (status != ERROR_SUCCESS) {
      return ApiError("RegEnumValueW", name_, static_cast<uint32_t>(status));
    }
    if (values.size() >= max_values) {
      return Status::Error(0x8007000Du /* ERROR_INVALID_DATA */,
                           name_ + " has more than " + std::to_string(max_values) + " values");
    }
    name.resize(name_length);
    data.resize(data_size);
    values.push_back(Decode(WideToUtf8(name), type, data));
    ++index;
  }
  return values;
}

StatusOr<std::vector<std::string>> RegistryKey::SubkeyNames() const {
  std::vector<std::string> names;
  // Key names are at most 255 characters.
  wchar_t buffer[256];
  for (DWORD index = 0;; ++index) {
    DWORD length = static_cast<DWORD>(std::size(buffer));
    const LSTATUS status =
        RegEnumKeyExW(key_.get(), index, buffer, &length, nullptr, nullptr, nullptr, nullptr);
    if (status == ERROR_NO_MORE_ITEMS) break;
    if (status != ERROR_SUCCESS) {
      return ApiError("RegEnumKeyExW", name_, static_cast<uint32_t>(status));
    }
    names.push_back(WideToUtf8(std::wstring_view(buffer, length)));
  }
  return names;
}

}  // namespace pkiwatch::win
