// Result<T>: the error type every layer below cli/ returns.
//
// Low layers never print and never exit; they return an Error with a code and
// a message, and callers add context on the way up ("compress a.safetensors:
// tensor 'x': ..."). Only cli/ turns an Error into a message and exit status.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace zipllm {

enum class Errc {
  InvalidArgument,  // bad input from the user or a malformed file
  NotFound,         // an object, file or base that should exist does not
  Corrupt,          // stored data fails its checksum or does not decode
  IoError,          // the operating system refused (disk full, permission, ...)
  Unsupported,      // a valid input this version cannot handle
  Unavailable,      // a remote did not answer or failed transiently (retry may help)
  Internal,         // our own bug
};

const char* errc_name(Errc code);

struct Error {
  Errc code = Errc::Internal;
  std::string message;

  // Returns this error with "what: " prepended to the message.
  Error context(const std::string& what) const& { return Error{code, what + ": " + message}; }
  Error context(const std::string& what) && {
    return Error{code, what + ": " + std::move(message)};
  }
};

inline Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  explicit operator bool() const { return m_v.index() == 0; }
  bool ok() const { return m_v.index() == 0; }

  T& operator*() & {
    assert(ok());
    return std::get<0>(m_v);
  }
  T&& operator*() && {
    assert(ok());
    return std::get<0>(std::move(m_v));
  }
  T* operator->() {
    assert(ok());
    return &std::get<0>(m_v);
  }
  const T& operator*() const& {
    assert(ok());
    return std::get<0>(m_v);
  }
  const T* operator->() const {
    assert(ok());
    return &std::get<0>(m_v);
  }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(m_v);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(m_v));
  }

 private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}

  explicit operator bool() const { return m_ok; }
  bool ok() const { return m_ok; }
  const Error& error() const& {
    assert(!m_ok);
    return m_error;
  }
  Error&& error() && {
    assert(!m_ok);
    return std::move(m_error);
  }

 private:
  Error m_error;
  bool m_ok = true;
};

using Status = Result<void>;

}  // namespace zipllm

// Each expansion gets its own variable, so TRYs nest without shadowing.
#define ZIPLLM_CAT_(a, b) a##b
#define ZIPLLM_CAT(a, b) ZIPLLM_CAT_(a, b)
#define ZIPLLM_TRY_VAR ZIPLLM_CAT(zipllm_try_, __COUNTER__)

// TRY(expr): evaluate a Result; on error return it from the enclosing
// function, otherwise yield the value. (GNU statement expression.)
#define TRY(expr) ZIPLLM_TRY_(expr, ZIPLLM_TRY_VAR)
#define ZIPLLM_TRY_(expr, var)       \
  ({                                 \
    auto var = (expr);               \
    if (!var) {                      \
      return std::move(var).error(); \
    }                                \
    std::move(*var);                 \
  })

// TRY_STATUS(expr): the same for Result<void>.
#define TRY_STATUS(expr) ZIPLLM_TRY_STATUS_(expr, ZIPLLM_TRY_VAR)
#define ZIPLLM_TRY_STATUS_(expr, var) \
  do {                                \
    auto var = (expr);                \
    if (!var) {                       \
      return std::move(var).error();  \
    }                                 \
  } while (0)

// TRY_CTX(expr, what): like TRY but adds context to the error.
#define TRY_CTX(expr, what) ZIPLLM_TRY_CTX_(expr, what, ZIPLLM_TRY_VAR)
#define ZIPLLM_TRY_CTX_(expr, what, var)           \
  ({                                               \
    auto var = (expr);                             \
    if (!var) {                                    \
      return std::move(var).error().context(what); \
    }                                              \
    std::move(*var);                               \
  })

#define TRY_STATUS_CTX(expr, what) ZIPLLM_TRY_STATUS_CTX_(expr, what, ZIPLLM_TRY_VAR)
#define ZIPLLM_TRY_STATUS_CTX_(expr, what, var)    \
  do {                                             \
    auto var = (expr);                             \
    if (!var) {                                    \
      return std::move(var).error().context(what); \
    }                                              \
  } while (0)
