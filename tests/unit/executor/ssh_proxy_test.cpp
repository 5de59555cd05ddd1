#include "executor/ssh_proxy.hpp"

#include "cbuild/util/fs.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <thread>

using namespace cbuild;

namespace {
int unix_socket(const fs::path& path, bool listen) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  if (listen) {
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
  } else {
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  return fd;
}
}  // namespace

TEST_CASE("ssh proxy relays both ways to the agent socket") {
  TempDir dir = TempDir::create("cbuild-proxy-").value();
  int agent = unix_socket(dir.path() / "agent", true);
  std::thread server([agent] {
    int c = ::accept(agent, nullptr, nullptr);
    char buf[16] = {};
    ssize_t n = ::read(c, buf, sizeof buf);
    std::string reply = "re:" + std::string(buf, static_cast<size_t>(n > 0 ? n : 0));
    (void)::write(c, reply.data(), reply.size());
    ::close(c);
  });
  auto proxy = executor::SshProxy::start(dir.path() / "proxy", dir.path() / "agent");
  REQUIRE(proxy.ok());
  int client = unix_socket(dir.path() / "proxy", false);
  REQUIRE(::write(client, "ping", 4) == 4);
  std::string got;
  char buf[16];
  ssize_t n;
  while ((n = ::read(client, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  CHECK(got == "re:ping");
  ::close(client);
  server.join();
  ::close(agent);
}
