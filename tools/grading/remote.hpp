// The grader's remote calls: how a graded test executable calls a student's exercise function that
// runs in another, sandboxed process. Included by the code tools/grading/remote.py generates from
// the exercise headers (one proxy per exercise function and one dispatcher); never by the course.
//
//   trusted test process (course tests + proxies)        sandboxed worker (student objects + dispatcher)
//   course::ch01::linear_ae_loss(Xc, We, Wd)  --request-->  read args, call the student's function,
//   returns the value read back             <--reply----  write the value (and in/out arguments)
//
// The test process decides pass/fail; the worker only ever sends values back, so the student's code
// has nothing to forge but wrong answers. Both ends speak frames: a 4-byte length, then the payload.
//   request: u32 function id, then each argument in declaration order
//   reply:   u8 0, then the return value (unless void), then every non-const reference argument
//            u8 1, u8 exception kind, string what()          (the function threw)
// Every value the test process reads is bounded by the frame it came in: a malformed or hostile
// reply throws BadReply, never reads or allocates past the frame.
#pragma once

#include <Eigen/Dense>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "course/error.hpp"
#include "course/rng.hpp"

namespace course::grading {

// The largest frame either side accepts (a 4000 x 4000 matrix of doubles is 122 MiB).
inline constexpr std::uint32_t kMaxFrame = 256u << 20;

// The worker's reply broke the protocol (truncated, oversized, wrong shape): a wrong answer.
class BadReply : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The worker process ended (crashed, was killed at a limit, or called exit) during a call. The
// grader, which watched the worker, says which; this message names the function.
class WorkerDied : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------------
// Encoding. Codec<T> writes and reads one value; structs of the exercise headers get theirs from
// the generated code (field by field, through a structured binding, so a field list that does not
// match the struct is a compile error).

class Writer {
 public:
  void bytes(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
  std::string& buffer() { return buf_; }

 private:
  std::string buf_;
};

class Reader {
 public:
  Reader(const char* p, std::size_t n) : p_(p), end_(p + n) {}
  void bytes(void* out, std::size_t n) {
    if (n > remaining()) throw BadReply("reply too short");
    std::memcpy(out, p_, n);
    p_ += n;
  }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  void finish() const {
    if (p_ != end_) throw BadReply("reply has " + std::to_string(remaining()) + " extra bytes");
  }

 private:
  const char* p_;
  const char* end_;
};

template <class T, class Enable = void>
struct Codec {
  static_assert(sizeof(T) == 0,
                "the grader cannot pass a value of this type between processes: exercise functions "
                "take double, Index/int, bool, enums, VecD, MatD, std::vector of those, Rng& and plain "
                "structs of those declared in the exercise headers (docs/instructors.md, 'Remote calls')");
};

template <class T>
void put(Writer& w, const T& v) { Codec<T>::put(w, v); }
template <class T>
void get(Reader& r, T& v) { Codec<T>::get(r, v); }

template <class T>
struct Codec<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static void put(Writer& w, T v) { w.bytes(&v, sizeof v); }
  static void get(Reader& r, T& v) { r.bytes(&v, sizeof v); }
};

template <>
struct Codec<bool> {
  static void put(Writer& w, bool v) { const std::uint8_t b = v; w.bytes(&b, 1); }
  static void get(Reader& r, bool& v) {
    std::uint8_t b;
    r.bytes(&b, 1);
    if (b > 1) throw BadReply("a bool that is neither 0 nor 1");
    v = b;
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static void put(Writer& w, T v) { const std::int64_t x = static_cast<std::int64_t>(v); w.bytes(&x, 8); }
  static void get(Reader& r, T& v) {
    std::int64_t x;
    r.bytes(&x, 8);
    if constexpr (std::is_unsigned_v<T>) {
      if (x < 0) throw BadReply("a negative value for an unsigned integer");
    }
    if (static_cast<std::int64_t>(static_cast<T>(x)) != x) throw BadReply("an integer out of range");
    v = static_cast<T>(x);
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_enum_v<T>>> {
  using U = std::underlying_type_t<T>;
  static void put(Writer& w, T v) { Codec<U>::put(w, static_cast<U>(v)); }
  static void get(Reader& r, T& v) {
    U u;
    Codec<U>::get(r, u);
    v = static_cast<T>(u);
  }
};

// Eigen matrices and vectors of any scalar, fixed or dynamic size: rows, cols, then the entries.
template <class S, int R, int C, int O, int MR, int MC>
struct Codec<Eigen::Matrix<S, R, C, O, MR, MC>> {
  using M = Eigen::Matrix<S, R, C, O, MR, MC>;
  static void put(Writer& w, const M& m) {
    const std::int64_t rc[2] = {m.rows(), m.cols()};
    w.bytes(rc, sizeof rc);
    w.bytes(m.data(), sizeof(S) * static_cast<std::size_t>(m.size()));
  }
  static void get(Reader& r, M& m) {
    std::int64_t rc[2];
    r.bytes(rc, sizeof rc);
    if (rc[0] < 0 || rc[1] < 0 || (R != Eigen::Dynamic && rc[0] != R) || (C != Eigen::Dynamic && rc[1] != C) ||
        (rc[1] != 0 && static_cast<std::uint64_t>(rc[0]) > r.remaining() / sizeof(S) / static_cast<std::uint64_t>(rc[1])))
      throw BadReply("a matrix of impossible shape " + std::to_string(rc[0]) + "x" + std::to_string(rc[1]));
    m.resize(rc[0], rc[1]);
    r.bytes(m.data(), sizeof(S) * static_cast<std::size_t>(m.size()));
  }
};

template <class T, class A>
struct Codec<std::vector<T, A>> {
  static void put(Writer& w, const std::vector<T, A>& v) {
    const std::uint64_t n = v.size();
    w.bytes(&n, 8);
    if constexpr (std::is_same_v<T, bool>) {
      for (bool b : v) Codec<bool>::put(w, b);
    } else {
      for (const T& x : v) Codec<T>::put(w, x);
    }
  }
  static void get(Reader& r, std::vector<T, A>& v) {
    std::uint64_t n;
    r.bytes(&n, 8);
    if (n > r.remaining()) throw BadReply("a vector longer than its reply");  // >= 1 byte each
    v.clear();
    v.resize(static_cast<std::size_t>(n));
    if constexpr (std::is_same_v<T, bool>) {
      for (std::size_t i = 0; i < n; ++i) { bool b; Codec<bool>::get(r, b); v[i] = b; }
    } else {
      for (T& x : v) Codec<T>::get(r, x);
    }
  }
};

template <>
struct Codec<std::string> {
  static void put(Writer& w, const std::string& s) {
    const std::uint64_t n = s.size();
    w.bytes(&n, 8);
    w.bytes(s.data(), s.size());
  }
  static void get(Reader& r, std::string& s) {
    std::uint64_t n;
    r.bytes(&n, 8);
    if (n > r.remaining()) throw BadReply("a string longer than its reply");
    s.resize(static_cast<std::size_t>(n));
    r.bytes(s.data(), s.size());
  }
};

// The generator's whole state travels (the caller's generator advances exactly as in-process).
static_assert(std::is_trivially_copyable_v<course::Rng>, "Rng is sent as its bytes");
template <>
struct Codec<course::Rng> {
  static void put(Writer& w, const course::Rng& g) { w.bytes(&g, sizeof g); }
  static void get(Reader& r, course::Rng& g) { r.bytes(&g, sizeof g); }
};

// ---------------------------------------------------------------------------------------------
// Frames over pipes.

inline bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

inline bool read_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

// One write per frame: the length and the payload together (a call costs one write and one read
// on each side; per-call overhead is what a Monte Carlo test that calls an exercise per sample pays).
inline bool send_frame(int fd, const std::string& payload) {
  if (payload.size() > kMaxFrame) return false;
  const std::uint32_t n = static_cast<std::uint32_t>(payload.size());
  std::string frame(4 + payload.size(), '\0');
  std::memcpy(frame.data(), &n, 4);
  std::memcpy(frame.data() + 4, payload.data(), payload.size());
  return write_all(fd, frame.data(), frame.size());
}

// Buffered frame reader: usually one read() per frame.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  // false at end of file or on a read error; throws BadReply for an oversized frame.
  bool next(std::string& payload) {
    std::uint32_t n;
    if (!fill(4)) return false;
    std::memcpy(&n, buf_.data() + pos_, 4);
    if (n > kMaxFrame) throw BadReply("a frame of " + std::to_string(n) + " bytes");
    if (!fill(4 + static_cast<std::size_t>(n))) return false;
    payload.assign(buf_.data() + pos_ + 4, n);
    pos_ += 4 + static_cast<std::size_t>(n);
    return true;
  }

 private:
  bool fill(std::size_t need) {
    if (pos_ > 0 && buf_.size() - pos_ < need) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    while (buf_.size() - pos_ < need) {
      const std::size_t have = buf_.size();
      buf_.resize(have + std::max<std::size_t>(need - (have - pos_), 1 << 16));
      const ssize_t k = ::read(fd_, buf_.data() + have, buf_.size() - have);
      if (k < 0 && errno == EINTR) {
        buf_.resize(have);
        continue;
      }
      buf_.resize(have + static_cast<std::size_t>(k > 0 ? k : 0));
      if (k <= 0) return false;
    }
    return true;
  }
  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;
};

enum class ErrorKind : std::uint8_t {
  NotImplemented, InvalidArgument, OutOfRange, DomainError, LengthError, LogicError, RuntimeError,
  Other, NonStandard
};

// ---------------------------------------------------------------------------------------------
// The test process's side. COURSE_GRADE_RPC="W,R" names the pipe to the worker and the pipe back.

class Client {
 public:
  static Client& instance() {
    static Client c;
    return c;
  }

  // Sends the request; returns the reply's payload after its status byte (the values).
  // Rethrows the worker's exception as the same standard type, with its message.
  std::string call(const std::string& request, const char* function) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (out_ < 0) throw WorkerDied(std::string("cannot call ") + function + ": " + broken_);
    std::string reply;
    bool ok = send_frame(out_, request);
    try {
      ok = ok && reader_.next(reply);
    } catch (const BadReply& e) {
      malformed(function, e.what());
    }
    if (ok && reply.empty()) malformed(function, "an empty reply");
    if (!ok) {
      broken_ = std::string("the exercise code's process ended during a call of ") + function +
                " (a crash, a time or memory limit, or exit() called from the exercise code)";
      ::close(out_);
      ::close(in_);
      out_ = in_ = -1;
      throw WorkerDied(broken_);
    }
    if (reply[0] == 0) return reply.substr(1);
    if (reply[0] != 1) malformed(function, "an unknown status");
    Reader r(reply.data() + 1, reply.size() - 1);
    std::uint8_t kind = 0;
    std::string what;
    try {
      r.bytes(&kind, 1);
      get(r, what);
    } catch (const BadReply& e) {
      malformed(function, e.what());
    }
    if (what.size() > 4000) what.resize(4000);
    switch (static_cast<ErrorKind>(kind)) {
      case ErrorKind::NotImplemented: {
        const std::string pre = "exercise ", post = " not implemented yet";
        if (what.size() > pre.size() + post.size() && what.compare(0, pre.size(), pre) == 0 &&
            what.compare(what.size() - post.size(), post.size(), post) == 0)
          what = what.substr(pre.size(), what.size() - pre.size() - post.size());
        throw course::NotImplemented(what);
      }
      case ErrorKind::InvalidArgument: throw std::invalid_argument(what);
      case ErrorKind::OutOfRange: throw std::out_of_range(what);
      case ErrorKind::DomainError: throw std::domain_error(what);
      case ErrorKind::LengthError: throw std::length_error(what);
      case ErrorKind::LogicError: throw std::logic_error(what);
      case ErrorKind::RuntimeError: throw std::runtime_error(what);
      case ErrorKind::Other: throw std::runtime_error(std::string(function) + " threw: " + what);
      default: throw std::runtime_error(std::string(function) + " threw something that is not a std::exception");
    }
  }

  // The reply could not be read (the exercise code wrote into the pipe, or sent a value of the
  // wrong shape): a wrong answer; the stream is out of step, so no later call is believed either.
  [[noreturn]] void malformed(const char* function, const std::string& what) {
    if (out_ >= 0) {
      ::close(out_);
      ::close(in_);
      out_ = in_ = -1;
    }
    broken_ = std::string("the exercise code's process sent a malformed reply to a call of ") + function +
              " (" + what + "); it wrote into the grader's pipe?";
    throw BadReply(broken_);
  }

 private:
  Client() {
    std::signal(SIGPIPE, SIG_IGN);  // a dead worker is an EPIPE, not the end of the tests
    const char* spec = std::getenv("COURSE_GRADE_RPC");
    if (spec != nullptr && std::sscanf(spec, "%d,%d", &out_, &in_) == 2) {
      reader_ = FrameReader(in_);
    } else {
      out_ = in_ = -1;
      broken_ = "this test executable was linked for the grader (tools/grade.py), which starts the "
                "exercise code's process; run it through ./course grade";
    }
  }
  std::mutex mutex_;
  int out_ = -1, in_ = -1;
  FrameReader reader_{-1};
  std::string broken_;
};

// ---------------------------------------------------------------------------------------------
// The worker's side: a loop that reads a request, calls the function, writes the reply.

template <class F>
std::string guarded(F&& f) {
  auto error = [](ErrorKind k, const char* what) {
    Writer w;
    const std::uint8_t status = 1, kind = static_cast<std::uint8_t>(k);
    w.bytes(&status, 1);
    w.bytes(&kind, 1);
    std::string s(what);
    if (s.size() > 4000) s.resize(4000);
    put(w, s);
    return w.buffer();
  };
  try {
    Writer w;
    const std::uint8_t status = 0;
    w.bytes(&status, 1);
    f(w);
    return w.buffer();
  } catch (const course::NotImplemented& e) { return error(ErrorKind::NotImplemented, e.what());
  } catch (const std::invalid_argument& e) { return error(ErrorKind::InvalidArgument, e.what());
  } catch (const std::out_of_range& e) { return error(ErrorKind::OutOfRange, e.what());
  } catch (const std::domain_error& e) { return error(ErrorKind::DomainError, e.what());
  } catch (const std::length_error& e) { return error(ErrorKind::LengthError, e.what());
  } catch (const std::logic_error& e) { return error(ErrorKind::LogicError, e.what());
  } catch (const std::runtime_error& e) { return error(ErrorKind::RuntimeError, e.what());
  } catch (const std::exception& e) { return error(ErrorKind::Other, e.what());
  } catch (...) { return error(ErrorKind::NonStandard, "");
  }
}

// dispatch(id, reader, writer) calls function `id`; returns false for an unknown id.
template <class Dispatch>
int serve(Dispatch dispatch) {
  int in = -1, out = -1;
  const char* spec = std::getenv("COURSE_GRADE_RPC");
  if (spec == nullptr || std::sscanf(spec, "%d,%d", &in, &out) != 2) return 2;
  std::string request;
  FrameReader reader(in);
  while (reader.next(request)) {
    std::string reply = guarded([&](Writer& w) {
      Reader r(request.data(), request.size());
      std::uint32_t id;
      r.bytes(&id, 4);
      if (!dispatch(id, r, w)) throw std::logic_error("unknown function id " + std::to_string(id));
    });
    if (!send_frame(out, reply)) return 1;
  }
  return 0;
}

}  // namespace course::grading
