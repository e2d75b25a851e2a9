#include "agent/eventlog/message_template.h"

#include <cstddef>

namespace pkiwatch::eventlog {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

struct Segment {
  int insert = 0;       // > 0: an insert; 0: literal
  std::string literal;  // whitespace already collapsed
};

// Splits a template into literals and inserts; escapes become spaces.
std::vector<Segment> Tokenize(std::string_view t) {
  std::vector<Segment> segments;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) segments.push_back({0, literal});
    literal.clear();
  };
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '%' && i + 1 < t.size()) {
      const char n = t[i + 1];
      if (IsDigit(n) && n != '0') {
        int number = n - '0';
        i += 1;
        if (i + 1 < t.size() && IsDigit(t[i + 1])) {
          number = number * 10 + (t[i + 1] - '0');
          i += 1;
        }
        // "%1!s!" printf-style spec.
        if (i + 1 < t.size() && t[i + 1] == '!') {
          const size_t close = t.find('!', i + 2);
          if (close != std::string_view::npos) i = close;
        }
        flush();
        segments.push_back({number, {}});
        continue;
      }
      if (n == 'n' || n == 't' || n == 'r' || n == '0') {
        literal += ' ';
        i += 1;
        continue;
      }
      if (n == '%' || n == '.' || n == '!') {
        literal += n;
        i += 1;
        continue;
      }
    }
    if (c == '\\' && i + 1 < t.size() && (t[i + 1] == 'n' || t[i + 1] == 't' || t[i + 1] == 'r')) {
      literal += ' ';
      i += 1;
      continue;
    }
    literal += c;
  }
  flush();
  for (Segment& s : segments) {
    if (s.insert == 0) {
      // Keep a single leading/trailing space: it separates inserts.
      std::string collapsed;
      bool space = false;
      for (char ch : s.literal) {
        if (IsSpace(ch)) {
          space = true;
          continue;
        }
        if (space) collapsed += ' ';
        space = false;
        collapsed += ch;
      }
      if (space) collapsed += ' ';
      s.literal = std::move(collapsed);
    }
  }
  // Template edges: the message is trimmed, so trim the outer literals too.
  if (!segments.empty() && segments.front().insert == 0 && !segments.front().literal.empty() &&
      segments.front().literal.front() == ' ') {
    segments.front().literal.erase(0, 1);
  }
  if (!segments.empty() && segments.back().insert == 0 && !segments.back().literal.empty() &&
      segments.back().literal.back() == ' ') {
    segments.back().literal.pop_back();
  }
  return segments;
}

}  // namespace

std::string CollapseWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (IsSpace(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::optional<std::vector<std::string>> MatchMessageTemplate(std::string_view message_template,
                                                            std::string_view message) {
  const std::vector<Segment> segments = Tokenize(message_template);
  const std::string msg = CollapseWhitespace(message);
  std::vector<std::string> inserts(1);
  size_t pos = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    if (s.insert == 0) {
      if (msg.compare(pos, s.literal.size(), s.literal) != 0) {
        // "... policy server %2" rendered with an empty last insert: the
        // message ends where the literal's separating space would be.
        const bool only_inserts_follow = [&] {
          for (size_t j = i + 1; j < segments.size(); ++j) {
            if (segments[j].insert == 0) return false;
          }
          return i + 1 < segments.size();
        }();
        if (only_inserts_follow && !s.literal.empty() && s.literal.back() == ' ' &&
            msg.size() - pos == s.literal.size() - 1 &&
            msg.compare(pos, s.literal.size() - 1, s.literal, 0, s.literal.size() - 1) == 0) {
          for (size_t j = i + 1; j < segments.size(); ++j) {
            if (inserts.size() <= static_cast<size_t>(segments[j].insert)) {
              inserts.resize(segments[j].insert + 1);
            }
          }
          return inserts;
        }
        return std::nullopt;
      }
      pos += s.literal.size();
      continue;
    }
    if (inserts.size() <= static_cast<size_t>(s.insert)) inserts.resize(s.insert + 1);
    if (i + 1 == segments.size()) {
      inserts[s.insert] = msg.substr(pos);
      pos = msg.size();
      break;
    }
    const Segment& next = segments[i + 1];
    size_t end = std::string::npos;
    if (next.insert != 0) {
      end = pos;  // two adjacent inserts: the first one is empty
    } else if (i + 2 == segments.size()) {
      // The closing literal anchors at the end, so inserts may contain it
      // ("... with error: %2." where %2 has periods of its own).
      const std::string& tail = next.literal;
      if (msg.size() >= pos + tail.size() &&
          msg.compare(msg.size() - tail.size(), tail.size(), tail) == 0) {
        end = msg.size() - tail.size();
      } else if (tail.find_first_not_of(" .") == std::string::npos) {
        // Only a missing final period: the insert takes the rest.
        inserts[s.insert] = msg.substr(pos);
        return inserts;
      }
    } else if (next.literal == " ") {
      end = msg.find(' ', pos);
    } else {
      end = msg.find(next.literal, pos);
      if (end == std::string::npos && next.literal.back() == ' ') {
        // "... policy server %2" with an empty last insert (see below): the
        // literal closes the message without its separating space.
        bool only_inserts_follow = i + 2 < segments.size();
        for (size_t j = i + 2; j < segments.size(); ++j) {
          only_inserts_follow = only_inserts_follow && segments[j].insert != 0;
        }
        const size_t n = next.literal.size() - 1;
        if (only_inserts_follow && msg.size() >= pos + n &&
            msg.compare(msg.size() - n, n, next.literal, 0, n) == 0) {
          end = msg.size() - n;
        }
      }
    }
    if (end == std::string::npos) return std::nullopt;
    inserts[s.insert] = msg.substr(pos, end - pos);
    pos = end;
  }
  if (pos != msg.size()) return std::nullopt;
  return inserts;
}

}  // namespace pkiwatch::eventlog
