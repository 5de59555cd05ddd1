// Per-RUN-step overhead: N trivial steps (`/bin/sh -c true`), each a fresh container on a new
// root (overlay: new upperdir over the chain so far) followed by a commit (diffID) — what a
// Dockerfile with N `RUN true` lines costs cbuild without cache. Prints ms/step, split into
// prepare, run and commit. Usage: step_bench [STEPS] [overlay|native]
#include "cbuild/executor/container.hpp"
#include "cbuild/executor/userns.hpp"
#include "cbuild/layer/writer.hpp"
#include "cbuild/snapshot/snapshotter.hpp"
#include "cbuild/util/fs.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>

using namespace cbuild;
using Clock = std::chrono::steady_clock;

namespace {

// CPU seconds used by this process and its waited-for children.
double cpu_seconds() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    struct rusage ru {};
    ::getrusage(who, &ru);
    total += ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  return total;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// A minimal base layer: busybox with sh and true.
Result<Digest> make_base(const fs::path& dir) {
  std::string busybox = TRY(read_file("/bin/busybox"));
  fs::path root = dir / "root";
  TRY(make_dirs(root));
  TRY(executor::own_for_container(root));
  auto r = executor::run_in_userns([&]() -> Result<std::string> {
    TRY(make_dirs(root / "bin"));
    TRY(make_dirs(root / "etc"));
    TRY(write_file_atomic(root / "bin/busybox", busybox, 0755));
    for (const char* applet : {"sh", "true"})
      if (::symlink("busybox", (root / "bin" / applet).c_str()) != 0) return errno_error("symlink");
    TRY(write_file_atomic(root / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"));
    UniqueFd fd(::open((dir / "base.tar").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    layer::FdSink sink(fd.get());
    return TRY(layer::write_layer(root, {}, sink)).diff_id.str();
  });
  if (!r) return std::move(r).error();
  return Digest::parse(*r);
}

Status bench(int steps, snapshot::Kind kind) {
  const executor::IdMap& map = executor::host_id_map();
  if (!map.warning.empty()) fmt::print(stderr, "{}\n", map.warning);
  TempDir dir = TRY(TempDir::create("cbuild-step-bench-"));
  if (::chmod(dir.path().c_str(), 0711) != 0) return errno_error("chmod");
  TRY(executor::own_for_container(dir.path()));
  Digest base_diff = TRY(make_base(dir.path()));
  auto store = TRY(store::Store::open(dir.path() / "store"));
  snapshot::Snapshotter snap(store, kind);
  std::string parent = TRY(snap.unpack("", dir.path() / "base.tar", base_diff));

  double prepare_ms = 0, run_ms = 0, commit_ms = 0, run_cpu = 0, commit_cpu = 0;
  auto start = Clock::now();
  double cpu_start = cpu_seconds();
  for (int i = 0; i < steps; ++i) {
    auto t0 = Clock::now();
    snapshot::Active active = TRY(snap.prepare(parent));
    auto t1 = Clock::now();
    double c1 = cpu_seconds();
    executor::ExecSpec spec;
    spec.rootfs = active.rootfs();
    spec.args = {"/bin/sh", "-c", "true"};
    spec.on_output = [](executor::Stream, std::string_view d) { fmt::print("{}", d); };
    auto result = TRY(executor::run_container(spec));
    if (result.exit_code != 0) return make_error("step {} exited {}", i, result.exit_code);
    auto t2 = Clock::now();
    double c2 = cpu_seconds();
    auto record = TRY(snap.commit(active, result.created));
    parent = record.id;
    prepare_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    run_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    commit_ms += ms_since(t2);
    run_cpu += (c2 - c1) * 1000;
    commit_cpu += (cpu_seconds() - c2) * 1000;
  }
  double total = ms_since(start);
  double cpu = (cpu_seconds() - cpu_start) * 1000;
  fmt::print("{} steps, {} snapshotter, uid {}{}: {:.1f} ms/step wall (prepare {:.1f}, run {:.1f}, "
             "commit {:.1f}), {:.1f} ms/step CPU (run {:.1f}, commit {:.1f}); load {}",
             steps, snapshot::kind_name(kind), ::geteuid(), map.use_helpers ? " (subordinate ids)" : "",
             total / steps, prepare_ms / steps, run_ms / steps, commit_ms / steps, cpu / steps,
             run_cpu / steps, commit_cpu / steps, read_file("/proc/loadavg").value_or("?\n"));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  int steps = argc > 1 ? std::atoi(argv[1]) : 40;
  auto kind = snapshot::parse_kind(argc > 2 ? argv[2] : "overlay");
  if (!kind || !kind->has_value() || steps <= 0) {
    fmt::print(stderr, "usage: step_bench [STEPS] [overlay|native]\n");
    return 2;
  }
  Status s = bench(steps, **kind);
  if (!s) {
    fmt::print(stderr, "step_bench: {}\n", s.error().message);
    return 1;
  }
  return 0;
}
