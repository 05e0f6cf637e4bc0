// The error types a course program distinguishes. run_chapter() (cli.hpp) maps them to one line
// on stderr and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace course {

// Thrown by a generated exercise stub. `exercise` is "N.k name", e.g. "6.1 kl_diag_std_normal";
// the message reads "exercise 6.1 kl_diag_std_normal not implemented yet".
class NotImplemented : public std::logic_error {
 public:
  explicit NotImplemented(const std::string& exercise)
      : std::logic_error("exercise " + exercise + " not implemented yet") {}
};

// Bad input from the user: a missing, truncated or malformed data file, or a bad flag value.
// Exit code 2. The message names the file or flag and says what is wrong.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training produced a non-finite loss or parameter. The message says where (epoch, batch).
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws std::invalid_argument unless `got` has the shape of `expected`, e.g.
//   "dL/dW_dec is 3x10 but W_dec is 10x3". Call it before using a matrix a student's code returned:
// in a Release build Eigen does not check sizes, and a transposed result would corrupt memory.
template <class A, class B>
void require_same_shape(const A& got, const B& expected, const std::string& got_name,
                        const std::string& expected_name) {
  if (got.rows() != expected.rows() || got.cols() != expected.cols())
    throw std::invalid_argument(got_name + " is " + std::to_string(got.rows()) + "x" + std::to_string(got.cols()) +
                                " but " + expected_name + " is " + std::to_string(expected.rows()) + "x" +
                                std::to_string(expected.cols()));
}

// Throws TrainingDiverged when `loss` is NaN or infinite, naming the epoch and batch.
void require_finite_loss(double loss, long epoch, long batch, const std::string& what = "loss");

}  // namespace course
