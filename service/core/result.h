#pragma once
// A value or an error message: the result type for expected, per-item failures
// (a bad annotation, a vanished cgroup). Exceptions stay at startup and the bus edge.
#include <string>
#include <utility>
#include <variant>

namespace iopslimit::core {

struct Error {
    std::string message;
    int code = 0;  // errno where one applies, else 0
};

template <typename T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    const T& value() const& { return std::get<0>(v_); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& operator*() const& { return value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

inline Error makeError(std::string message, int code = 0) { return Error{std::move(message), code}; }

}  // namespace iopslimit::core
