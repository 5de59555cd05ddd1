// Layer benchmark program (driven by layer_bench.sh; prints figures, asserts nothing).
//   layer_bench make DIR MB      create a mixed tree of about MB megabytes in DIR
//   layer_bench commit DIR       diffID only (the local store commit path)
//   layer_bench gzip DIR [LEVEL] write a gzip layer to /dev/null, all cores
//   layer_bench zstd DIR [LEVEL] write a zstd layer to /dev/null, all cores
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cbuild/layer/writer.hpp"

using namespace cbuild;
using namespace cbuild::layer;

namespace {

/// xorshift64*: fast reproducible pseudo-random data.
struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
};

constexpr const char* k_words[] = {"layer",    "image",   "build",     "cache",  "step",   "the",    "of",
                                   "snapshot", "digest",  "config",    "return", "static", "int",    "void",
                                   "struct",   "include", "namespace", "0x1f",   "{",      "}",      "(",
                                   ")",        ";",       "\n",        "    ",   "error",  "status", "value"};

std::string compressible(Rng& rng, size_t size) {
  std::string out;
  out.reserve(size + 16);
  while (out.size() < size) {
    out += k_words[rng.next() % (sizeof k_words / sizeof *k_words)];
    out += ' ';
  }
  out.resize(size);
  return out;
}

std::string random_bytes(Rng& rng, size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = rng.next();
    memcpy(out.data() + i, &v, 8);
  }
  return out;
}

bool put(const std::string& path, const std::string& data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  return fd && write_all(fd.get(), data).ok();
}

/// ~1/5 of the bytes in small files (1-16 KiB, in 100 directories), the rest in 16 MiB
/// files, half compressible text, half random.
int make_tree(const std::string& dir, uint64_t mb) {
  Rng rng{0x9e3779b97f4a7c15ull};
  uint64_t total = mb << 20, small_budget = total / 5, written = 0;
  int files = 0;
  for (int d = 0; written < small_budget; ++d) {
    std::string sub = dir + "/small/d" + std::to_string(d % 100);
    if (d < 100 && !make_dirs(sub).ok()) return 1;
    size_t size = 1024 + rng.next() % (15 * 1024);
    std::string data = (rng.next() % 3) ? compressible(rng, size) : random_bytes(rng, size);
    if (!put(sub + "/f" + std::to_string(files++), data)) return 1;
    written += size;
  }
  if (!make_dirs(dir + "/large").ok()) return 1;
  for (int i = 0; written < total; ++i) {
    size_t size = std::min<uint64_t>(16 << 20, total - written);
    std::string data = i % 2 ? random_bytes(rng, size) : compressible(rng, size);
    if (!put(dir + "/large/blob" + std::to_string(i), data)) return 1;
    written += size;
    ++files;
  }
  printf("tree: %d files, %.1f MB\n", files, static_cast<double>(written) / 1e6);
  return 0;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

int run(const char* what, const std::string& dir, Compression c, int level) {
  WriteOptions opts;
  opts.compression = {c, level, 0};
  double cpu_start = cpu_seconds();
  auto start = std::chrono::steady_clock::now();
  Result<LayerDigests> r = make_error("unset");
  if (c == Compression::none) {
    r = layer_diff_id(dir, opts);
  } else {
    UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    FdSink sink(null.get());
    r = write_layer(dir, opts, sink);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!r.ok()) {
    fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  double cpu = cpu_seconds() - cpu_start;
  double mb = static_cast<double>(r->tar_size) / 1e6;
  printf("%-34s %8.1f MB in %6.2f s = %7.1f MB/s  (cpu %5.2f s)", what, mb, secs, mb / secs, cpu);
  if (c != Compression::none)
    printf("   -> %7.1f MB (%.1f%%)", static_cast<double>(r->blob_size) / 1e6,
           100.0 * static_cast<double>(r->blob_size) / static_cast<double>(r->tar_size));
  printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: layer_bench make DIR MB | commit DIR | gzip DIR [LEVEL] | zstd DIR [LEVEL]\n");
    return 2;
  }
  std::string mode = argv[1], dir = argv[2];
  int level = argc > 3 ? atoi(argv[3]) : 0;
  if (mode == "make") return make_tree(dir, argc > 3 ? strtoull(argv[3], nullptr, 10) : 512);
  if (mode == "commit") return run("cbuild commit (diffID only)", dir, Compression::none, 0);
  if (mode == "gzip") return run("cbuild gzip export (all cores)", dir, Compression::gzip, level);
  if (mode == "zstd") return run("cbuild zstd export (all cores)", dir, Compression::zstd, level);
  fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
