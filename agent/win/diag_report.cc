#include "agent/win/diag_report.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace pkiwatch::win {
namespace {

std::string Hex(uint32_t code) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08X", static_cast<unsigned>(code));
  return buffer;
}

std::array<size_t, 4> Count(const std::vector<DiagVerdict>& verdicts) {
  std::array<size_t, 4> counts{};
  for (const DiagVerdict& v : verdicts) ++counts[static_cast<size_t>(v.verdict)];
  return counts;
}

void AppendObject(const std::vector<std::pair<std::string, std::string>>& fields,
                  std::string* out) {
  out->push_back('{');
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    *out += JsonString(fields[i].first);
    out->push_back(':');
    *out += JsonString(fields[i].second);
  }
  out->push_back('}');
}

}  // namespace

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk: return "OK";
    case Verdict::kWarn: return "WARN";
    case Verdict::kFail: return "FAIL";
    case Verdict::kError: return "ERROR";
  }
  return "ERROR";
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", u);
          out += buffer;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string RenderJson(const DiagHeader& header, const std::vector<DiagVerdict>& verdicts) {
  std::string out = "{\"tool\":\"pkiwatch-diag\",\"version\":" + JsonString(header.tool_version) +
                    ",\"generated_at\":" + JsonString(header.generated_at) + ",\"host\":";
  AppendObject(header.host, &out);
  const std::array<size_t, 4> counts = Count(verdicts);
  out += ",\"counts\":{";
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += JsonString(VerdictName(static_cast<Verdict>(i))) + ":" + std::to_string(counts[i]);
  }
  out += "},\"verdicts\":[";
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const DiagVerdict& v = verdicts[i];
    if (i > 0) out.push_back(',');
    out += "\n{\"check\":" + JsonString(v.check) + ",\"target\":" + JsonString(v.target) +
           ",\"status\":" + JsonString(VerdictName(v.verdict)) + ",\"hresult\":" +
           JsonString(Hex(v.hresult)) + ",\"error\":" + JsonString(v.error) +
           ",\"summary\":" + JsonString(v.summary) + ",\"details\":";
    AppendObject(v.details, &out);
    out.push_back('}');
  }
  out += "]}\n";
  return out;
}

std::string RenderTable(const DiagHeader& header, const std::vector<DiagVerdict>& verdicts) {
  std::string out = "pkiwatch-diag " + header.tool_version + "  " + header.generated_at + "\n";
  for (const auto& [key, value] : header.host) {
    if (!value.empty()) out += "  " + key + ": " + value + "\n";
  }
  out += "\n";
  size_t check_width = 5;
  size_t target_width = 6;
  for (const DiagVerdict& v : verdicts) {
    check_width = std::max(check_width, v.check.size());
    target_width = std::max(target_width, std::min<size_t>(v.target.size(), 60));
  }
  auto pad = [](std::string text, size_t width) {
    if (text.size() > width) text = text.substr(0, width - 3) + "...";
    text.resize(width, ' ');
    return text;
  };
  out += pad("STATUS", 7) + pad("CHECK", check_width + 2) + pad("TARGET", target_width + 2) +
         "SUMMARY\n";
  for (const DiagVerdict& v : verdicts) {
    out += pad(std::string(VerdictName(v.verdict)), 7) + pad(v.check, check_width + 2) +
           pad(v.target, target_width + 2) + v.summary + "\n";
    if (!v.error.empty()) out += "       error: " + v.error + "\n";
    for (const auto& [key, value] : v.details) out += "       " + key + ": " + value + "\n";
  }
  const std::array<size_t, 4> counts = Count(verdicts);
  out += "\n";
  for (size_t i = 0; i < counts.size(); ++i) {
    out += std::string(i > 0 ? ", " : "") + std::to_string(counts[i]) + " " +
           std::string(VerdictName(static_cast<Verdict>(i)));
  }
  out += "\n";
  return out;
}

}  // namespace pkiwatch::win
