// Small files with UTF-8 paths (wide-character Win32 calls underneath, so
// any path works): read whole, replace atomically, restrict to SYSTEM and
// Administrators.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "agent/win/status.h"

namespace pkiwatch::win {

// kNotFound when the file does not exist; an error when it is larger than
// `max_bytes`.
StatusOr<std::string> ReadSmallFile(std::string_view path, size_t max_bytes);

// Writes `path`.tmp, flushes it and renames it over `path`
// (MoveFileExW REPLACE_EXISTING | WRITE_THROUGH), so readers see the old or
// the new content, never a mix.
Status WriteFileAtomically(std::string_view path, std::string_view data);

// WriteFileAtomically for secrets (the node key): the temporary file gets
// the protected SYSTEM + Administrators DACL before any data is written, so
// the content never exists under a looser DACL.
Status WritePrivateFileAtomically(std::string_view path, std::string_view data);

// Replaces the DACL of `path` with an explicit, protected (not inherited)
// one granting full control to SYSTEM and Administrators only - for the
// node key file and the state directory.
Status RestrictToSystemAndAdministrators(std::string_view path);

// Creates the directory `path` when absent (its parent must exist) and
// gives it RestrictToSystemAndAdministrators' DACL, inherited by what is
// created inside: the agent's state directory, which holds the node key.
Status EnsurePrivateDirectory(std::string_view path);

// %ProgramData% (C:\ProgramData), where a service keeps its state.
StatusOr<std::string> ProgramDataDirectory();

// The full path of the running executable (GetModuleFileNameW).
StatusOr<std::string> CurrentExecutablePath();

// The DACL of `path` as SDDL ("D:P(A;;FA;;;SY)(A;;FA;;;BA)"), for checks.
StatusOr<std::string> GetDaclSddl(std::string_view path);

}  // namespace pkiwatch::win
