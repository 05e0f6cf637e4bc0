// The derivation-check harness. Every claim the course makes is checked by one of four checks,
// each yielding a CheckRow that the tests assert on and the chapter programs print:
//
//   check_identity     both sides of an exact identity          error = |a - n| / max(1, |a|, |n|)
//   check_gradient     analytic gradient vs central differences error = worst relative error
//   check_monte_carlo  closed form vs a Monte Carlo mean        error = |a - mean| / SE   (in SEs)
//   check_bound        an inequality  lower <= upper            error = lower - upper   (<= slack)
//
// Default tolerances live in `tolerance` below, and only there.
//
// A NaN or an infinity fails every check that receives it: a row passes only when its analytic
// side, its numeric side and its error are all finite (CheckRow::finite()), whatever its kind, and
// CheckTable::add and the tests' COURSE_CHECK enforce that for rows a chapter builds by hand
// (check_row below is how to build one).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "course/rng.hpp"
#include "course/types.hpp"

namespace course {

namespace tolerance {
// Relative error allowed between an analytic gradient and central differences in double.
// With step h = 1e-5 * max(1, |x|) the truncation error is O(h^2) ~ 1e-10 and the rounding error
// O(eps / h) ~ 1e-11 relative to the loss, so 1e-6 leaves three orders of margin, while a
// missing factor 2 (error 0.5) or a flipped sign (error 2) fails by five orders.
inline constexpr double gradient = 1e-6;
// Relative step of the central differences: h = fd_step * max(1, |x_i|).
inline constexpr double fd_step = 1e-5;
// Gradients this small (in absolute value, on both sides) compare absolutely, not relatively:
// |a - n| <= gradient * gradient_floor. Below it, central differences are all rounding noise.
inline constexpr double gradient_floor = 1e-4;
// Error allowed for an exact identity evaluated in double (relative, absolute below 1).
inline constexpr double identity = 1e-10;
// Monte Carlo: |analytic - mean| <= z * SE. z = 5 gives a two-sided false-failure rate of
// 5.7e-7 per check for a normal mean (the course's bound is 1e-6 per check).
inline constexpr double z = 5.0;
}  // namespace tolerance

// Two-sided false-failure rate of the interval mean +- z * SE for a normal mean: 2 * (1 - Phi(z)).
double false_failure_rate(double z);
// The z that gives a two-sided false-failure rate `alpha` for each of `m` simultaneous checks
// (Bonferroni: each check at alpha / m), i.e. Phi^-1(1 - alpha / (2 m)).
double z_for_false_failure_rate(double alpha, int m = 1);

// One row of a verification table.
struct CheckRow {
  std::string id;         // equation id in the docs, "6.4"
  std::string claim;      // what is claimed, in words
  std::string kind;       // "identity", "gradient", "monte carlo", "bound"
  double analytic = 0.0;  // the closed form / analytic side
  double numeric = 0.0;   // the numeric side (finite differences, Monte Carlo mean, other side)
  double error = 0.0;     // the error measure of this kind (see the table at the top)
  double tolerance = 0.0; // the row passes when error <= tolerance
  bool pass = false;
  std::string detail;     // interval, worst coordinate, or the failure table

  // Are analytic, numeric, error and tolerance all finite? A row that is not never passes.
  bool finite() const;
  // The verdict every consumer uses: pass && finite().
  bool passed() const { return pass && finite(); }

  // One line: "[6.4] claim: analytic=.. numeric=.. error=.. tol=.. PASS".
  std::string line() const;
  // line() followed by the detail (what a failed test prints).
  std::string report() const;
};

// A number for a claim or a detail, in the fewest digits that show it: 1e-09, 0.25, 1234.5
// (std::to_string would print 1e-9 as "0.000000").
std::string format_number(double x, int precision = 6);
// x with `decimals` digits after the point, as the chapters' summaries print it ("nan", "inf" and
// "-inf" spelled out).
std::string format_fixed(double x, int decimals);

// A row of a kind of its own (a goodness-of-fit statistic, a trained model's gap): passes when
// analytic, numeric and error are finite and error <= tol. Chapters build custom rows with this,
// never by setting `pass` by hand.
CheckRow check_row(const std::string& id, const std::string& claim, const std::string& kind,
                   double analytic, double numeric, double error, double tol);

// ---------------------------------------------------------------------------------------------
// Identity and bound
// ---------------------------------------------------------------------------------------------

// Both sides of an exact identity: passes when |lhs - rhs| / max(1, |lhs|, |rhs|) <= tol.
CheckRow check_identity(const std::string& id, const std::string& claim, double lhs, double rhs,
                        double tol = tolerance::identity);

// A matrix identity, entrywise: the error is the largest |A - B| / max(1, max|A|, max|B|).
CheckRow check_identity(const std::string& id, const std::string& claim, const MatD& lhs,
                        const MatD& rhs, double tol = tolerance::identity);

// An inequality lower <= upper, allowing `slack` for rounding: passes when lower - upper <= slack.
CheckRow check_bound(const std::string& id, const std::string& claim, double lower, double upper,
                     double slack = tolerance::identity);
// A finding about trained models: `difference` (a mean +- `se` over independent repetitions) is
// claimed to be positive. It holds when it exceeds tolerance::z = 5 standard errors (normal
// approximation; one-sided false-alarm rate 2.9e-7 when the true difference is 0). A NaN fails.
CheckRow finding(const std::string& id, const std::string& claim, double difference, double se);

// ---------------------------------------------------------------------------------------------
// Gradient check (central differences, double)
// ---------------------------------------------------------------------------------------------

// A block of parameters (a matrix or vector, contiguous storage) and its analytic gradient.
struct GradBlock {
  std::string name;
  double* value;
  const double* grad;
  Index rows, cols;
};

template <class V, class G>
GradBlock grad_block(std::string name, Eigen::PlainObjectBase<V>& value,
                     const Eigen::PlainObjectBase<G>& grad) {
  static_assert(std::is_same_v<typename V::Scalar, double>, "gradient checks run in double");
  if (value.rows() != grad.rows() || value.cols() != grad.cols())
    throw std::invalid_argument("grad_block " + name + ": the gradient is " +
                                std::to_string(grad.rows()) + "x" + std::to_string(grad.cols()) +
                                " but the parameter is " + std::to_string(value.rows()) + "x" +
                                std::to_string(value.cols()));
  return {std::move(name), value.data(), grad.data(), value.rows(), value.cols()};
}

struct GradientOptions {
  double tol = tolerance::gradient;
  double step = tolerance::fd_step;
  double floor = tolerance::gradient_floor;
  // Check at most this many coordinates (a seeded random subset); 0 checks all of them.
  Index max_coordinates = 0;
  std::uint64_t seed = 1;
};

// Perturbs each coordinate of each block in place (restoring it after) and compares
// (loss(x + h e_i) - loss(x - h e_i)) / 2h with the analytic gradient. On failure the detail is a
// table in the style of Ceres' gradient checker:
//   Detected 3 bad gradient component(s). Worst relative error was 0.5.
//   block  row col  analytic  numeric  abs.error  rel.error
//   W_dec    0   1   ...                                   <-- bad
CheckRow check_gradient(const std::string& id, const std::string& claim,
                        const std::function<double()>& loss, const std::vector<GradBlock>& blocks,
                        const GradientOptions& options = {});

// The same for a function of a vector: f(x) with analytic gradient g at x.
CheckRow check_gradient(const std::string& id, const std::string& claim,
                        const std::function<double(const VecD&)>& f, const VecD& x,
                        const VecD& analytic, const GradientOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Monte Carlo check
// ---------------------------------------------------------------------------------------------

// Mean and standard error of n samples of a scalar.
struct McEstimate {
  double mean = 0.0;
  double se = 0.0;   // sample standard deviation / sqrt(n)
  double sd = 0.0;   // sample standard deviation
  Index n = 0;
  std::uint64_t seed = 0;
};

// The samples are drawn in fixed chunks of 4096, chunk c from Rng(seed, c), in parallel; the
// estimate is the same for any thread count. `sample(rng)` returns one draw.
McEstimate monte_carlo(Index n, std::uint64_t seed, const std::function<double(Rng&)>& sample);

// Vector-valued version: sample(rng, out) writes one draw of dimension `dim` into out.
struct McVecEstimate {
  VecD mean, se;
  Index n = 0;
  std::uint64_t seed = 0;
};
McVecEstimate monte_carlo_vec(Index n, Index dim, std::uint64_t seed,
                              const std::function<void(Rng&, Eigen::Ref<VecD>)>& sample);

// Passes when |analytic - mean| <= z * SE. The detail states the interval, n, seed and the
// false-failure rate of z.
CheckRow check_monte_carlo(const std::string& id, const std::string& claim, double analytic,
                           const McEstimate& estimate, double z = tolerance::z);

// Every entry of a vector-valued estimate at once, Bonferroni-corrected so that the whole row has
// false-failure rate `alpha`. The row's error is the largest |analytic_i - mean_i| / SE_i.
CheckRow check_monte_carlo(const std::string& id, const std::string& claim, const VecD& analytic,
                           const McVecEstimate& estimate, double alpha = 1e-6);

// ---------------------------------------------------------------------------------------------
// A verification table: what a chapter program prints first.
// ---------------------------------------------------------------------------------------------

class CheckTable {
 public:
  // Adds the row and returns it, so a caller can also use the verdict.
  const CheckRow& add(CheckRow row);
  const std::vector<CheckRow>& rows() const { return rows_; }
  bool all_pass() const;
  int failures() const;
  // The table: eq | claim | analytic | numeric | error | tol | verdict, then failure details.
  // The table keeps the title it was last printed under (for the run record, run_record.hpp).
  void print(std::ostream& os, const std::string& title) const;
  const std::string& title() const { return title_; }

 private:
  std::vector<CheckRow> rows_;
  mutable std::string title_;
};

}  // namespace course
