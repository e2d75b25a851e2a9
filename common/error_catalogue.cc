#include "common/error_catalogue.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pkiwatch {
namespace {

struct ErrorName {
  std::string_view name;
  uint32_t code;
};

// Generated from winerror.h / winhttp.h and the message sources named in its
// header by common/tools/gen_error_catalogue.py.
#include "common/error_catalogue_data.inc"

// Binary search needs sorted, duplicate-free tables; prove it at compile time
// so a hand edit of the .inc cannot break lookups silently.
constexpr bool CatalogueSorted() {
  for (size_t i = 1; i < std::size(kErrorCatalogue); ++i) {
    if (!(kErrorCatalogue[i - 1].code < kErrorCatalogue[i].code)) return false;
  }
  return true;
}
constexpr bool NamesSorted() {
  for (size_t i = 1; i < std::size(kErrorNames); ++i) {
    if (!(kErrorNames[i - 1].name < kErrorNames[i].name)) return false;
  }
  return true;
}
// MSVC's default constexpr step limit (/constexpr:steps 100000) is too small
// for ~3,500 string comparisons; GCC and Clang check it on every build.
#ifndef _MSC_VER
static_assert(CatalogueSorted(), "kErrorCatalogue must be sorted by code");
static_assert(NamesSorted(), "kErrorNames must be sorted by name");
#endif

const ErrorEntry* FindCode(uint32_t code) {
  const auto* end = std::end(kErrorCatalogue);
  const auto* it = std::lower_bound(
      std::begin(kErrorCatalogue), end, code,
      [](const ErrorEntry& e, uint32_t c) { return e.code < c; });
  return (it != end && it->code == code) ? it : nullptr;
}

}  // namespace

std::optional<ErrorEntry> LookupError(uint32_t code) {
  // A raw Win32 code (1..0xFFFF) never collides with an HRESULT of interest:
  // HRESULTs that small are success codes nobody reports as errors.
  if (code != 0 && code <= 0xFFFFu) {
    if (const ErrorEntry* e = FindCode(HresultFromWin32(code))) return *e;
  }
  if (const ErrorEntry* e = FindCode(code)) return *e;
  return std::nullopt;
}

std::optional<ErrorEntry> LookupErrorByName(std::string_view name) {
  const auto* end = std::end(kErrorNames);
  const auto* it = std::lower_bound(
      std::begin(kErrorNames), end, name,
      [](const ErrorName& e, std::string_view n) { return e.name < n; });
  if (it == end || it->name != name) return std::nullopt;
  const ErrorEntry* e = FindCode(it->code);
  if (e == nullptr) return std::nullopt;  // cannot happen with generated data
  return ErrorEntry{e->code, it->name, e->message};
}

v1::ErrorInfo MakeErrorInfo(uint32_t hresult, std::string native_detail) {
  v1::ErrorInfo info;
  uint32_t code = (hresult != 0 && hresult <= 0xFFFFu)
                      ? HresultFromWin32(hresult)
                      : hresult;
  info.set_hresult(code);
  if (std::optional<ErrorEntry> e = LookupError(code)) {
    info.set_symbolic_name(std::string(e->name));
    info.set_message(std::string(e->message));
  }
  info.set_native_detail(std::move(native_detail));
  return info;
}

std::string FormatError(uint32_t code) {
  std::optional<ErrorEntry> e = LookupError(code);
  uint32_t shown = e.has_value() ? e->code : code;
  std::string out = absl::StrFormat("0x%08X", shown);
  if (!e.has_value()) return out;
  // absl::string_view is not std::string_view in this Abseil build.
  out.append(" ").append(e->name);
  if (!e->message.empty()) out.append(" ").append(e->message);
  return out;
}

}  // namespace pkiwatch
