#pragma once
/// The one error model: `Result<T>` holds a value or an `Error`; `TRY(expr)` unwraps a
/// Result or returns its error from the enclosing function. Library exceptions are
/// caught where the library is called and turned into an Error there.
#include <fmt/format.h>

#include <string>
#include <utility>
#include <variant>

namespace cbuild {

/// Process exit codes, one enum for the whole program.
enum class ExitCode : int {
  ok = 0,
  failure = 1,        ///< generic failure (I/O, store, internal)
  usage = 2,          ///< bad command line
  bad_input = 3,      ///< bad Dockerfile, context, archive or reference
  step_failed = 4,    ///< a RUN step exited non-zero
  not_found = 5,      ///< image, blob or reference missing
  interrupted = 130,  ///< SIGINT/SIGTERM
};

/// An expected failure: a message (verb + `path` + reason) and the exit code it maps to.
struct Error {
  std::string message;
  ExitCode code = ExitCode::failure;

  /// Prefix context, e.g. `err.wrap("load {}", path)` gives "load x: <message>".
  template <typename... Args>
  Error wrap(fmt::format_string<Args...> f, Args&&... args) && {
    message = fmt::format(f, std::forward<Args>(args)...) + ": " + message;
    return std::move(*this);
  }
};

template <typename... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...), ExitCode::failure};
}
template <typename... Args>
Error make_error(ExitCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...), code};
}

/// Error with the current errno's text appended: "open `x`: No such file or directory".
Error errno_error(std::string what);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(m_v); }
  Error&& error() && { return std::get<1>(std::move(m_v)); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> m_v;
};

/// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}

  bool ok() const { return m_ok; }
  explicit operator bool() const { return m_ok; }
  void value() const {}
  const Error& error() const& { return m_error; }
  Error&& error() && { return std::move(m_error); }

 private:
  Error m_error;
  bool m_ok = true;
};

using Status = Result<void>;

namespace detail {
template <typename T>
T unwrap_value(Result<T>&& r) { return std::move(r).value(); }
inline void unwrap_value(Result<void>&&) {}
}  // namespace detail

}  // namespace cbuild

/// Unwrap a Result or return its Error from the enclosing function (GNU statement
/// expression; g++ and clang support it).
#define TRY(expr)                                                   \
  ({                                                                \
    auto cbuild_try_result_ = (expr);                               \
    if (!cbuild_try_result_.ok())                                   \
      return std::move(cbuild_try_result_).error();                 \
    ::cbuild::detail::unwrap_value(std::move(cbuild_try_result_));  \
  })
