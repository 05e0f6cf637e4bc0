// Figures: a stand-alone gnuplot script (name.gp) and its data (name.dat), rendered by gnuplot
// through gnuplot-iostream's pipe.
#include "course/plot.hpp"

#include <gnuplot-iostream.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "course/error.hpp"

namespace course::plot {
namespace fs = std::filesystem;

Series lines(std::string title, std::vector<double> x, std::vector<double> y, std::string style) {
  return {Series::Kind::Lines, std::move(title), {std::move(x), std::move(y)}, std::move(style)};
}
Series points(std::string title, std::vector<double> x, std::vector<double> y, std::string style) {
  return {Series::Kind::Points, std::move(title), {std::move(x), std::move(y)}, std::move(style)};
}
Series band(std::string title, std::vector<double> x, std::vector<double> lo, std::vector<double> hi,
            std::string style) {
  return {Series::Kind::Band, std::move(title), {std::move(x), std::move(lo), std::move(hi)}, std::move(style)};
}
Series hline(std::string title, double value, double x0, double x1, std::string style) {
  return lines(std::move(title), {x0, x1}, {value, value}, std::move(style));
}
std::vector<Series> scatter_by_label(const MatD& pts, const std::vector<int>& labels,
                                     const std::vector<std::string>& names, std::string style) {
  int classes = 0;
  for (int l : labels) classes = std::max(classes, l + 1);
  // gnuplot's default line colours repeat after 8, so 10 classes need their own palette (tab10).
  static const char* const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  std::vector<Series> out;
  for (int c = 0; c < classes; ++c) {
    const std::string colour = c < 10 ? std::string(" lc rgb '") + palette[c] + "'" : " lc " + std::to_string(c + 1);
    Series s{Series::Kind::Points, c < int(names.size()) ? names[std::size_t(c)] : std::to_string(c), {{}, {}},
             style + colour};
    for (Index i = 0; i < pts.cols(); ++i)
      if (labels[std::size_t(i)] == c) {
        s.columns[0].push_back(pts(0, i));
        s.columns[1].push_back(pts(1, i));
      }
    if (!s.columns[0].empty()) out.push_back(std::move(s));
  }
  return out;
}

bool gnuplot_available() {
  static const bool found = [] {
    const char* path = std::getenv("PATH");
    if (!path) return false;
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (!dir.empty() && ::access((fs::path(dir) / "gnuplot").c_str(), X_OK) == 0) return true;
    return false;
  }();
  return found;
}

namespace {

bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
// The length of the UTF-8 character starting at s[i] (1 for ASCII).
std::size_t utf8_length(const std::string& s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return std::min(n, s.size() - i);
}

// The lecture's symbols in a label: Greek letter names (whole words: "beta", "sigma^2",
// "lambda_j", not "alphabet") become the letters in UTF-8, and "+-", "->", "<=", ">=" become
// ± → ≤ ≥.
std::string lecture_symbols(const std::string& s) {
  static const std::pair<const char*, const char*> words[] = {
      {"alpha", "α"}, {"beta", "β"}, {"gamma", "γ"}, {"delta", "δ"}, {"epsilon", "ε"}, {"zeta", "ζ"},
      {"eta", "η"}, {"theta", "θ"}, {"kappa", "κ"}, {"lambda", "λ"}, {"mu", "μ"}, {"nu", "ν"},
      {"xi", "ξ"}, {"pi", "π"}, {"rho", "ρ"}, {"sigma", "σ"}, {"tau", "τ"}, {"phi", "φ"},
      {"chi", "χ"}, {"psi", "ψ"}, {"omega", "ω"}, {"Gamma", "Γ"}, {"Delta", "Δ"}, {"Theta", "Θ"},
      {"Lambda", "Λ"}, {"Sigma", "Σ"}, {"Phi", "Φ"}, {"Psi", "Ψ"}, {"Omega", "Ω"},
      {"+-", "±"}, {"->", "→"}, {"<=", "≤"}, {">=", "≥"}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    for (const auto& [from, to] : words) {
      const std::size_t n = std::strlen(from);
      const bool word = is_letter(from[0]);
      if (s.compare(i, n, from) != 0) continue;
      if (word && ((i > 0 && is_letter(s[i - 1])) || (i + n < s.size() && is_letter(s[i + n])))) continue;
      out += to;
      i += n;
      replaced = true;
      break;
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

// The operand of a sub- or superscript whose '_' or '^' is at s[i - 1], as its length from i, or
// 0 when the '_' or '^' is a literal character: the operand is a {group}, a number (after '^' also
// a negative one), or a single letter (ASCII or Greek) that no letter or digit follows. So
// "sigma^2", "z_1", "L_k", "lambda_j", "x_{t+1}" are scripts, and "kl_diag" or "log_var" are not.
std::size_t script_operand(const std::string& s, std::size_t i) {
  if (i >= s.size()) return 0;
  if (s[i] == '{') {
    const std::size_t close = s.find('}', i);
    return close == std::string::npos ? 0 : close - i + 1;
  }
  std::size_t j = i;
  if (s[i - 1] == '^' && s[j] == '-') ++j;
  if (j < s.size() && is_digit(s[j])) {
    while (j < s.size() && (is_digit(s[j]) || (s[j] == '.' && j + 1 < s.size() && is_digit(s[j + 1])))) ++j;
    return j - i;
  }
  if (j != i) return 0;
  const std::size_t n = utf8_length(s, i);
  const bool letter = n > 1 || is_letter(s[i]);
  const std::size_t after = i + n;
  if (!letter || (after < s.size() && (is_letter(s[after]) || is_digit(s[after]) ||
                                       static_cast<unsigned char>(s[after]) >= 0x80)))
    return 0;
  return n;
}

// A label as a gnuplot string literal in double quotes, for enhanced text with the lecture's
// symbols (lecture_symbols): sub- and superscripts as above, every other enhanced-text special
// character literal.
std::string quote(const std::string& label) {
  const std::string s = lecture_symbols(label);
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if ((c == '_' || c == '^') && script_operand(s, i + 1) > 0) {
      const std::size_t n = script_operand(s, i + 1);
      std::string operand = s.substr(i + 1, n);
      if (operand.front() != '{') operand = "{" + operand + "}";
      out += c;
      for (char o : operand) {
        if (o == '"' || o == '\\') out += '\\';
        if (o == '~' || o == '@' || o == '&') out += "\\\\";  // literal inside a script too ("E_{z ~ q}")
        out += o;
      }
      i += n;
      continue;
    }
    if (c == '\n') {  // a line break in a title
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    if (c == '_' || c == '^' || c == '{' || c == '}' || c == '@' || c == '&' || c == '~') out += "\\\\";
    out += c;
  }
  return out + "\"";
}

std::string header(const std::string& name, const std::string& title, int w, int h) {
  std::ostringstream g;
  std::string comment = title.empty() ? name : title;
  std::replace(comment.begin(), comment.end(), '\n', ' ');
  g << "# " << comment << "\n"
    << "# Written by the course; restyle freely. Render with:  gnuplot " << name << ".gp\n"
    << "#   other formats:  gnuplot -e \"term='pdf'\" " << name << ".gp   (or term='svg')\n"
    << "if (!exists(\"term\")) term = 'png'\n"
    << "set encoding utf8  # labels carry the lecture's Greek letters\n"
    << "if (term eq 'png') { set terminal pngcairo size " << w << "," << h
    << " enhanced font 'Sans,11'; set output '" << name << ".png' }\n"
    << "if (term eq 'pdf') { set terminal pdfcairo size " << w / 100.0 << "in," << h / 100.0
    << "in enhanced font 'Sans,9'; set output '" << name << ".pdf' }\n"
    << "if (term eq 'svg') { set terminal svg size " << w << "," << h
    << " enhanced font 'Sans,11' background rgb 'white'; set output '" << name << ".svg' }\n";
  return g.str();
}

std::string num(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Inf" : "-Inf";
  std::ostringstream s;
  s << std::setprecision(9) << x;
  return s.str();
}

void open_for_writing(std::ofstream& f, const fs::path& p) {
  f.open(p);
  if (!f) throw InputError(p.string() + ": cannot write (check --out)");
}

}  // namespace

Figures::Figures(fs::path out_root, std::string chapter, bool render, std::vector<std::string> extra)
    : dir_(std::move(out_root) / ("ch" + chapter)), render_(render), formats_{"png"} {
  for (auto& f : extra) formats_.push_back(f);
  if (!render_) return;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw InputError(dir_.string() + ": cannot create the figure directory (" + ec.message() + ")");
  if (!gnuplot_available())
    std::cerr << "warning: gnuplot not found; writing gnuplot scripts and data only (install gnuplot-nox)\n";
}

void Figures::draw(const std::string& name, const Figure& fig) {
  if (!render_) return;
  std::ofstream dat, gp;
  open_for_writing(dat, dir_ / (name + ".dat"));
  open_for_writing(gp, dir_ / (name + ".gp"));
  gp << header(name, fig.title, fig.width, fig.height);
  const int cols = int((fig.panels.size() + std::size_t(fig.layout_rows) - 1) / std::size_t(fig.layout_rows));
  const bool multi = fig.panels.size() > 1;
  if (multi)
    gp << "set multiplot layout " << fig.layout_rows << "," << cols
       << (fig.title.empty() ? "" : " title " + quote(fig.title) + " font ',13'") << "\n";
  int block = 0;
  for (const Panel& p : fig.panels) {
    gp << "\nreset\nset grid lc rgb '#dddddd'\nset border lc rgb '#444444'\n"
       << "set style fill transparent solid 0.25 noborder\n";
    std::string title = p.title.empty() && !multi ? fig.title : p.title;
    if (!title.empty()) gp << "set title " << quote(title) << "\n";
    if (!p.xlabel.empty()) gp << "set xlabel " << quote(p.xlabel) << "\n";
    if (!p.ylabel.empty()) gp << "set ylabel " << quote(p.ylabel) << "\n";
    if (p.logx) gp << "set logscale x\nset format x '10^{%L}'\n";
    if (p.logy) gp << "set logscale y\nset format y '10^{%L}'\n";
    if (p.xrange) gp << "set xrange [" << num(p.xrange->first) << ":" << num(p.xrange->second) << "]\n";
    if (p.yrange) gp << "set yrange [" << num(p.yrange->first) << ":" << num(p.yrange->second) << "]\n";
    if (p.square) gp << "set size ratio -1\n";
    gp << (p.key == "off" ? "unset key\n" : "set key " + p.key + " opaque box lc rgb '#cccccc'\n");
    for (const auto& e : p.extra) gp << e << "\n";
    std::vector<std::string> clauses;
    for (const Series& s : p.series) {
      // The data block of this series.
      const std::size_t rows = s.columns.empty() ? 0 : s.columns[0].size();
      dat << "# block " << block << ": " << (s.title.empty() ? "(untitled)" : s.title) << "\n";
      double last_y = NAN;
      for (std::size_t i = 0; i < rows; ++i) {
        // A heat map needs a blank line between scan lines (each time y changes).
        if (s.kind == Series::Kind::Image && i > 0 && s.columns[1][i] != last_y) dat << "\n";
        if (s.kind == Series::Kind::Image) last_y = s.columns[1][i];
        for (std::size_t c = 0; c < s.columns.size(); ++c) dat << (c ? " " : "") << num(s.columns[c][i]);
        dat << "\n";
      }
      if (rows == 0) dat << "NaN NaN NaN NaN\n";
      dat << "\n\n";
      std::string using_, with;
      switch (s.kind) {
        case Series::Kind::Lines: using_ = "1:2"; with = s.style.find("lw") == std::string::npos ? "lines lw 2" : "lines"; break;
        case Series::Kind::Points: using_ = "1:2"; with = "points"; break;
        case Series::Kind::LinesPoints: using_ = "1:2"; with = s.style.find("lw") == std::string::npos ? "linespoints lw 2 pt 7 ps 0.8" : "linespoints pt 7 ps 0.8"; break;
        case Series::Kind::Band: using_ = "1:2:3"; with = "filledcurves"; break;
        case Series::Kind::Vectors: using_ = "1:2:3:4"; with = "vectors head size 0.06,20 filled"; break;
        case Series::Kind::Boxes: using_ = "1:2"; with = "boxes fs solid 0.6"; break;
        case Series::Kind::ErrorBars: using_ = "1:2:3"; with = s.style.find("pt ") == std::string::npos ? "yerrorbars pt 7 ps 0.6" : "yerrorbars"; break;
        case Series::Kind::Image: using_ = "1:2:3"; with = "image"; break;
      }
      clauses.push_back("'" + name + ".dat' index " + std::to_string(block) + " using " + using_ + " with " +
                        with + (s.style.empty() ? "" : " " + s.style) +
                        (s.title.empty() ? " notitle" : " title " + quote(s.title)));
      ++block;
    }
    gp << "plot ";
    for (std::size_t i = 0; i < clauses.size(); ++i) gp << (i ? ", \\\n     " : "") << clauses[i];
    gp << "\n";
  }
  if (multi) gp << "unset multiplot\n";
  gp << "unset output\n";
  gp.close();
  dat.close();
  render(name);
}

void Figures::draw(const std::string& name, const Montage& m) {
  if (!render_) return;
  const Index h = m.image_rows, w = m.image_cols, gap = 2;
  Index ncols = 0;
  for (const auto& r : m.rows) ncols = std::max<Index>(ncols, Index(r.size()));
  const Index H = Index(m.rows.size()) * (h + gap) - gap, W = ncols * (w + gap) - gap;
  if (H <= 0 || W <= 0) return;
  MatD canvas = MatD::Constant(H, W, 1.0);  // white gaps between the images
  for (std::size_t r = 0; r < m.rows.size(); ++r)
    for (std::size_t c = 0; c < m.rows[r].size(); ++c) {
      VecD img = m.rows[r][c];
      if (img.size() != h * w) throw std::invalid_argument("montage " + name + ": an image has the wrong size");
      if (m.normalise_each) {
        if (m.symmetric) {
          // The clip_quantile quantile of |value| maps to black and white; beyond it, clipped.
          std::vector<double> mag(img.data(), img.data() + img.size());
          for (double& v : mag) v = std::abs(v);
          const std::size_t q = std::min(mag.size() - 1, std::size_t(m.clip_quantile * double(mag.size() - 1) + 0.5));
          std::nth_element(mag.begin(), mag.begin() + std::ptrdiff_t(q), mag.end());
          const double a = std::max(mag[q], 1e-300);
          img = (img.array() / (2 * a) + 0.5).cwiseMax(0.0).cwiseMin(1.0).matrix();
        } else {
          const double lo = img.minCoeff(), hi = img.maxCoeff();
          img = ((img.array() - lo) / std::max(hi - lo, 1e-300)).matrix();
        }
      }
      for (Index i = 0; i < h; ++i)
        for (Index j = 0; j < w; ++j)
          canvas(Index(r) * (h + gap) + i, Index(c) * (w + gap) + j) = std::clamp(img(i * w + j), 0.0, 1.0);
    }
  std::ofstream dat, gp;
  open_for_writing(dat, dir_ / (name + ".dat"));
  open_for_writing(gp, dir_ / (name + ".gp"));
  for (Index i = 0; i < H; ++i) {
    for (Index j = 0; j < W; ++j) dat << (j ? " " : "") << num(std::round(canvas(i, j) * 1000) / 1000);
    dat << "\n";
  }
  const bool labels = !m.row_labels.empty();
  const int title_lines = m.title.empty() ? 0 : 1 + int(std::count(m.title.begin(), m.title.end(), '\n'));
  const int left = labels ? 150 : 10, top = title_lines == 0 ? 10 : 22 + 18 * title_lines;
  const int pw = int(W) * m.pixel_scale, ph = int(H) * m.pixel_scale;
  const int width = pw + left + 10, height = ph + top + 10;
  gp << header(name, m.title, width, height)
     << "unset border\nunset tics\nunset key\nunset colorbox\nset palette gray\nset cbrange [0:1]\n"
     << "set lmargin at screen " << double(left) / width << "\nset rmargin at screen " << 1.0 - 10.0 / width
     << "\nset tmargin at screen " << 1.0 - double(top) / height << "\nset bmargin at screen " << 10.0 / height
     << "\nset xrange [-0.5:" << W - 0.5 << "]\nset yrange [" << H - 0.5 << ":-0.5]\n";
  if (!m.title.empty()) gp << "set title " << quote(m.title) << " font ',12'\n";
  for (std::size_t r = 0; r < m.row_labels.size(); ++r)
    gp << "set label " << r + 1 << " " << quote(m.row_labels[r]) << " at -2," << double(r) * double(h + gap) + h / 2.0
       << " right font ',10'\n";
  gp << "plot '" << name << ".dat' matrix with image\nunset output\n";
  gp.close();
  dat.close();
  render(name);
}

// gnuplot's own report of an error in a script: the offending line echoed, a caret, then
//   "name.gp" line 33: duplicate or conflicting arguments in style specification
// Lines of that form that say "warning:" are not errors.
static std::string first_gnuplot_error(const std::string& text, const std::string& script) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find("\"" + script + "\" line ") != std::string::npos && line.find("warning:") == std::string::npos) {
      const auto start = line.find_first_not_of(' ');
      return start == std::string::npos ? line : line.substr(start);
    }
  return "";
}

void Figures::render(const std::string& name) {
  if (!gnuplot_available()) {
    written_.push_back(dir_ / (name + ".gp"));
    return;
  }
  // gnuplot's messages go to a file beside the script, read back below: a script error must not
  // pass for a drawn figure (in a multiplot, gnuplot stops at the first bad panel).
  const fs::path log = dir_ / ("." + name + ".gnuplot-messages");
  {
    Gnuplot gp("gnuplot 2> '" + log.string() + "'");
    gp << "cd '" << dir_.string() << "'\n";
    for (const auto& f : formats_) gp << "term = '" << f << "'\nload '" << name << ".gp'\n";
  }  // the destructor closes the pipe and waits for gnuplot to finish
  std::ifstream in(log);
  std::stringstream messages;
  messages << in.rdbuf();
  in.close();
  fs::remove(log);
  const std::string error = first_gnuplot_error(messages.str(), name + ".gp");
  if (!error.empty()) {
    failed_.push_back(dir_ / (name + ".gp"));
    std::cerr << "warning: figure " << (dir_ / name).string() << " was not drawn: gnuplot: " << error << "\n";
    return;
  }
  for (const auto& f : formats_) written_.push_back(dir_ / (name + "." + f));
}

}  // namespace course::plot
