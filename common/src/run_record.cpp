#include "course/run_record.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "course/check.hpp"

namespace course {
namespace {

struct Metric {
  double value;
  int decimals;
};

struct RunState {
  std::string command;
  bool quick = false;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::map<std::string, Metric> metrics;
};

RunState& state() {
  static RunState s;
  return s;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

// JSON has no NaN or infinity: they are written as null (and the row's verdict says FAIL).
std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

std::string fixed(double x, int decimals) { return format_fixed(x, decimals); }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void record_metric(const std::string& name, double value, int decimals) {
  state().metrics[name] = Metric{value, decimals};
}

void start_run_record(int argc, char** argv, bool quick) {
  RunState& s = state();
  s.command.clear();
  for (int i = 0; i < argc; ++i) s.command += (i ? " " : "") + std::string(argv[i]);
  s.quick = quick;
  s.start = std::chrono::steady_clock::now();
}

bool write_run_record(const std::filesystem::path& dir, const std::vector<const CheckTable*>& tables,
                      const std::vector<std::filesystem::path>& figures,
                      const std::vector<std::filesystem::path>& failed_figures) {
  const RunState& s = state();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.start).count();
  std::ostringstream js;
  js << "{\n  \"command\": " << json_string(s.command) << ",\n  \"quick\": " << (s.quick ? "true" : "false")
     << ",\n  \"finished\": " << json_string(utc_now()) << ",\n  \"seconds\": " << json_number(seconds)
     << ",\n  \"tables\": [";
  for (std::size_t t = 0; t < tables.size(); ++t) {
    js << (t ? "," : "") << "\n    {\"title\": " << json_string(tables[t]->title()) << ", \"rows\": [";
    const auto& rows = tables[t]->rows();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const CheckRow& r = rows[i];
      js << (i ? "," : "") << "\n      {\"id\": " << json_string(r.id) << ", \"claim\": " << json_string(r.claim)
         << ", \"kind\": " << json_string(r.kind) << ", \"analytic\": " << json_number(r.analytic)
         << ", \"numeric\": " << json_number(r.numeric) << ", \"error\": " << json_number(r.error)
         << ", \"tolerance\": " << json_number(r.tolerance) << ", \"pass\": " << (r.pass ? "true" : "false")
         << ", \"detail\": " << json_string(r.detail) << "}";
    }
    js << "\n    ]}";
  }
  js << "\n  ],\n  \"metrics\": {";
  bool first = true;
  std::map<std::string, Metric> metrics = s.metrics;
  metrics.emplace("wall_seconds", Metric{seconds, 0});
  for (const auto& [name, m] : metrics) {
    js << (first ? "" : ",") << "\n    " << json_string(name) << ": {\"value\": " << json_number(m.value)
       << ", \"text\": " << json_string(fixed(m.value, m.decimals)) << "}";
    first = false;
  }
  auto names = [&](const std::vector<std::filesystem::path>& files) {
    std::string out;
    for (std::size_t i = 0; i < files.size(); ++i) out += (i ? ", " : "") + json_string(files[i].filename().string());
    return out;
  };
  js << "\n  },\n  \"figures\": [" << names(figures) << "],\n  \"failed_figures\": [" << names(failed_figures)
     << "]\n}\n";
  const std::filesystem::path file = dir / "run.json";
  std::ofstream f(file);
  f << js.str();
  f.close();
  if (!f) {
    std::cerr << "warning: cannot write " << file.string() << " (the course book will not show this run)\n";
    return false;
  }
  return true;
}

}  // namespace course
