#pragma once

// A value or an error, for the cores that are also compiled with mingw-w64
// into pkiwatch-diag.exe and tests/win (the event-log core, the SNTP core):
// no mingw build of Abseil or protobuf exists in the toolchain, so they use
// only the standard library. Callers convert an error to absl::Status at the
// module boundary (agent/eventlog/event_finding.h, agent/probes/sntp.h).
//
// E is the error: a message by default, or a typed error (e.g. an HRESULT
// with its message). A typed error converts implicitly, as absl::Status does
// into absl::StatusOr; a message needs Result::Error, since T may be a
// string too.

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace pkiwatch {

template <typename T, typename E = std::string>
class Result {
 public:
  // Implicit on purpose, so that `return value;` works like with StatusOr.
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)

  template <typename U = E, std::enable_if_t<!std::is_same_v<U, std::string>, int> = 0>
  Result(E error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  // An error. A message names the function or input and says what is wrong.
  static Result Error(E error) {
    Result r;
    r.error_ = std::move(error);
    return r;
  }

  bool ok() const { return value_.has_value(); }
  // Empty (default-constructed) when ok().
  const E& error() const { return error_; }

  // Only valid when ok(); check first.
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  Result() = default;

  std::optional<T> value_;
  E error_{};
};

}  // namespace pkiwatch
