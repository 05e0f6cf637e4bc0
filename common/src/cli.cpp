#include "course/cli.hpp"

#include <unistd.h>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "course/error.hpp"
#include "course/run_record.hpp"
#include "course/rng.hpp"

namespace course {
namespace po = boost::program_options;

ChapterCli::ChapterCli(std::string chapter, std::string title)
    : chapter_(std::move(chapter)), title_(std::move(title)), chapter_opts_("Chapter options") {}

CommonOptions ChapterCli::parse(int argc, char** argv) {
  CommonOptions o;
  o.chapter = chapter_;
  po::options_description common("Common options");
  common.add_options()
    ("help,h", "print this help and exit")
    ("seed", po::value<std::uint64_t>(&o.seed)->default_value(o.seed), "random seed (every result is reproducible)")
    ("threads", po::value<int>(&o.threads)->default_value(0), "OpenMP and Eigen threads (0: all cores)")
    ("data", po::value<std::string>(&o.data), "directory of IDX files (default: $COURSE_DATA, then /usr/share/datasets/fashion-mnist)")
    ("out", po::value<std::string>(&o.out)->default_value(o.out), "figures go to OUT/chNN/")
    ("epochs", po::value<int>(&o.epochs), "training epochs (default: the chapter's)")
    ("quick", po::bool_switch(&o.quick), "a run of seconds on small data (what the tests run)")
    ("no-plots", "write no figures")
    ("pdf", po::bool_switch(&o.pdf), "also write each figure as PDF")
    ("svg", po::bool_switch(&o.svg), "also write each figure as SVG");
  po::options_description all;
  all.add(common).add(chapter_opts_);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm_);
    po::notify(vm_);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (see --help)");
  }
  if (vm_.count("help")) {
    std::cout << "Chapter " << chapter_ << ": " << title_ << "\n\nUsage: " << argv[0] << " [options]\n\n"
              << all << "\n";
    std::exit(0);
  }
  o.plots = vm_.count("no-plots") == 0;
  if (o.threads < 0) throw InputError("--threads must be >= 0 (0 uses every core), not " + std::to_string(o.threads));
  if (vm_.count("epochs") && o.epochs < 0) throw InputError("--epochs must be >= 0, not " + std::to_string(o.epochs));
  set_threads(o.threads);
  start_run_record(argc, argv, o.quick);
  return o;
}

int run_chapter(const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputError& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << "\n";
    return exit_code::bad_input;
  } catch (const NotImplemented& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << " (fill it in, then run ./course check)\n";
    return exit_code::not_implemented;
  } catch (const TrainingDiverged& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << "\n";
    return exit_code::check_failed;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << "\n";
    return exit_code::check_failed;
  }
}

// ---------------------------------------------------------------------------------------------

Progress::Progress(std::ostream& os, std::string what, long epochs, long batches)
    : os_(os), what_(std::move(what)), epochs_(epochs), batches_(batches),
      tty_(&os == &std::cout && ::isatty(STDOUT_FILENO)),
      start_(std::chrono::steady_clock::now()), epoch_start_(start_) {}

void Progress::batch(long b, double loss) {
  running_ += loss;
  ++seen_;
  if (!tty_ || batches_ <= 0) return;
  const int width = 30;
  const int filled = int(width * (b + 1) / batches_);
  const std::streamsize precision = os_.precision();  // restored below: the caller's stream
  os_ << "\r  " << what_ << " [" << std::string(std::size_t(filled), '#') << std::string(std::size_t(width - filled), '.')
      << "] " << b + 1 << "/" << batches_ << " loss " << std::setprecision(5) << running_ / double(seen_) << "   "
      << std::setprecision(int(precision)) << std::flush;
}

void Progress::epoch(long e, const std::string& metrics) {
  const auto now = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(now - epoch_start_).count();
  epoch_start_ = now;
  if (tty_) os_ << "\r" << std::string(80, ' ') << "\r";
  const std::streamsize precision = os_.precision();  // restored below: the caller's stream
  os_ << "  " << what_ << " epoch " << e + 1 << "/" << epochs_ << "  " << metrics << "  (" << std::fixed
      << std::setprecision(1) << secs << " s)" << std::defaultfloat << std::setprecision(int(precision)) << "\n" << std::flush;
  running_ = 0.0;
  seen_ = 0;
}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace course
