// Command-line handling shared by every chapter program (Boost.Program_options), the mapping of
// errors to one-line messages and exit codes, and the training progress display.
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace course {

// The options every chapter program accepts.
struct CommonOptions {
  std::uint64_t seed = 1;
  int threads = 0;           // 0: all cores
  std::string data;          // --data DIR ("" = $COURSE_DATA, then the Debian path)
  std::string out = "figures";
  int epochs = -1;           // -1: the chapter's default
  bool quick = false;        // a run of seconds (used by the tests)
  bool plots = true;         // false with --no-plots
  bool pdf = false, svg = false;
  std::string chapter;       // "01"
  // The chapter's default epochs, or --epochs when given.
  int epochs_or(int chapter_default) const { return epochs >= 0 ? epochs : chapter_default; }
};

// Exit codes of a chapter program.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int check_failed = 1;   // a derivation check failed, or training diverged
inline constexpr int bad_input = 2;      // a bad flag or data file
inline constexpr int not_implemented = 3;  // an exercise is still a stub
}  // namespace exit_code

class ChapterCli {
 public:
  // chapter: "01"; title: one line for --help.
  ChapterCli(std::string chapter, std::string title);
  // The chapter's own options go here before parse().
  boost::program_options::options_description& chapter_options() { return chapter_opts_; }
  // Parses argv; prints --help and exits 0; throws InputError for a bad flag or value.
  // Applies --threads to OpenMP and Eigen.
  CommonOptions parse(int argc, char** argv);
  const boost::program_options::variables_map& vm() const { return vm_; }

 private:
  std::string chapter_, title_;
  boost::program_options::options_description chapter_opts_;
  boost::program_options::variables_map vm_;
};

// Runs a chapter's body and maps what escapes it to one line on stderr and an exit code:
// InputError and bad options -> 2, NotImplemented -> 3, TrainingDiverged -> 1, other -> 1.
int run_chapter(const std::function<int()>& body);

// Training progress: a bar redrawn in place on a terminal, one line per epoch otherwise.
class Progress {
 public:
  Progress(std::ostream& os, std::string what, long epochs, long batches_per_epoch);
  // After batch `batch` (0-based) of the current epoch, with its loss.
  void batch(long batch, double loss);
  // At the end of epoch `epoch` (0-based): prints the epoch's line with `metrics`.
  void epoch(long epoch, const std::string& metrics);
  double seconds() const;

 private:
  std::ostream& os_;
  std::string what_;
  long epochs_, batches_;
  bool tty_;
  double running_ = 0.0;
  long seen_ = 0;
  std::chrono::steady_clock::time_point start_, epoch_start_;
};

// Wall-clock seconds since construction.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace course
