// The verdicts pkiwatch-diag prints, and their two renderings (a table for
// people, JSON for scripts). Portable: standard library only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pkiwatch::win {

enum class Verdict { kOk, kWarn, kFail, kError };  // kError: the check could not run

// "OK", "WARN", "FAIL", "ERROR".
std::string_view VerdictName(Verdict verdict);

struct DiagVerdict {
  std::string check;     // e.g. "ae_policy", "autoenrollment_task", "certificate_chain"
  std::string target;    // what was checked: "machine", a SID, a task path, a URL, ...
  Verdict verdict = Verdict::kOk;
  uint32_t hresult = 0;  // the code behind a WARN/FAIL/ERROR, 0 when none
  std::string error;     // DescribeError text or the API failure message
  std::string summary;   // one line
  std::vector<std::pair<std::string, std::string>> details;  // facts, in order

  DiagVerdict& Detail(std::string key, std::string value) {
    details.emplace_back(std::move(key), std::move(value));
    return *this;
  }
};

struct DiagHeader {
  std::string tool_version;
  std::string generated_at;  // ISO-8601 UTC
  std::vector<std::pair<std::string, std::string>> host;  // hostname, fqdn, site, os, ...
};

// One JSON object:
// {"tool":"pkiwatch-diag","version":..,"generated_at":..,"host":{..},
//  "counts":{"OK":n,"WARN":n,"FAIL":n,"ERROR":n},
//  "verdicts":[{"check":..,"target":..,"status":"OK","hresult":"0x00000000",
//               "error":..,"summary":..,"details":{..}}, ...]}
// Text is emitted as given (callers pass UTF-8); control characters and
// quotes are escaped.
std::string RenderJson(const DiagHeader& header, const std::vector<DiagVerdict>& verdicts);

// Aligned columns STATUS, CHECK, TARGET, SUMMARY, then indented error and
// details lines per verdict, and a count line.
std::string RenderTable(const DiagHeader& header, const std::vector<DiagVerdict>& verdicts);

// JSON string literal with quotes.
std::string JsonString(std::string_view text);

}  // namespace pkiwatch::win
