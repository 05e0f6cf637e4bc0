#include "course/check.hpp"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <sstream>

namespace course {
namespace {

std::string fmt(double x, int precision = 6) { return format_number(x, precision); }

CheckRow make_row(std::string id, std::string claim, std::string kind, double analytic,
                  double numeric, double error, double tol) {
  CheckRow r;
  r.id = std::move(id);
  r.claim = std::move(claim);
  r.kind = std::move(kind);
  r.analytic = analytic;
  r.numeric = numeric;
  r.error = error;
  r.tolerance = tol;
  // A NaN anywhere is a failure, never a silent pass.
  r.pass = std::isfinite(analytic) && std::isfinite(numeric) && std::isfinite(error) && error <= tol;
  return r;
}

}  // namespace

std::string format_fixed(double x, int decimals) {
  if (!std::isfinite(x)) return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

CheckRow finding(const std::string& id, const std::string& claim, double difference, double se) {
  CheckRow r = check_bound(id, claim, tolerance::z * se, difference, 0.0);
  r.kind = "finding";
  r.detail = "difference " + format_fixed(difference, 4) + ", SE " + format_fixed(se, 4) +
             "; holds when above z = 5 SE (normal approximation, one-sided false-alarm rate 2.9e-7)";
  return r;
}

std::string format_number(double x, int precision) {
  std::ostringstream s;
  s << std::setprecision(precision) << x;
  return s.str();
}

CheckRow check_row(const std::string& id, const std::string& claim, const std::string& kind,
                   double analytic, double numeric, double error, double tol) {
  return make_row(id, claim, kind, analytic, numeric, error, tol);
}

bool CheckRow::finite() const {
  return std::isfinite(analytic) && std::isfinite(numeric) && std::isfinite(error) && std::isfinite(tolerance);
}

double false_failure_rate(double z) {
  boost::math::normal_distribution<double> n;
  return 2.0 * boost::math::cdf(boost::math::complement(n, z));
}

double z_for_false_failure_rate(double alpha, int m) {
  boost::math::normal_distribution<double> n;
  return boost::math::quantile(boost::math::complement(n, alpha / (2.0 * m)));
}

std::string CheckRow::line() const {
  std::ostringstream s;
  s << "[" << id << "] " << claim << ": analytic=" << fmt(analytic, 10) << " numeric=" << fmt(numeric, 10)
    << " error=" << fmt(error, 3) << " tol=" << fmt(tolerance, 3) << " (" << kind << ") "
    << (pass ? "PASS" : "FAIL");
  return s.str();
}

std::string CheckRow::report() const { return detail.empty() ? line() : line() + "\n" + detail; }

// ---------------------------------------------------------------------------------------------

CheckRow check_identity(const std::string& id, const std::string& claim, double lhs, double rhs,
                        double tol) {
  const double err = std::abs(lhs - rhs) / std::max({1.0, std::abs(lhs), std::abs(rhs)});
  return make_row(id, claim, "identity", lhs, rhs, err, tol);
}

CheckRow check_identity(const std::string& id, const std::string& claim, const MatD& lhs,
                        const MatD& rhs, double tol) {
  if (lhs.rows() != rhs.rows() || lhs.cols() != rhs.cols()) {
    CheckRow r = make_row(id, claim, "identity", NAN, NAN, INFINITY, tol);
    r.detail = "shape mismatch: " + std::to_string(lhs.rows()) + "x" + std::to_string(lhs.cols()) +
               " vs " + std::to_string(rhs.rows()) + "x" + std::to_string(rhs.cols());
    return r;
  }
  Index wi = 0, wj = 0;
  const double diff = (lhs - rhs).cwiseAbs().maxCoeff(&wi, &wj);
  const double scale = std::max({1.0, lhs.cwiseAbs().maxCoeff(), rhs.cwiseAbs().maxCoeff()});
  CheckRow r = make_row(id, claim, "identity", lhs(wi, wj), rhs(wi, wj), diff / scale, tol);
  r.detail = "largest difference at entry (" + std::to_string(wi) + ", " + std::to_string(wj) +
             ") of a " + std::to_string(lhs.rows()) + "x" + std::to_string(lhs.cols()) + " matrix";
  if (!lhs.allFinite() || !rhs.allFinite()) {
    r.pass = false;
    r.detail += "; a side has a non-finite entry";
  }
  return r;
}

CheckRow check_bound(const std::string& id, const std::string& claim, double lower, double upper,
                     double slack) {
  CheckRow r = make_row(id, claim, "bound", lower, upper, lower - upper, slack);
  r.detail = "claim: " + fmt(lower, 12) + " <= " + fmt(upper, 12) + " (slack " + fmt(slack, 3) + ")";
  return r;
}

// ---------------------------------------------------------------------------------------------

CheckRow check_gradient(const std::string& id, const std::string& claim,
                        const std::function<double()>& loss, const std::vector<GradBlock>& blocks,
                        const GradientOptions& o) {
  struct Entry {
    std::size_t block;
    Index index;
    double analytic, numeric, abs_err, rel_err;
    bool bad;
  };
  // Which coordinates to check: all, or a seeded random subset.
  std::vector<std::pair<std::size_t, Index>> coords;
  for (std::size_t b = 0; b < blocks.size(); ++b)
    for (Index i = 0; i < blocks[b].rows * blocks[b].cols; ++i) coords.emplace_back(b, i);
  if (o.max_coordinates > 0 && Index(coords.size()) > o.max_coordinates) {
    Rng rng(o.seed, 0x6772616463686bULL);
    rng.shuffle(coords);
    coords.resize(std::size_t(o.max_coordinates));
    std::sort(coords.begin(), coords.end());
  }

  std::vector<Entry> entries;
  entries.reserve(coords.size());
  for (auto [b, i] : coords) {
    double& x = blocks[b].value[i];
    const double saved = x;
    const double h = o.step * std::max(1.0, std::abs(saved));
    x = saved + h;
    const double fp = loss();
    x = saved - h;
    const double fm = loss();
    x = saved;
    const double numeric = (fp - fm) / (2.0 * h);
    const double analytic = blocks[b].grad[i];
    const double abs_err = std::abs(analytic - numeric);
    const double rel_err = abs_err / std::max({std::abs(analytic), std::abs(numeric), o.floor});
    const bool bad = !(rel_err <= o.tol);  // NaN counts as bad
    entries.push_back({b, i, analytic, numeric, abs_err, rel_err, bad});
  }

  if (entries.empty()) {
    CheckRow r = make_row(id, claim, "gradient", NAN, NAN, INFINITY, o.tol);
    r.detail = "no coordinates to check";
    return r;
  }
  const auto worst = std::max_element(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    // NaN errors sort as the worst.
    if (std::isnan(a.rel_err)) return false;
    if (std::isnan(b.rel_err)) return true;
    return a.rel_err < b.rel_err;
  });
  const long bad = std::count_if(entries.begin(), entries.end(), [](const Entry& e) { return e.bad; });
  CheckRow r = make_row(id, claim, "gradient", worst->analytic, worst->numeric, worst->rel_err, o.tol);
  if (bad > 0) r.pass = false;

  std::ostringstream d;
  const GradBlock& wb = blocks[worst->block];
  d << (bad > 0 ? "Detected " + std::to_string(bad) + " bad gradient component(s). " : "")
    << "Worst relative error was " << fmt(worst->rel_err, 3) << " at " << wb.name << "("
    << worst->index % wb.rows << "," << worst->index / wb.rows << ") of " << entries.size()
    << " coordinates checked (central differences, step " << fmt(o.step, 2) << " * max(1,|x|)).";
  if (bad > 0) {
    // The worst rows first, at most 20.
    std::vector<Entry> shown = entries;
    std::stable_sort(shown.begin(), shown.end(), [](const Entry& a, const Entry& b) {
      return (std::isnan(a.rel_err) ? INFINITY : a.rel_err) > (std::isnan(b.rel_err) ? INFINITY : b.rel_err);
    });
    if (shown.size() > 20) shown.resize(20);
    d << "\n  " << std::left << std::setw(12) << "block" << std::right << std::setw(6) << "row"
      << std::setw(6) << "col" << std::setw(16) << "analytic" << std::setw(16) << "numeric"
      << std::setw(12) << "abs.error" << std::setw(12) << "rel.error";
    for (const Entry& e : shown) {
      const GradBlock& gb = blocks[e.block];
      d << "\n  " << std::left << std::setw(12) << gb.name << std::right << std::setw(6)
        << e.index % gb.rows << std::setw(6) << e.index / gb.rows << std::setw(16) << fmt(e.analytic, 8)
        << std::setw(16) << fmt(e.numeric, 8) << std::setw(12) << fmt(e.abs_err, 3) << std::setw(12)
        << fmt(e.rel_err, 3) << (e.bad ? "  <-- bad" : "");
    }
  }
  r.detail = d.str();
  return r;
}

CheckRow check_gradient(const std::string& id, const std::string& claim,
                        const std::function<double(const VecD&)>& f, const VecD& x0,
                        const VecD& analytic, const GradientOptions& options) {
  VecD x = x0;
  if (analytic.size() != x.size()) {
    CheckRow r = make_row(id, claim, "gradient", NAN, NAN, INFINITY, options.tol);
    r.detail = "the analytic gradient has " + std::to_string(analytic.size()) +
               " entries but x has " + std::to_string(x.size());
    return r;
  }
  return check_gradient(id, claim, [&] { return f(x); }, {grad_block("x", x, analytic)}, options);
}

// ---------------------------------------------------------------------------------------------

namespace {
constexpr Index kMcChunk = 4096;

// Chan et al.'s pairwise combination of (count, mean, M2) partial statistics.
struct Moments {
  double n = 0, mean = 0, m2 = 0;
  void add(double x) {
    n += 1;
    const double d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  void merge(const Moments& o) {
    if (o.n == 0) return;
    const double total = n + o.n;
    const double d = o.mean - mean;
    mean += d * o.n / total;
    m2 += o.m2 + d * d * n * o.n / total;
    n = total;
  }
};
}  // namespace

McEstimate monte_carlo(Index n, std::uint64_t seed, const std::function<double(Rng&)>& sample) {
  auto parts = parallel_chunks(n, kMcChunk, seed, [&](Rng& rng, Index b, Index e) {
    Moments m;
    for (Index i = b; i < e; ++i) m.add(sample(rng));
    return m;
  });
  Moments all;
  for (const auto& p : parts) all.merge(p);
  McEstimate est;
  est.n = n;
  est.seed = seed;
  est.mean = all.mean;
  est.sd = n > 1 ? std::sqrt(all.m2 / double(n - 1)) : 0.0;
  est.se = n > 0 ? est.sd / std::sqrt(double(n)) : INFINITY;
  return est;
}

McVecEstimate monte_carlo_vec(Index n, Index dim, std::uint64_t seed,
                              const std::function<void(Rng&, Eigen::Ref<VecD>)>& sample) {
  auto parts = parallel_chunks(n, kMcChunk, seed, [&](Rng& rng, Index b, Index e) {
    std::vector<Moments> m(std::size_t(dim), Moments{});
    VecD x(dim);
    for (Index i = b; i < e; ++i) {
      sample(rng, x);
      for (Index k = 0; k < dim; ++k) m[std::size_t(k)].add(x(k));
    }
    return m;
  });
  std::vector<Moments> all(std::size_t(dim), Moments{});
  for (const auto& p : parts)
    for (Index k = 0; k < dim; ++k) all[std::size_t(k)].merge(p[std::size_t(k)]);
  McVecEstimate est;
  est.n = n;
  est.seed = seed;
  est.mean.resize(dim);
  est.se.resize(dim);
  for (Index k = 0; k < dim; ++k) {
    est.mean(k) = all[std::size_t(k)].mean;
    est.se(k) = n > 1 ? std::sqrt(all[std::size_t(k)].m2 / double(n - 1) / double(n)) : INFINITY;
  }
  return est;
}

CheckRow check_monte_carlo(const std::string& id, const std::string& claim, double analytic,
                           const McEstimate& e, double z) {
  const double err = std::abs(analytic - e.mean) / e.se;
  CheckRow r = make_row(id, claim, "monte carlo", analytic, e.mean, err, z);
  // A zero SE means the sampler is not random, an infinite one that the interval is the whole
  // line: neither is evidence.
  if (!(e.se > 0) || !std::isfinite(e.se)) r.pass = false;
  std::ostringstream d;
  d << "interval mean +- " << fmt(z, 3) << " SE = [" << fmt(e.mean - z * e.se, 10) << ", "
    << fmt(e.mean + z * e.se, 10) << "], SE " << fmt(e.se, 3) << ", n = " << e.n << ", seed "
    << e.seed << ", false-failure rate " << fmt(false_failure_rate(z), 2)
    << "; error is |analytic - mean| in standard errors";
  r.detail = d.str();
  return r;
}

CheckRow check_monte_carlo(const std::string& id, const std::string& claim, const VecD& analytic,
                           const McVecEstimate& e, double alpha) {
  const int m = int(analytic.size());
  const double z = z_for_false_failure_rate(alpha, m);
  if (e.mean.size() != analytic.size()) {
    CheckRow r = make_row(id, claim, "monte carlo", NAN, NAN, INFINITY, z);
    r.detail = "size mismatch between the analytic vector and the estimate";
    return r;
  }
  Index worst = 0;
  const VecD errs = ((analytic - e.mean).cwiseAbs().array() / e.se.array()).matrix();
  // Eigen's maxCoeff may skip a NaN entry: a non-finite entry anywhere is the worst one.
  const bool finite = analytic.allFinite() && e.mean.allFinite() && e.se.allFinite() && errs.allFinite();
  if (!finite) {
    for (Index k = 0; k < errs.size(); ++k)
      if (!std::isfinite(errs(k)) || !std::isfinite(analytic(k)) || !std::isfinite(e.mean(k))) { worst = k; break; }
  }
  const double err = finite ? errs.maxCoeff(&worst) : NAN;
  CheckRow r = make_row(id, claim, "monte carlo", analytic(worst), e.mean(worst), err, z);
  if (!(e.se.minCoeff() > 0)) r.pass = false;
  std::ostringstream d;
  d << m << " entries, Bonferroni z = " << fmt(z, 4) << " (false-failure rate " << fmt(alpha, 2)
    << " for the row); worst entry " << worst << ": interval [" << fmt(e.mean(worst) - z * e.se(worst), 10)
    << ", " << fmt(e.mean(worst) + z * e.se(worst), 10) << "], n = " << e.n << ", seed " << e.seed;
  r.detail = d.str();
  return r;
}

// ---------------------------------------------------------------------------------------------

const CheckRow& CheckTable::add(CheckRow row) {
  row.pass = row.passed();  // a hand-built row with a non-finite side fails here too
  rows_.push_back(std::move(row));
  return rows_.back();
}

bool CheckTable::all_pass() const { return failures() == 0; }

int CheckTable::failures() const {
  return int(std::count_if(rows_.begin(), rows_.end(), [](const CheckRow& r) { return !r.pass; }));
}

void CheckTable::print(std::ostream& os, const std::string& title) const {
  title_ = title;
  std::size_t claim_w = 5;
  for (const auto& r : rows_) claim_w = std::max(claim_w, std::min<std::size_t>(r.claim.size(), 58));
  const std::size_t width = 7 + claim_w + 2 + 17 * 2 + 11 * 2 + 8;
  os << "\n" << title << "\n" << std::string(width, '=') << "\n";
  os << std::left << std::setw(7) << "eq" << std::setw(int(claim_w) + 2) << "claim" << std::right
     << std::setw(17) << "analytic" << std::setw(17) << "numeric" << std::setw(11) << "error"
     << std::setw(11) << "tol" << "  verdict\n" << std::string(width, '-') << "\n";
  for (const auto& r : rows_) {
    std::string claim = r.claim.size() > claim_w ? r.claim.substr(0, claim_w - 3) + "..." : r.claim;
    os << std::left << std::setw(7) << r.id << std::setw(int(claim_w) + 2) << claim << std::right
       << std::setw(17) << fmt(r.analytic, 10) << std::setw(17) << fmt(r.numeric, 10) << std::setw(11)
       << fmt(r.error, 3) << std::setw(11) << fmt(r.tolerance, 3) << "  " << (r.pass ? "PASS" : "FAIL")
       << "\n";
  }
  os << std::string(width, '-') << "\n"
     << rows_.size() - std::size_t(failures()) << " of " << rows_.size() << " checks pass"
     << " (identity: relative error; gradient: worst relative error vs central differences;"
     << " monte carlo: error in standard errors; bound: analytic is the side claimed smaller, numeric"
     << " the side claimed larger, error their difference)\n";
  for (const auto& r : rows_)
    if (!r.pass) os << "\nFAILED " << r.report() << "\n";
}

}  // namespace course
