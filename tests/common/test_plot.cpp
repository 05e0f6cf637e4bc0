// Figures always leave a stand-alone gnuplot script and its data; with gnuplot, a PNG too.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "check_test.hpp"
#include "course/chapter.hpp"
#include "course/plot.hpp"
#include "course/run_record.hpp"

using namespace course;
using namespace course::plot;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(plot)

BOOST_AUTO_TEST_CASE(a_figure_writes_gp_and_dat_and_renders_png_when_gnuplot_exists) {
  const fs::path out = fs::temp_directory_path() / ("course-plot-" + std::to_string(::getpid()));
  {
    Figures figs(out, "99", true);
    Panel p;
    p.title = "error vs k";
    p.logy = true;
    p.series.push_back(lines("train", {1, 2, 3}, {1.0, 0.1, 0.01}));
    p.series.push_back(hline("bound", 0.05, 1, 3));
    Figure f;
    f.title = "a test figure";
    f.panels = {p, p};
    figs.draw("curve", f);
    Montage m;
    m.image_rows = m.image_cols = 2;
    m.rows = {{VecD::Constant(4, 0.2), VecD::Constant(4, 0.9)}};
    m.row_labels = {"row"};
    figs.draw("grid", m);
  }
  const fs::path dir = out / "ch99";
  BOOST_TEST(fs::exists(dir / "curve.gp"));
  BOOST_TEST(fs::exists(dir / "curve.dat"));
  const std::string gp = slurp(dir / "curve.gp");
  BOOST_TEST(gp.find("set multiplot layout 1,2") != std::string::npos);
  BOOST_TEST(gp.find("set logscale y") != std::string::npos);
  BOOST_TEST(gp.find("'curve.dat' index 3") != std::string::npos);  // 4 series in 2 panels
  BOOST_TEST(slurp(dir / "curve.dat").find("0.01") != std::string::npos);
  BOOST_TEST(slurp(dir / "grid.dat").find("0.2 0.2 1 1 0.9 0.9") != std::string::npos);  // 2 images, a 2-pixel white gap
  if (gnuplot_available()) {
    BOOST_TEST(fs::file_size(dir / "curve.png") > 1000u);
    BOOST_TEST(fs::file_size(dir / "grid.png") > 100u);
  }
  fs::remove_all(out);
}

// Labels carry the lecture's symbols through enhanced text: the Greek letter for its name and real
// sub- and superscripts. Wrong versions this rejects: the label escaped whole (sigma^2 printed
// literally, the old behaviour), and every underscore taken as a subscript (kl_diag_std printed as
// kl with subscripts), and a tilde inside a script left as gnuplot's overprint operator ("E_{z ~ q}"
// drew z and q on top of each other).
BOOST_AUTO_TEST_CASE(labels_show_greek_letters_and_subscripts_in_enhanced_text) {
  const fs::path out = fs::temp_directory_path() / ("course-plot-greek-" + std::to_string(::getpid()));
  {
    Figures figs(out, "99", true);
    Panel p;
    p.title = "KL weight beta, sigma^2 = 1.2, #{lambda_j > beta sigma^2}";
    p.xlabel = "mu_1 +- SE";
    p.ylabel = "kl_diag_std_normal of x_{t+1}, alphabet, 10^-3";
    p.series.push_back(lines("beta annealed 0 -> 1", {1, 2}, {1, 2}));
    p.series.push_back(lines("E_{z ~ Cat(pi)} at x~", {1, 2}, {2, 1}));
    figs.draw("greek", Figure{"", {p}});
  }
  const std::string gp = slurp(out / "ch99" / "greek.gp");
  BOOST_TEST(gp.find("set encoding utf8") != std::string::npos);
  BOOST_TEST(gp.find("\"KL weight β, σ^{2} = 1.2, #\\\\{λ_{j} > β σ^{2}\\\\}\"") != std::string::npos, gp);
  BOOST_TEST(gp.find("\"μ_{1} ± SE\"") != std::string::npos);
  BOOST_TEST(gp.find("kl\\\\_diag\\\\_std\\\\_normal of x_{t+1}, alphabet, 10^{-3}") != std::string::npos);
  BOOST_TEST(gp.find("\"β annealed 0 → 1\"") != std::string::npos);
  BOOST_TEST(gp.find("\"E_{z \\\\~ Cat(π)} at x\\\\~\"") != std::string::npos, gp);
  if (gnuplot_available()) BOOST_TEST(fs::file_size(out / "ch99" / "greek.png") > 1000u);
  fs::remove_all(out);
}

// finish_chapter writes the run record the course book reads: the tables as printed (title, every
// row with its numbers and verdict), the metrics, the figures. A NaN is written as null (JSON has
// no NaN) and a quote in a claim is escaped.
BOOST_AUTO_TEST_CASE(finish_chapter_writes_the_run_record_for_the_book) {
  const fs::path out = fs::temp_directory_path() / ("course-run-record-" + std::to_string(::getpid()));
  {
    char arg0[] = "ch99_test", arg1[] = "--quick";
    char* argv[] = {arg0, arg1};
    start_run_record(2, argv, true);
    Figures figs(out, "99", true);
    Panel p;
    p.series.push_back(lines("", {1, 2}, {1, 2}));
    figs.draw("line", Figure{"", {p}});
    CheckTable table;
    table.add(check_identity("9.1", "a \"quoted\" claim", 1.0, 1.0));
    table.add(check_identity("9.2", "a NaN fails", std::nan(""), 1.0));
    std::ostringstream sink;
    table.print(sink, "Verification of nothing");
    record_metric("test_elbo", -123.456);
    record_metric("units", 13, 0);
    BOOST_TEST(finish_chapter(figs, {&table}, sink) == exit_code::check_failed);
  }
  const std::string js = slurp(out / "ch99" / "run.json");
  BOOST_TEST(js.find("\"command\": \"ch99_test --quick\"") != std::string::npos, js);
  BOOST_TEST(js.find("\"quick\": true") != std::string::npos);
  BOOST_TEST(js.find("\"title\": \"Verification of nothing\"") != std::string::npos);
  BOOST_TEST(js.find("\"claim\": \"a \\\"quoted\\\" claim\"") != std::string::npos);
  BOOST_TEST(js.find("\"analytic\": null") != std::string::npos);
  BOOST_TEST(js.find("\"pass\": false") != std::string::npos);
  BOOST_TEST(js.find("\"test_elbo\": {\"value\": -123.456, \"text\": \"-123.46\"}") != std::string::npos);
  BOOST_TEST(js.find("\"units\": {\"value\": 13, \"text\": \"13\"}") != std::string::npos);
  BOOST_TEST(js.find("\"figures\": [\"line.") != std::string::npos);
  fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(a_script_error_is_reported_and_the_figure_not_listed_as_drawn) {
  if (!gnuplot_available()) return;
  const fs::path out = fs::temp_directory_path() / ("course-plot-bad-" + std::to_string(::getpid()));
  Figures figs(out, "97", true);
  Panel p;
  // Two point types in one style: gnuplot rejects the plot ("duplicate or conflicting arguments").
  p.series.push_back(Series{Series::Kind::ErrorBars, "bad", {{1.0, 2.0, 3.0}, {1.0, 1.0, 1.0}, {0.1, 0.1, 0.1}}, "pt 7 pt 5"});
  Figure f;
  f.panels = {p};
  figs.draw("bad", f);
  p.series[0].style = "lw 2";
  f.panels = {p};
  figs.draw("good", f);
  BOOST_REQUIRE(figs.failed().size() == 1u);
  BOOST_TEST(figs.failed()[0].filename() == "bad.gp");
  BOOST_REQUIRE(figs.written().size() == 1u);
  BOOST_TEST(figs.written()[0].filename() == "good.png");
  BOOST_TEST(!fs::exists(out / "ch97" / ".bad.gnuplot-messages"));
  std::ostringstream os;
  BOOST_TEST(finish_chapter(figs, {}, os) == exit_code::check_failed);
  BOOST_TEST(os.str().find("1 figure(s) NOT drawn") != std::string::npos);
  fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(no_plots_writes_nothing) {
  const fs::path out = fs::temp_directory_path() / ("course-noplot-" + std::to_string(::getpid()));
  Figures figs(out, "98", false);
  figs.draw("x", Figure{});
  BOOST_TEST(!fs::exists(out));
  BOOST_TEST(figs.written().empty());
}

BOOST_AUTO_TEST_SUITE_END()
