// Context checksum benchmark: a 20,000-file / ~200 MB context, timed cold (no stat cache),
// unchanged, touch-only (one file) and one file changed. Prints figures; asserts nothing.
//   context_bench [DIR] [FILES] [TOTAL_MB]
// DIR is created (or reused when it already holds the files) and left in place.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cbuild/context/checksum.hpp"

using namespace cbuild;
using namespace cbuild::context;

namespace {

using Clock = std::chrono::steady_clock;

double cpu_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

[[noreturn]] void die(const Error& e) {
  std::fprintf(stderr, "context_bench: %s\n", e.message.c_str());
  std::exit(1);
}

template <typename T>
T need(Result<T> r) {
  if (!r) die(r.error());
  return std::move(r).value();
}

std::string file_name(int i) { return fmt::format("d{:03}/sub{}/file{:05}.dat", i / 100, (i / 25) % 4, i); }

/// Sizes vary from 2 KB to 18 KB around the mean, deterministic per file.
size_t file_size(int i, size_t mean) { return mean / 5 + (static_cast<size_t>(i) * 7919u) % (mean * 8 / 5); }

void populate(const fs::path& dir, int files, size_t mean) {
  std::string buf;
  for (int i = 0; i < files; ++i) {
    fs::path p = dir / file_name(i);
    fs::create_directories(p.parent_path());
    buf.assign(file_size(i, mean), '\0');
    for (size_t k = 0; k < buf.size(); k += 64) buf[k] = static_cast<char>((i * 31 + k) & 0xff);
    // Plain writes: fsyncing 20,000 files would dominate the preparation.
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) die(errno_error(fmt::format("create `{}`", p.string())));
    if (auto st = write_all(fd.get(), buf); !st) die(st.error());
  }
}

struct Run {
  double cpu_ms = 0, open_ms = 0, scan_ms = 0, select_ms = 0, checksum_ms = 0, prune_ms = 0, total_ms = 0;
  HashStats stats;
  Digest digest;
};

Run run(const fs::path& dir, const fs::path& db) {
  Run r;
  auto t0 = Clock::now();
  double cpu0 = cpu_ms();
  auto cache = need(StatCache::open(db));
  r.open_ms = ms_since(t0);
  auto t = Clock::now();
  auto ctx = need(Context::open(dir));
  r.scan_ms = ms_since(t);
  t = Clock::now();
  SelectOptions opt;
  opt.sources = {"."};
  auto sel = need(select_files(ctx, opt));
  r.select_ms = ms_since(t);
  t = Clock::now();
  ChecksumOptions copt;
  copt.cache = &cache;
  auto sum = need(checksum(ctx, sel, copt, &r.stats));
  r.checksum_ms = ms_since(t);
  t = Clock::now();
  if (auto st = prune_stat_cache(ctx, cache); !st) die(st.error());  // as the builder does after a build
  r.prune_ms = ms_since(t);
  r.total_ms = ms_since(t0);
  r.cpu_ms = cpu_ms() - cpu0;
  r.digest = sum.digest;
  return r;
}

void print(const char* name, const Run& r) {
  std::printf(
      "%-22s %8.1f ms, cpu %7.1f ms (open cache %5.1f, scan %6.1f, select %4.1f, checksum %6.1f, prune %4.1f)  read %5llu "
      "files %8.1f MB, cache hits "
      "%5llu, racy %llu\n",
      name, r.total_ms, r.cpu_ms, r.open_ms, r.scan_ms, r.select_ms, r.checksum_ms, r.prune_ms,
      static_cast<unsigned long long>(r.stats.files_read), r.stats.bytes_read / 1e6,
      static_cast<unsigned long long>(r.stats.cache_hits), static_cast<unsigned long long>(r.stats.racy));
}

/// Waits for the next wall-clock second, so files written before are not racy.
void next_second() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  usleep(static_cast<useconds_t>((1'000'000'000 - ts.tv_nsec) / 1000 + 10'000));
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "cbuild-context-bench";
  int files = argc > 2 ? std::atoi(argv[2]) : 20'000;
  size_t total_mb = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 200;
  size_t mean = total_mb * 1'000'000 / static_cast<size_t>(files);

  auto t = Clock::now();
  if (!fs::exists(dir / file_name(files - 1))) populate(dir, files, mean);
  std::printf("context %s: %d files, ~%zu MB (prepared in %.1f s)\n", dir.c_str(), files, total_mb,
              ms_since(t) / 1000);
  next_second();

  TempDir db_dir = need(TempDir::create("cbuild-context-bench-db-"));
  fs::path db = db_dir.path() / "contexts" / "bench.stat";

  Run cold = run(dir, db);
  print("cold (no stat cache)", cold);
  Run unchanged = run(dir, db);
  print("unchanged", unchanged);

  fs::path victim = dir / file_name(files / 2);
  struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  utimensat(AT_FDCWD, victim.c_str(), times, 0);
  next_second();
  Run touched = run(dir, db);
  print("touch-only (one file)", touched);

  auto content = need(read_file(victim));
  content[0] = static_cast<char>(content[0] + 1);
  if (auto st = write_file_atomic(victim, content); !st) die(st.error());
  next_second();
  Run changed = run(dir, db);
  print("one file changed", changed);
  content[0] = static_cast<char>(content[0] - 1);  // restore, so a rerun starts from the same tree
  if (auto st = write_file_atomic(victim, content); !st) die(st.error());

  std::printf("digests: cold==unchanged %s, touch keeps digest %s, change alters digest %s\n",
              cold.digest == unchanged.digest ? "yes" : "NO", touched.digest == cold.digest ? "yes" : "NO",
              changed.digest != cold.digest ? "yes" : "NO");
  return 0;
}
