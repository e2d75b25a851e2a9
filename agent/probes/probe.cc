#include "agent/probes/probe.h"

#include <iterator>

#include "absl/strings/str_cat.h"

namespace pkiwatch {
namespace {

// Finding.probe is part of the collector's current-state key: two probes
// with one name would overwrite each other's results.
constexpr bool ProbeNamesAreUnique() {
  for (size_t i = 0; i < std::size(kAllProbeInfos); ++i) {
    if (kAllProbeInfos[i]->name.empty()) return false;
    for (size_t j = i + 1; j < std::size(kAllProbeInfos); ++j) {
      if (kAllProbeInfos[i]->name == kAllProbeInfos[j]->name) return false;
    }
  }
  return true;
}
static_assert(ProbeNamesAreUnique(), "probe names in kAllProbeInfos must be unique and non-empty");

}  // namespace

absl::Span<const ProbeInfo* const> AllProbeInfos() { return kAllProbeInfos; }

const ProbeInfo* FindProbeInfo(std::string_view name) {
  for (const ProbeInfo* info : kAllProbeInfos) {
    if (info->name == name) return info;
  }
  return nullptr;
}

std::string FormatProbeTable() {
  std::string out;
  for (const ProbeInfo* info : kAllProbeInfos) {
    // absl::string_view is not std::string_view in this Abseil build.
    auto sv = [](std::string_view s) { return absl::string_view(s.data(), s.size()); };
    absl::StrAppend(&out, sv(info->name), "\n",                    //
                    "  checks:     ", sv(info->checks), "\n",      //
                    "  dimensions: ", sv(info->dimensions), "\n",  //
                    "  platforms:  ", sv(info->platforms), "\n");
  }
  return out;
}

}  // namespace pkiwatch
