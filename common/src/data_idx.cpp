// IDX files (LeCun's format for MNIST, also used by Fashion-MNIST), raw or gzip-compressed.
//   images: magic 0x00000803, then n, rows, cols (big-endian uint32), then n*rows*cols bytes
//   labels: magic 0x00000801, then n, then n bytes
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <cstdlib>
#include <fstream>
#include <ostream>

#include "course/data.hpp"
#include "course/error.hpp"

namespace course {
namespace fs = std::filesystem;
namespace io = boost::iostreams;
namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr std::uint32_t kMaxSide = 4096;          // no IDX image set in use is larger
constexpr std::uint64_t kMaxBytes = 1ULL << 32;   // 4 GiB of pixels: beyond is surely garbage

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  throw InputError(file.string() + ": " + what);
}

// Reads a whole (possibly gzip-compressed) file through one stream interface.
class IdxStream {
 public:
  explicit IdxStream(const fs::path& file) : file_(file), raw_(file, std::ios::binary) {
    if (!fs::exists(file)) fail(file, "file not found");
    if (!raw_) fail(file, "cannot be opened for reading");
    unsigned char m[2] = {0, 0};
    raw_.read(reinterpret_cast<char*>(m), 2);
    raw_.clear();
    raw_.seekg(0);
    if (m[0] == 0x1f && m[1] == 0x8b) in_.push(io::gzip_decompressor());
    in_.push(raw_);
  }
  // Reads exactly n bytes; `what` names what was being read for the error message.
  void read(char* dst, std::uint64_t n, const std::string& what) {
    std::uint64_t got = 0;
    try {
      while (got < n) {
        in_.read(dst + got, std::streamsize(n - got));
        const auto c = in_.gcount();
        if (c <= 0) break;
        got += std::uint64_t(c);
      }
    } catch (const io::gzip_error& e) {
      fail(file_, std::string("corrupt gzip data (") + e.what() + ")");
    } catch (const std::ios_base::failure& e) {
      fail(file_, std::string("read error (") + e.what() + ")");
    }
    if (got < n)
      fail(file_, "truncated: expected " + std::to_string(n) + " bytes of " + what + ", found " +
                      std::to_string(got));
  }
  std::uint32_t u32(const std::string& what) {
    unsigned char b[4];
    read(reinterpret_cast<char*>(b), 4, what);
    return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
  }

 private:
  fs::path file_;
  std::ifstream raw_;
  io::filtering_istream in_;
};

std::string hex(std::uint32_t x) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", x);
  return buf;
}

}  // namespace

ImageSet read_idx(const fs::path& images, const fs::path& labels) {
  ImageSet set;
  {
    IdxStream in(images);
    const std::uint32_t magic = in.u32("header");
    if (magic != kImagesMagic)
      fail(images, "not an IDX image file (magic number " + hex(magic) + ", expected " + hex(kImagesMagic) + ")");
    const std::uint32_t n = in.u32("header"), rows = in.u32("header"), cols = in.u32("header");
    if (rows == 0 || cols == 0 || rows > kMaxSide || cols > kMaxSide)
      fail(images, "absurd image size " + std::to_string(rows) + "x" + std::to_string(cols));
    const std::uint64_t bytes = std::uint64_t(n) * rows * cols;
    if (n == 0 || bytes > kMaxBytes)
      fail(images, "absurd image count " + std::to_string(n) + " of " + std::to_string(rows) + "x" +
                       std::to_string(cols));
    // Grow the buffer as data arrives, so a lying header on a short file never allocates its size.
    const std::uint64_t step = std::uint64_t(rows) * cols * 4096;
    for (std::uint64_t done = 0; done < bytes;) {
      const std::uint64_t next = std::min(bytes, done + step);
      set.pixels.resize(next);
      in.read(reinterpret_cast<char*>(set.pixels.data() + done), next - done, "pixel data");
      done = next;
    }
    set.rows = rows;
    set.cols = cols;
  }
  {
    IdxStream in(labels);
    const std::uint32_t magic = in.u32("header");
    if (magic != kLabelsMagic)
      fail(labels, "not an IDX label file (magic number " + hex(magic) + ", expected " + hex(kLabelsMagic) + ")");
    const std::uint32_t n = in.u32("header");
    if (Index(n) != set.size())
      fail(labels, "holds " + std::to_string(n) + " labels but " + images.filename().string() + " holds " +
                       std::to_string(set.size()) + " images");
    set.labels.resize(n);
    in.read(reinterpret_cast<char*>(set.labels.data()), n, "labels");
  }
  int max_label = 0;
  for (auto l : set.labels) max_label = std::max<int>(max_label, l);
  for (int c = 0; c <= max_label; ++c) set.class_names.push_back(std::to_string(c));
  set.name = "IDX";
  return set;
}

ImageSet ImageSet::head(Index n) const {
  ImageSet s;
  n = std::min(n, size());
  s.name = name;
  s.rows = rows;
  s.cols = cols;
  s.pixels.assign(pixels.begin(), pixels.begin() + n * dim());
  if (!labels.empty()) s.labels.assign(labels.begin(), labels.begin() + n);
  s.class_names = class_names;
  if (factors.rows() > 0) s.factors = factors.topRows(n);
  s.factor_names = factor_names;
  return s;
}

namespace {

const char* kDebianDir = "/usr/share/datasets/fashion-mnist";

// The file of `stem` in dir: "stem-idx3-ubyte", "stem.idx3-ubyte" (some MNIST copies), or either
// with .gz; "" when none exists.
fs::path find_file(const fs::path& dir, const std::string& stem, const std::string& kind) {
  for (const char* sep : {"-", "."})
    for (const char* ext : {"", ".gz"}) {
      fs::path p = dir / (stem + sep + kind + "-ubyte" + std::string(ext));
      if (fs::exists(p)) return p;
    }
  return {};
}

bool has_idx_files(const fs::path& dir) {
  return !find_file(dir, "train-images", "idx3").empty() && !find_file(dir, "t10k-images", "idx3").empty();
}

}  // namespace

std::string find_image_data(const std::string& data_dir) {
  if (!data_dir.empty()) return data_dir;
  if (const char* env = std::getenv("COURSE_DATA"); env && *env) return env;
  if (has_idx_files(kDebianDir)) return kDebianDir;
  return "";
}

TrainTest load_image_data(const std::string& data_dir, std::ostream& log, Index fallback_train,
                          Index fallback_test) {
  const std::string dir = find_image_data(data_dir);
  TrainTest tt;
  if (dir.empty()) {
    log << "note: no Fashion-MNIST files found (--data, $COURSE_DATA, " << kDebianDir
        << "); using the built-in sprites dataset instead\n";
    tt.train = make_sprites(fallback_train, 20251);
    tt.test = make_sprites(fallback_test, 20252);
    tt.source = "built-in sprites";
    return tt;
  }
  const std::string origin = !data_dir.empty() ? "--data " : (dir == kDebianDir ? "" : "$COURSE_DATA=");
  if (!fs::is_directory(dir)) throw InputError(origin + dir + ": no such directory");
  auto need = [&](const std::string& stem, const std::string& kind) {
    fs::path p = find_file(dir, stem, kind);
    if (p.empty())
      throw InputError(origin + dir + ": missing " + stem + "-" + kind + "-ubyte[.gz] (an IDX data directory "
                       "holds train-images, train-labels, t10k-images and t10k-labels)");
    return p;
  };
  const fs::path train_images = need("train-images", "idx3"), train_labels = need("train-labels", "idx1");
  const fs::path test_images = need("t10k-images", "idx3"), test_labels = need("t10k-labels", "idx1");
  tt.train = read_idx(train_images, train_labels);
  tt.test = read_idx(test_images, test_labels);
  if (tt.train.rows != tt.test.rows || tt.train.cols != tt.test.cols)
    throw InputError(origin + dir + ": training and test images differ in size");
  // Fashion-MNIST and MNIST share the format; the directory name tells them apart.
  std::string lower = fs::absolute(dir).string();
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool fashion = lower.find("fashion") != std::string::npos;
  for (ImageSet* s : {&tt.train, &tt.test}) {
    s->name = fashion ? "Fashion-MNIST" : "MNIST";
    if (fashion && s->class_names.size() <= 10)
      s->class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  }
  tt.source = dir;
  tt.real = true;
  return tt;
}

}  // namespace course
