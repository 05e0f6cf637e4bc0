// The machine-readable record of one chapter run, which the course book (tools/book.py) reads:
// <out>/chNN/run.json beside the figures, written by finish_chapter() whenever figures are on.
// It holds the command line, whether the run was --quick, the wall time, every verification table
// (the rows the program printed) and the metrics the chapter recorded, so that the numbers a
// doc quotes ({{metric:ch08.test_elbo}} in docs/08-vae.md) come from the run that made the figures.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace course {

class CheckTable;

// Records a number the chapter's doc quotes, under `name` (letters, digits, '_'), shown with
// `decimals` digits after the point. Recording a name again replaces its value.
void record_metric(const std::string& name, double value, int decimals = 2);

// Called by ChapterCli::parse: remembers the command line, --quick and the start time.
void start_run_record(int argc, char** argv, bool quick);

// Writes <dir>/run.json: the run, the tables (titled as they were printed), the metrics and the
// figures written. Returns false (after one warning line on stderr) when the file cannot be written.
bool write_run_record(const std::filesystem::path& dir, const std::vector<const CheckTable*>& tables,
                      const std::vector<std::filesystem::path>& figures,
                      const std::vector<std::filesystem::path>& failed_figures);

}  // namespace course
