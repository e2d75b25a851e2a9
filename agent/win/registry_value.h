// One registry value as read, for portable code that interprets it (e.g.
// agent/core/agent_policy.h maps the agent's Group Policy values). Standard
// library only, no <windows.h>: the REG_* type numbers are repeated here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pkiwatch::win {

// REG_* value types (winnt.h).
inline constexpr uint32_t kRegSz = 1;
inline constexpr uint32_t kRegExpandSz = 2;
inline constexpr uint32_t kRegBinary = 3;
inline constexpr uint32_t kRegDword = 4;
inline constexpr uint32_t kRegMultiSz = 7;
inline constexpr uint32_t kRegQword = 11;

// "REG_SZ", "REG_DWORD", ...; "unknown type" for numbers winnt.h does not name.
constexpr std::string_view RegistryTypeName(uint32_t type) {
  switch (type) {
    case 0: return "REG_NONE";
    case kRegSz: return "REG_SZ";
    case kRegExpandSz: return "REG_EXPAND_SZ";
    case kRegBinary: return "REG_BINARY";
    case kRegDword: return "REG_DWORD";
    case 5: return "REG_DWORD_BIG_ENDIAN";
    case 6: return "REG_LINK";
    case kRegMultiSz: return "REG_MULTI_SZ";
    case 8: return "REG_RESOURCE_LIST";
    case 9: return "REG_FULL_RESOURCE_DESCRIPTOR";
    case 10: return "REG_RESOURCE_REQUIREMENTS_LIST";
    case kRegQword: return "REG_QWORD";
    default: return "unknown type";
  }
}

struct RegistryValue {
  std::string name;
  uint32_t type = 0;   // REG_*
  uint32_t size = 0;   // bytes of data as stored
  // REG_SZ and REG_EXPAND_SZ: UTF-8 text without terminating NULs (for
  // REG_EXPAND_SZ with environment variables expanded); REG_MULTI_SZ: its
  // strings; REG_DWORD: the number. Other types, and a REG_DWORD whose size
  // is not 4 bytes: monostate (only type and size are reported).
  std::variant<std::monostate, std::string, std::vector<std::string>, uint32_t> data;
};

}  // namespace pkiwatch::win
