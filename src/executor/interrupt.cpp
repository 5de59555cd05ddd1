#include "cbuild/executor/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace cbuild::executor {
namespace {

std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};

void on_signal(int sig) {
  int saved = errno;
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

void install_interrupt_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
  });
}

int interrupt_signal() { return g_signal.load(); }

int interrupt_fd() { return g_pipe[0]; }

}  // namespace cbuild::executor
