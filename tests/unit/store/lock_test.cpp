#include "cbuild/store/lock.hpp"

#include "store_fixture.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;
using namespace std::chrono_literals;

TEST_CASE("shared locks coexist, exclusive excludes", "[lock]") {
  StoreDir dir;
  fs::create_directories(dir.root());
  fs::path path = dir.root() / "x.lock";
  auto s1 = must(FileLock::acquire(path, LockMode::shared));
  auto s2 = must(FileLock::try_acquire(path, LockMode::shared));
  CHECK(s2.has_value());
  CHECK_FALSE(must(FileLock::try_acquire(path, LockMode::exclusive)).has_value());
  auto timed = FileLock::acquire(path, LockMode::exclusive, 30ms);
  REQUIRE_FALSE(timed.ok());
  CHECK_THAT(timed.error().message, Catch::Contains("timed out after 30 ms"));
  s1.release();
  s2.reset();
  auto ex = must(FileLock::try_acquire(path, LockMode::exclusive));
  REQUIRE(ex.has_value());
  CHECK(ex->held());
  CHECK(ex->mode() == LockMode::exclusive);
  CHECK_FALSE(must(FileLock::try_acquire(path, LockMode::shared)).has_value());
}

TEST_CASE("a blocking acquire waits until the holder releases", "[lock]") {
  StoreDir dir;
  fs::create_directories(dir.root());
  fs::path path = dir.root() / "y.lock";
  auto held = must(FileLock::acquire(path, LockMode::exclusive));
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto lock = FileLock::acquire(path, LockMode::exclusive, 5000ms);
    got = lock.ok();
  });
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(got.load());
  held.release();
  waiter.join();
  CHECK(got.load());
}

TEST_CASE("a lock held by a killed process is free again", "[lock]") {
  StoreDir dir;
  fs::create_directories(dir.root());
  fs::path path = dir.root() / "z.lock";
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    auto lock = FileLock::acquire(path, LockMode::exclusive);
    char c = lock.ok() ? '1' : '0';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  REQUIRE(c == '1');
  CHECK_FALSE(must(FileLock::try_acquire(path, LockMode::shared)).has_value());
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  CHECK(must(FileLock::try_acquire(path, LockMode::exclusive)).has_value());
  ::close(ready[0]);
  ::close(ready[1]);
}
