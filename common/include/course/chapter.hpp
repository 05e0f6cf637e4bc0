// What every chapter program does at its start and end, in one place.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "course/check.hpp"
#include "course/cli.hpp"
#include "course/plot.hpp"
#include "course/run_record.hpp"

namespace course {

// The figure writer for a chapter's options: --out, --no-plots, --pdf, --svg.
inline plot::Figures make_figures(const CommonOptions& opt) {
  std::vector<std::string> formats;
  if (opt.pdf) formats.push_back("pdf");
  if (opt.svg) formats.push_back("svg");
  return plot::Figures(opt.out, opt.chapter, opt.plots, formats);
}

// Lists the figures written, reports failed checks and figures gnuplot could not draw, writes the
// run record <out>/chNN/run.json (tables, metrics, figures; when figures are on), and returns the program's exit code: exit_code::check_failed when any check of any table failed
// or any figure's script has an error.
inline int finish_chapter(const plot::Figures& figs, const std::vector<const CheckTable*>& tables,
                          std::ostream& os = std::cout) {
  if (figs.enabled()) write_run_record(figs.dir(), tables, figs.written(), figs.failed());
  if (!figs.written().empty()) {
    os << "\nFigures written:\n";
    for (const auto& f : figs.written()) os << "  " << f.string() << "\n";
  }
  if (!figs.failed().empty()) {
    os << "\n" << figs.failed().size() << " figure(s) NOT drawn (gnuplot reported an error in the script):\n";
    for (const auto& f : figs.failed()) os << "  " << f.string() << "\n";
  }
  int failed = 0;
  for (const CheckTable* t : tables) failed += t->failures();
  if (failed) os << "\n" << failed << " check(s) FAILED\n";
  return failed || !figs.failed().empty() ? exit_code::check_failed : exit_code::ok;
}

}  // namespace course
