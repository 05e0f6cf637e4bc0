// IDX reading (raw and gzip), its error messages, the sprites and toy sets, minibatches.
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "check_test.hpp"
#include "course/data.hpp"
#include "course/error.hpp"

using namespace course;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("course-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() { static int c = 0; return c; }
};

void put_u32(std::string& s, std::uint32_t v) {
  for (int k = 3; k >= 0; --k) s.push_back(char((v >> (8 * k)) & 0xff));
}

std::string idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, std::uint32_t magic = 0x803) {
  std::string s;
  put_u32(s, magic);
  put_u32(s, n);
  put_u32(s, rows);
  put_u32(s, cols);
  for (std::uint32_t i = 0; i < n * rows * cols; ++i) s.push_back(char(i % 251));
  return s;
}
std::string idx_labels(std::uint32_t n) {
  std::string s;
  put_u32(s, 0x801);
  put_u32(s, n);
  for (std::uint32_t i = 0; i < n; ++i) s.push_back(char(i % 10));
  return s;
}
void write(const fs::path& p, const std::string& bytes, bool gz = false) {
  std::ofstream f(p, std::ios::binary);
  if (!gz) {
    f << bytes;
    return;
  }
  boost::iostreams::filtering_ostream out;
  out.push(boost::iostreams::gzip_compressor());
  out.push(f);
  out << bytes;
}

// The InputError message of read_idx, or "" when it succeeds.
std::string error_of(const fs::path& images, const fs::path& labels) {
  try {
    read_idx(images, labels);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(data)

BOOST_AUTO_TEST_CASE(idx_reads_raw_and_gzip_files_alike) {
  TempDir t;
  write(t.path / "i", idx_images(5, 3, 4));
  write(t.path / "l", idx_labels(5));
  write(t.path / "i.gz", idx_images(5, 3, 4), true);
  write(t.path / "l.gz", idx_labels(5), true);
  const ImageSet raw = read_idx(t.path / "i", t.path / "l");
  const ImageSet gz = read_idx(t.path / "i.gz", t.path / "l.gz");
  BOOST_TEST(raw.size() == 5);
  BOOST_TEST(raw.rows == 3);
  BOOST_TEST(raw.cols == 4);
  BOOST_TEST(raw.pixels == gz.pixels);
  BOOST_TEST(raw.labels == gz.labels);
  BOOST_TEST(int(raw.labels[3]) == 3);
  const MatF x = raw.range<float>(1, 2);
  BOOST_TEST(x.rows() == 12);
  BOOST_TEST(x(0, 0) == 12.0f / 255.0f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(bad_idx_files_give_one_clear_message_naming_the_file) {
  TempDir t;
  write(t.path / "labels", idx_labels(5));
  write(t.path / "magic", idx_images(5, 3, 4, 0x801));
  BOOST_TEST(error_of(t.path / "magic", t.path / "labels").find("magic: not an IDX image file (magic number 0x00000801") != std::string::npos);

  std::string good = idx_images(5, 3, 4);
  write(t.path / "truncated", good.substr(0, good.size() - 7));
  BOOST_TEST(error_of(t.path / "truncated", t.path / "labels").find("truncated: expected 60 bytes of pixel data, found 53") != std::string::npos);
  write(t.path / "truncated.gz", good.substr(0, good.size() - 7), true);
  BOOST_TEST(error_of(t.path / "truncated.gz", t.path / "labels").find("truncated") != std::string::npos);
  write(t.path / "header", good.substr(0, 6));
  BOOST_TEST(error_of(t.path / "header", t.path / "labels").find("bytes of header") != std::string::npos);

  // A lying header on a short file: an error, not a 16 GB allocation.
  write(t.path / "huge", idx_images(0, 1, 1).substr(0, 4) + std::string("\xff\xff\xff\xf0\x00\x00\x00\x1c\x00\x00\x00\x1c", 12));
  BOOST_TEST(error_of(t.path / "huge", t.path / "labels").find("absurd image count") != std::string::npos);
  write(t.path / "wide", idx_images(1, 1, 100000));
  BOOST_TEST(error_of(t.path / "wide", t.path / "labels").find("absurd image size 1x100000") != std::string::npos);

  write(t.path / "six", idx_images(6, 3, 4));
  BOOST_TEST(error_of(t.path / "six", t.path / "labels").find("holds 5 labels but six holds 6 images") != std::string::npos);

  BOOST_TEST(error_of(t.path / "absent", t.path / "labels").find("absent: file not found") != std::string::npos);

  std::string corrupt = "\x1f\x8b garbage that is not deflate data at all";
  write(t.path / "corrupt.gz", corrupt);
  BOOST_TEST(error_of(t.path / "corrupt.gz", t.path / "labels").find("corrupt.gz:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_data_directory_without_idx_files_is_an_error_not_a_silent_fallback) {
  TempDir t;
  std::ostringstream log;
  BOOST_CHECK_EXCEPTION(load_image_data((t.path / "nope").string(), log), InputError,
                        [](const InputError& e) { return std::string(e.what()).find("no such directory") != std::string::npos; });
  BOOST_CHECK_EXCEPTION(load_image_data(t.path.string(), log), InputError,
                        [](const InputError& e) { return std::string(e.what()).find("missing train-images") != std::string::npos; });
}

BOOST_AUTO_TEST_CASE(a_directory_of_idx_files_loads_both_splits) {
  TempDir t;
  write(t.path / "train-images-idx3-ubyte.gz", idx_images(7, 28, 28), true);
  write(t.path / "train-labels-idx1-ubyte.gz", idx_labels(7), true);
  write(t.path / "t10k-images.idx3-ubyte", idx_images(3, 28, 28));  // MNIST's dotted spelling
  write(t.path / "t10k-labels.idx1-ubyte", idx_labels(3));
  std::ostringstream log;
  const TrainTest tt = load_image_data(t.path.string(), log);
  BOOST_TEST(tt.real);
  BOOST_TEST(tt.train.size() == 7);
  BOOST_TEST(tt.test.size() == 3);
  BOOST_TEST(tt.train.name == "MNIST");
}

BOOST_AUTO_TEST_CASE(sprites_are_deterministic_with_factors_in_range) {
  const ImageSet a = make_sprites(300, 3), b = make_sprites(300, 3);
  BOOST_TEST(a.pixels == b.pixels);
  BOOST_TEST(a.factors.cols() == 5);
  BOOST_TEST(a.factors.col(0).minCoeff() == 0.0);
  BOOST_TEST(a.factors.col(0).maxCoeff() == 2.0);
  BOOST_TEST(a.factors.col(1).minCoeff() >= 0.5);
  BOOST_TEST(a.factors.col(1).maxCoeff() <= 1.0);
  // Every sprite draws something, and a bigger sprite covers more pixels.
  std::uint8_t small[784], big[784];
  render_sprite(0, 0.5, 0, 0, 0, small);
  render_sprite(0, 1.0, 0, 0, 0, big);
  long s = 0, g = 0;
  for (int i = 0; i < 784; ++i) { s += small[i]; g += big[i]; }
  BOOST_TEST(s > 0);
  BOOST_TEST(double(g) / double(s) > 3.5);  // area ratio (1 / 0.5)^2 = 4, up to edge pixels
}

BOOST_AUTO_TEST_CASE(mixture_score_is_the_gradient_of_its_log_density) {
  const GaussianMixture2D g = GaussianMixture2D::ring(5, 2.0, 0.1);
  for (double s : {0.0, 0.05}) {
    VecD x(2);
    x << 0.7, -0.4;
    const Eigen::Vector2d sc = g.score(Eigen::Vector2d(x), s);
    COURSE_CHECK(check_gradient("data", "score = grad log p",
                                [&](const VecD& y) { return g.log_density(Eigen::Vector2d(y), s); }, x, VecD(sc)));
  }
  Rng rng(1);
  std::vector<int> labels;
  const MatD X = g.sample(1000, rng, &labels);
  BOOST_TEST(X.cols() == 1000);
  BOOST_TEST(std::set<int>(labels.begin(), labels.end()).size() == 5u);
}

BOOST_AUTO_TEST_CASE(minibatches_cover_every_index_once) {
  Rng rng(2);
  Minibatches mb(103, 10, rng);
  BOOST_TEST(mb.count() == 11);
  BOOST_TEST(mb.size(10) == 3);
  std::set<Index> seen;
  for (Index k = 0; k < mb.count(); ++k)
    for (Index j = 0; j < mb.size(k); ++j) seen.insert(mb.indices(k)[j]);
  BOOST_TEST(seen.size() == 103u);
}

BOOST_AUTO_TEST_SUITE_END()
