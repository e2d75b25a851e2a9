#include "agent/win/files.h"

#include <memory>

#include "agent/win/handles.h"
#include "agent/win/strings.h"

namespace pkiwatch::win {

StatusOr<std::string> ReadSmallFile(std::string_view path, size_t max_bytes) {
  const std::wstring wide = Utf8ToWide(path);
  UniqueHandle file(CreateFileW(wide.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!file) return LastError("CreateFileW", path);
  LARGE_INTEGER size{};
  if (!GetFileSizeEx(file.get(), &size)) return LastError("GetFileSizeEx", path);
  if (size.QuadPart < 0 || static_cast<uint64_t>(size.QuadPart) > max_bytes) {
    return Status::Error(0x800700DFu /* ERROR_FILE_TOO_LARGE */,
                         "ReadSmallFile(" + std::string(path) + "): " +
                             std::to_string(size.QuadPart) + " bytes, limit " +
                             std::to_string(max_bytes));
  }
  std::string data(static_cast<size_t>(size.QuadPart), '\0');
  size_t done = 0;
  while (done < data.size()) {
    DWORD read = 0;
    if (!ReadFile(file.get(), data.data() + done, static_cast<DWORD>(data.size() - done), &read,
                  nullptr)) {
      return LastError("ReadFile", path);
    }
    if (read == 0) break;  // shrank meanwhile
    done += read;
  }
  data.resize(done);
  return data;
}

namespace {

// Temp file, `before_write` on it, data, flush, rename over `path`.
template <typename BeforeWrite>
Status WriteViaTempFile(std::string_view path, std::string_view data, BeforeWrite before_write) {
  const std::wstring target = Utf8ToWide(path);
  const std::wstring temp = target + L".tmp";
  const std::string temp_utf8 = std::string(path) + ".tmp";
  {
    UniqueHandle file(CreateFileW(temp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                                  FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!file) return LastError("CreateFileW", temp_utf8);
    if (Status s = before_write(temp_utf8); !s.ok()) {
      file.reset();
      DeleteFileW(temp.c_str());
      return s;
    }
    size_t done = 0;
    while (done < data.size()) {
      DWORD written = 0;
      if (!WriteFile(file.get(), data.data() + done, static_cast<DWORD>(data.size() - done),
                     &written, nullptr)) {
        return LastError("WriteFile", temp_utf8);
      }
      done += written;
    }
    if (!FlushFileBuffers(file.get())) return LastError("FlushFileBuffers", path);
  }
  if (!MoveFileExW(temp.c_str(), target.c_str(),
                   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    Status error = LastError("MoveFileExW", path);
    DeleteFileW(temp.c_str());
    return error;
  }
  return Status();
}

}  // namespace

Status WriteFileAtomically(std::string_view path, std::string_view data) {
  return WriteViaTempFile(path, data, [](const std::string&) { return Status(); });
}

Status WritePrivateFileAtomically(std::string_view path, std::string_view data) {
  return WriteViaTempFile(path, data, [](const std::string& temp) {
    return RestrictToSystemAndAdministrators(temp);
  });
}

Status RestrictToSystemAndAdministrators(std::string_view path) {
  // Well-known SIDs, built locally (no name lookup, no domain dependency).
  SID_IDENTIFIER_AUTHORITY nt_authority = SECURITY_NT_AUTHORITY;
  PSID system_sid = nullptr;
  if (!AllocateAndInitializeSid(&nt_authority, 1, SECURITY_LOCAL_SYSTEM_RID, 0, 0, 0, 0, 0, 0, 0,
                                &system_sid)) {
    return LastError("AllocateAndInitializeSid", "SYSTEM");
  }
  std::unique_ptr<void, decltype(&FreeSid)> system_owner(system_sid, &FreeSid);
  PSID admins_sid = nullptr;
  if (!AllocateAndInitializeSid(&nt_authority, 2, SECURITY_BUILTIN_DOMAIN_RID,
                                DOMAIN_ALIAS_RID_ADMINS, 0, 0, 0, 0, 0, 0, &admins_sid)) {
    return LastError("AllocateAndInitializeSid", "Administrators");
  }
  std::unique_ptr<void, decltype(&FreeSid)> admins_owner(admins_sid, &FreeSid);

  EXPLICIT_ACCESSW entries[2] = {};
  PSID sids[2] = {system_sid, admins_sid};
  for (int i = 0; i < 2; ++i) {
    entries[i].grfAccessPermissions = GENERIC_ALL;
    entries[i].grfAccessMode = SET_ACCESS;
    entries[i].grfInheritance = SUB_CONTAINERS_AND_OBJECTS_INHERIT;
    entries[i].Trustee.TrusteeForm = TRUSTEE_IS_SID;
    entries[i].Trustee.TrusteeType = TRUSTEE_IS_WELL_KNOWN_GROUP;
    entries[i].Trustee.ptstrName = static_cast<LPWSTR>(sids[i]);
  }
  UniqueLocalMemory<PACL> acl;
  DWORD error = SetEntriesInAclW(2, entries, nullptr, acl.put());
  if (error != ERROR_SUCCESS) return ApiError("SetEntriesInAclW", path, error);

  std::wstring wide = Utf8ToWide(path);
  // PROTECTED: inherited entries from the parent directory are dropped, so
  // the two entries above are the whole DACL.
  error = SetNamedSecurityInfoW(wide.data(), SE_FILE_OBJECT,
                                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                nullptr, nullptr, acl.get(), nullptr);
  if (error != ERROR_SUCCESS) return ApiError("SetNamedSecurityInfoW", path, error);
  return Status();
}

Status EnsurePrivateDirectory(std::string_view path) {
  const std::wstring wide = Utf8ToWide(path);
  if (!CreateDirectoryW(wide.c_str(), nullptr) && GetLastError() != ERROR_ALREADY_EXISTS) {
    return LastError("CreateDirectoryW", path);
  }
  const DWORD attributes = GetFileAttributesW(wide.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES) return LastError("GetFileAttributesW", path);
  if (!(attributes & FILE_ATTRIBUTE_DIRECTORY)) {
    return ApiError("CreateDirectoryW", path, ERROR_ALREADY_EXISTS);  // a file of that name
  }
  return RestrictToSystemAndAdministrators(path);
}

StatusOr<std::string> ProgramDataDirectory() {
  wchar_t buffer[MAX_PATH + 1] = {};
  const DWORD n = GetEnvironmentVariableW(L"ProgramData", buffer, MAX_PATH);
  if (n == 0) return LastError("GetEnvironmentVariableW", "ProgramData");
  if (n > MAX_PATH) return ApiError("GetEnvironmentVariableW", "ProgramData", ERROR_BUFFER_OVERFLOW);
  return WideToUtf8(std::wstring_view(buffer, n));
}

StatusOr<std::string> CurrentExecutablePath() {
  std::wstring buffer(MAX_PATH, L'\0');
  for (int attempt = 0; attempt < 6; ++attempt) {
    const DWORD n = GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
    if (n == 0) return LastError("GetModuleFileNameW", "");
    if (n < buffer.size()) return WideToUtf8(std::wstring_view(buffer.data(), n));
    buffer.resize(buffer.size() * 2);  // truncated: long path
  }
  return ApiError("GetModuleFileNameW", "", ERROR_INSUFFICIENT_BUFFER);
}

StatusOr<std::string> GetDaclSddl(std::string_view path) {
  std::wstring wide = Utf8ToWide(path);
  PACL dacl = nullptr;
  UniqueLocalMemory<PSECURITY_DESCRIPTOR> descriptor;
  DWORD error = GetNamedSecurityInfoW(wide.data(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                                      nullptr, nullptr, &dacl, nullptr, descriptor.put());
  if (error != ERROR_SUCCESS) return ApiError("GetNamedSecurityInfoW", path, error);
  UniqueLocalMemory<LPWSTR> sddl;
  if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(
          descriptor.get(), SDDL_REVISION_1, DACL_SECURITY_INFORMATION, sddl.put(), nullptr)) {
    return LastError("ConvertSecurityDescriptorToStringSecurityDescriptorW", path);
  }
  return WideToUtf8(sddl.get());
}

}  // namespace pkiwatch::win
