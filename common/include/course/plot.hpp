// Lecture figures through gnuplot (gnuplot-iostream drives it). A figure `name` of chapter NN
// always writes <out>/chNN/name.gp and name.dat, a stand-alone gnuplot script and its data, so a
// lecturer can restyle it:  cd <out>/chNN && gnuplot name.gp  (or gnuplot -e "term='pdf'" name.gp).
// When gnuplot is installed and plots are on, it also renders name.png (and .pdf / .svg when asked).
#pragma once

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "course/types.hpp"

namespace course::plot {

// One data series of a panel.
struct Series {
  enum class Kind {
    Lines,        // columns x, y
    Points,       // columns x, y
    LinesPoints,  // columns x, y
    Band,         // columns x, ylow, yhigh: a shaded band (a confidence interval)
    Vectors,      // columns x, y, dx, dy: arrows
    Boxes,        // columns x, height: a histogram
    ErrorBars,    // columns x, y, yerr
    Image,        // columns x, y, value on a regular grid: a heat map
  };
  Kind kind = Kind::Lines;
  std::string title;                         // legend entry ("" = none)
  std::vector<std::vector<double>> columns;  // each column has the same length
  std::string style;                         // extra gnuplot style, e.g. "dt 2 lw 2 lc rgb '#444444'"
};

Series lines(std::string title, std::vector<double> x, std::vector<double> y, std::string style = "");
Series points(std::string title, std::vector<double> x, std::vector<double> y, std::string style = "");
Series band(std::string title, std::vector<double> x, std::vector<double> lo, std::vector<double> hi,
            std::string style = "");
// A horizontal reference line y = value over [x0, x1].
Series hline(std::string title, double value, double x0, double x1, std::string style = "dt 2 lw 2");
// One point series per class of a 2 x n point set, titled by class name (a coloured scatter).
std::vector<Series> scatter_by_label(const MatD& points, const std::vector<int>& labels,
                                     const std::vector<std::string>& names, std::string style = "pt 7 ps 0.4");

struct Panel {
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  std::optional<std::pair<double, double>> xrange, yrange;
  bool square = false;         // equal scale on both axes
  std::string key = "top right";  // gnuplot key position, "off" for none
  std::vector<Series> series;
  std::vector<std::string> extra;  // further gnuplot commands for this panel (labels, palette)
};

// A figure: one or more panels side by side (or in `layout_rows` rows).
struct Figure {
  std::string title;
  std::vector<Panel> panels;
  int layout_rows = 1;
  int width = 900, height = 600;  // pixels of the PNG
};

// A grid of grey images: rows of equally sized images, each a column vector of h * w values in
// [0, 1] (row-major pixels); an optional label left of each row.
struct Montage {
  std::string title;
  Index image_rows = 28, image_cols = 28;
  std::vector<std::vector<VecD>> rows;
  std::vector<std::string> row_labels;
  // Scale each image to its own [min, max] (for filters and principal directions, whose values are
  // not intensities), with 0 shown as mid-grey when `symmetric`.
  bool normalise_each = false;
  bool symmetric = false;
  // With `symmetric`: the quantile of |value| in each image shown as full black / white (1: the
  // largest; 0.98 clips the 2% largest magnitudes, so a few extreme weights do not grey the rest).
  double clip_quantile = 1.0;
  int pixel_scale = 3;  // PNG pixels per image pixel
};

// The first `count` columns of M (images, one per column) as a row of a Montage.
inline std::vector<VecD> columns(const MatD& M, Index count) {
  std::vector<VecD> out;
  for (Index j = 0; j < std::min(count, M.cols()); ++j) out.push_back(M.col(j));
  return out;
}

// Writes figures for one chapter into <out>/chNN/.
class Figures {
 public:
  // `render` = false (--no-plots) writes nothing at all; formats add "pdf" and/or "svg" to "png".
  Figures(std::filesystem::path out_root, std::string chapter, bool render,
          std::vector<std::string> extra_formats = {});

  void draw(const std::string& name, const Figure& figure);
  void draw(const std::string& name, const Montage& montage);

  // The files written so far (PNG when rendered, otherwise the .gp scripts).
  const std::vector<std::filesystem::path>& written() const { return written_; }
  // The scripts gnuplot reported an error in (their figures are not drawn, or only in part).
  const std::vector<std::filesystem::path>& failed() const { return failed_; }
  const std::filesystem::path& dir() const { return dir_; }
  bool enabled() const { return render_; }

 private:
  void render(const std::string& name);
  std::filesystem::path dir_;
  bool render_;
  std::vector<std::string> formats_;
  std::vector<std::filesystem::path> written_;
  std::vector<std::filesystem::path> failed_;
};

// True when a gnuplot executable is on PATH (checked once).
bool gnuplot_available();

}  // namespace course::plot
