#include "agent/eventlog/error_text.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>

#include "agent/eventlog/event_xml.h"

namespace pkiwatch::eventlog {
namespace {

// Texts quoted in the project's fixtures (the same list as
// common/tools/error_texts.tsv); names from mingw-w64 winerror.h/winhttp.h.
// error_text_test.cc checks code, name and text against the catalogue.
constexpr KnownError kKnownErrors[] = {
    {0x800B0101u, "CERT_E_EXPIRED",
     "A required certificate is not within its validity period when verifying against the "
     "current system clock or the timestamp in the signed file."},
    {0x800B0109u, "CERT_E_UNTRUSTEDROOT",
     "A certificate chain processed, but terminated in a root certificate which is not "
     "trusted by the trust provider."},
    {0x80092013u, "CRYPT_E_REVOCATION_OFFLINE",
     "The revocation function was unable to check revocation because the revocation server "
     "was offline."},
    {0x80092012u, "CRYPT_E_NO_REVOCATION_CHECK",
     "The revocation function was unable to check revocation for the certificate."},
    {0x80092010u, "CRYPT_E_REVOKED", "The certificate is revoked."},
    {0x80070002u, "ERROR_FILE_NOT_FOUND", "The system cannot find the file specified."},
    {0x8007054Bu, "ERROR_NO_SUCH_DOMAIN",
     "The specified domain either does not exist or could not be contacted."},
    {0x800706BAu, "RPC_S_SERVER_UNAVAILABLE", "The RPC server is unavailable."},
    {0x80094012u, "CERTSRV_E_TEMPLATE_DENIED",
     "The permissions on the certificate template do not allow the current user to enroll "
     "for this type of certificate."},
    {0x80094800u, "CERTSRV_E_UNSUPPORTED_CERT_TYPE",
     "The requested certificate template is not supported by this CA."},
    {0x80094811u, "CERTSRV_E_KEY_LENGTH",
     "The public key does not meet the minimum size required by the specified certificate "
     "template."},
    {0x80094009u, "CERTSRV_E_RESTRICTEDOFFICER",
     "The operation is denied. It can only be performed by a certificate manager that is "
     "allowed to manage certificates for the current requester."},
    {0x80094003u, "CERTSRV_E_BAD_REQUESTSTATUS",
     "The request's current status does not allow this operation."},
    {0x80094004u, "CERTSRV_E_PROPERTY_EMPTY", "The requested property value is empty."},
    {0x80090020u, "NTE_FAIL", "An internal error occurred."},
    {0x80090006u, "NTE_BAD_SIGNATURE", "Invalid Signature."},
    {0x80072098u, "ERROR_DS_INSUFF_ACCESS_RIGHTS",
     "Insufficient access rights to perform the operation."},
    {0x80004015u, "CO_E_WRONG_SERVER_IDENTITY",
     "The class is configured to run as a security id different from the caller"},
    {0x80072F8Fu, "ERROR_WINHTTP_SECURE_FAILURE", "A security error occurred"},
    {0x80072F78u, "ERROR_WINHTTP_INVALID_SERVER_RESPONSE",
     "The server returned an invalid or unrecognized response"},
};

// Shortest truncated text accepted as a prefix of a known text.
constexpr size_t kMinPrefixMatch = 24;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Trims whitespace, trailing periods and a trailing UTF-8 ellipsis.
std::string_view Normalize(std::string_view s) {
  constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  while (true) {
    while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
    while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
    if (!s.empty() && s.back() == '.') {
      s.remove_suffix(1);
    } else if (s.size() >= kEllipsis.size() &&
               s.substr(s.size() - kEllipsis.size()) == kEllipsis) {
      s.remove_suffix(kEllipsis.size());
    } else {
      return s;
    }
  }
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != Lower(prefix[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<uint32_t> ParseErrorCode(std::string_view text, bool hex_without_prefix) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const char* stop = nullptr;
  uint32_t result = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    uint64_t v = 0;
    const auto [p, ec] = std::from_chars(begin + 2, end, v, 16);
    if (ec != std::errc() || p == begin + 2 || v > 0xFFFFFFFFull) return std::nullopt;
    stop = p;
    result = static_cast<uint32_t>(v);
  } else if (text[0] == '-') {
    int64_t v = 0;
    const auto [p, ec] = std::from_chars(begin, end, v, 10);
    if (ec != std::errc() || v < std::numeric_limits<int32_t>::min()) return std::nullopt;
    stop = p;
    result = static_cast<uint32_t>(static_cast<int32_t>(v));
  } else {
    uint64_t v = 0;
    const auto [p, ec] = std::from_chars(begin, end, v, hex_without_prefix ? 16 : 10);
    if (ec != std::errc() || v > 0xFFFFFFFFull) return std::nullopt;
    stop = p;
    result = static_cast<uint32_t>(v);
  }
  if (stop != end && !IsSpace(*stop) && *stop != '(') return std::nullopt;
  return result;
}

std::optional<uint32_t> FindHresultInText(std::string_view text) {
  for (size_t pos = text.find("0x"); pos != std::string_view::npos;
       pos = text.find("0x", pos + 1)) {
    if (pos > 0 && (IsHex(text[pos - 1]) || text[pos - 1] == 'x')) continue;
    if (pos + 10 > text.size()) break;
    bool ok = true;
    for (size_t i = pos + 2; i < pos + 10; ++i) ok = ok && IsHex(text[i]);
    if (!ok || (pos + 10 < text.size() && IsHex(text[pos + 10]))) continue;
    const std::optional<uint64_t> v = ParseHexU64(text.substr(pos + 2, 8));
    if (v) return static_cast<uint32_t>(*v);
  }
  return std::nullopt;
}

const KnownError* MatchErrorText(std::string_view text) {
  const std::string_view t = Normalize(text);
  if (t.empty()) return nullptr;
  for (const KnownError& e : kKnownErrors) {
    const std::string_view known = Normalize(e.text);
    if (StartsWithNoCase(t, known)) return &e;
    if (t.size() >= kMinPrefixMatch && StartsWithNoCase(known, t)) return &e;
  }
  return nullptr;
}

const KnownError* FindErrorTextIn(std::string_view text, size_t* position) {
  const KnownError* best = nullptr;
  size_t best_pos = std::string_view::npos;
  for (const KnownError& e : kKnownErrors) {
    const size_t pos = text.find(Normalize(e.text));
    if (pos < best_pos) {
      best = &e;
      best_pos = pos;
    }
  }
  if (best != nullptr && position != nullptr) *position = best_pos;
  return best;
}

const KnownError* FindKnownError(uint32_t code) {
  for (const KnownError& e : kKnownErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

const KnownError* KnownErrorsBegin() { return std::begin(kKnownErrors); }
const KnownError* KnownErrorsEnd() { return std::end(kKnownErrors); }

std::string FormatHresult(uint32_t code) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", code);
  return buf;
}

}  // namespace pkiwatch::eventlog
