// The common flags, bad flags, and the mapping of errors to exit codes.
#include "check_test.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"

using namespace course;

namespace {
CommonOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ChapterCli cli("07", "test");
  return cli.parse(int(argv.size()), argv.data());
}
bool message_has(const std::vector<std::string>& args, const std::string& text) {
  try {
    parse(args);
  } catch (const InputError& e) {
    return std::string(e.what()).find(text) != std::string::npos;
  }
  return false;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(common_options_parse) {
  const CommonOptions o = parse({"--seed", "9", "--quick", "--no-plots", "--epochs", "3", "--out", "x", "--threads", "1"});
  BOOST_TEST(o.seed == 9u);
  BOOST_TEST(o.quick);
  BOOST_TEST(!o.plots);
  BOOST_TEST(o.epochs_or(10) == 3);
  BOOST_TEST(o.out == "x");
  BOOST_TEST(o.chapter == "07");
  BOOST_TEST(parse({}).epochs_or(10) == 10);
}

BOOST_AUTO_TEST_CASE(bad_flags_are_input_errors_that_name_the_flag) {
  BOOST_TEST(message_has({"--bogus"}, "unrecognised option '--bogus'"));
  BOOST_TEST(message_has({"--seed", "abc"}, "seed"));
  BOOST_TEST(message_has({"--threads", "-2"}, "--threads must be >= 0"));
  BOOST_TEST(message_has({"--epochs"}, "epochs"));
}

BOOST_AUTO_TEST_CASE(errors_map_to_exit_codes) {
  BOOST_TEST(run_chapter([] { return 0; }) == exit_code::ok);
  BOOST_TEST(run_chapter([]() -> int { throw InputError("f: bad"); }) == exit_code::bad_input);
  BOOST_TEST(run_chapter([]() -> int { throw NotImplemented("1.1 x"); }) == exit_code::not_implemented);
  BOOST_TEST(run_chapter([]() -> int { throw TrainingDiverged("nan"); }) == exit_code::check_failed);
  BOOST_CHECK_EXCEPTION(require_finite_loss(NAN, 2, 16), TrainingDiverged, [](const TrainingDiverged& e) {
    return std::string(e.what()).find("loss became NaN at epoch 3, batch 17") != std::string::npos;
  });
}

BOOST_AUTO_TEST_SUITE_END()
