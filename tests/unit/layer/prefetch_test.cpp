#include "cbuild/layer/prefetch.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "cbuild/layer/writer.hpp"
#include "unit/layer/layer_test_support.hpp"

using namespace cbuild;
using namespace cbuild::layer;
using namespace cbuild::layer::test;

namespace {

/// Written, synced and dropped from the page cache (a disk file: /var/tmp, not tmpfs).
void write_evicted(const fs::path& path, const std::string& data) {
  write_text(path, data);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd);
  REQUIRE(::fsync(fd.get()) == 0);
  REQUIRE(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED) == 0);
}

/// Whether the first byte of `path` is in the page cache; nullopt when the filesystem
/// cannot tell (no RWF_NOWAIT for buffered reads).
std::optional<bool> cached(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char byte;
  iovec iov{&byte, 1};
  if (::preadv2(fd.get(), &iov, 1, 0, RWF_NOWAIT) == 1) return true;
  if (errno == EAGAIN) return false;
  return std::nullopt;
}

std::string pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 7);
  return s;
}

}  // namespace

TEST_CASE("prefetch: a read out of the page cache turns read-ahead on, and queued files get read", "[prefetch]") {
  TempDir tmp = TempDir::create("prefetch-", "/var/tmp").value();
  write_evicted(tmp.path() / "first", pattern(300 << 10, 'a'));
  for (char c : {'b', 'c', 'd'}) write_evicted(tmp.path() / std::string(1, c), pattern(64 << 10, c));
  auto state = cached(tmp.path() / "first");
  if (!state) {
    WARN("this filesystem has no RWF_NOWAIT reads: nothing to check");
    return;
  }
  REQUIRE_FALSE(*state);

  Prefetcher prefetcher;
  UniqueFd fd(::open((tmp.path() / "first").c_str(), O_RDONLY | O_CLOEXEC));
  std::string got(300 << 10, '\0');
  size_t done = 0;
  while (done < got.size()) {
    ssize_t n = prefetcher.read_maybe_cold(fd.get(), got.data() + done, got.size() - done);
    REQUIRE(n > 0);
    done += static_cast<size_t>(n);
  }
  CHECK(got == pattern(300 << 10, 'a'));  // the data, whether or not it waited
  CHECK(prefetcher.cold());

  UniqueFd dir(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  prefetcher.add(dir.get(), {"b", "c", "d", "missing"});
  dir.reset();  // the prefetcher keeps its own descriptor
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(*cached(tmp.path() / "d") && *cached(tmp.path() / "b")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(*cached(tmp.path() / "b"));
  CHECK(*cached(tmp.path() / "d"));

  // check(): the same for a reader that copies without reading (copy_file_range).
  write_evicted(tmp.path() / "e", pattern(8 << 10, 'e'));
  Prefetcher other;
  UniqueFd warm(::open((tmp.path() / "b").c_str(), O_RDONLY | O_CLOEXEC));
  other.check(warm.get());
  CHECK_FALSE(other.cold());
  UniqueFd cold(::open((tmp.path() / "e").c_str(), O_RDONLY | O_CLOEXEC));
  other.check(cold.get());
  CHECK(other.cold());
}

TEST_CASE("prefetch: a layer of an evicted tree has the diffID of the cached tree", "[prefetch][writer]") {
  TempDir tmp = TempDir::create("prefetch-", "/var/tmp").value();
  fs::path root = tmp.path() / "tree";
  for (int d = 0; d < 4; ++d)
    for (int f = 0; f < 50; ++f)
      write_text(root / fmt::format("d{}/f{:02}", d, f), pattern(static_cast<size_t>(1000 + f * 300), static_cast<char>(d + f)));
  set_all_mtimes(root, 1600000000);
  auto warm = layer_diff_id(root, WriteOptions{}).value();
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    UniqueFd fd(::open(e.path().c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(::fsync(fd.get()) == 0);
    REQUIRE(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED) == 0);
  }
  auto cold = layer_diff_id(root, WriteOptions{}).value();
  CHECK(cold.diff_id == warm.diff_id);
  CHECK(cold.tar_size == warm.tar_size);
  CHECK(cold.entries == warm.entries);
}

TEST_CASE("prefetch: a hand-over batch's files are opened once, by the read-ahead thread", "[prefetch]") {
  TempDir tmp = TempDir::create("prefetch-", "/var/tmp").value();
  std::vector<std::string> names;
  for (char c : {'a', 'b', 'c'}) {
    names.emplace_back(1, c);
    write_text(tmp.path() / names.back(), pattern(4096, c));
  }
  UniqueFd dir(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(dir);
  Prefetcher prefetcher;
  size_t plain = prefetcher.add(dir.get(), names);
  size_t batch = prefetcher.add(dir.get(), names, true);
  CHECK(batch == plain + 1);
  // Wait until the thread holds all three open (a take before would open nothing).
  auto held = [&] {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      auto target = fs::read_symlink(e.path(), ec);
      n += !ec && target.parent_path() == tmp.path();
    }
    return n;
  };
  for (int tries = 0; tries < 2500 && held() < names.size(); ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  REQUIRE(held() == names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    int fd = prefetcher.take(batch, i);
    REQUIRE(fd >= 0);
    UniqueFd owned(fd);
    struct stat got {}, want {};
    REQUIRE(::fstat(fd, &got) == 0);
    REQUIRE(::stat((tmp.path() / names[i]).c_str(), &want) == 0);
    CHECK(got.st_ino == want.st_ino);
    char buf[4096];
    CHECK(::read(fd, buf, sizeof buf) == 4096);
    CHECK(std::string(buf, 4096) == pattern(4096, names[i][0]));
    CHECK(prefetcher.take(batch, i) == -1);  // once
  }
  CHECK(prefetcher.take(plain, 0) == -1);  // not handed over
  CHECK(prefetcher.take(batch + 1, 0) == -1);
  CHECK(prefetcher.take(batch, names.size()) == -1);
}
