#include "ssh_proxy.hpp"

#include "cbuild/util/fs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace cbuild::executor {
namespace {

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path)
    return make_error("socket path `{}` is too long", path.string());
  std::strcpy(addr.sun_path, path.c_str());
  return addr;
}

UniqueFd connect_unix(const std::filesystem::path& path) {
  auto addr = unix_address(path);
  if (!addr) return {};
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) return {};
  return fd;
}

// Copy what is readable from `from` to `to`; false at EOF or error.
bool relay(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  return n > 0 && write_all(to, std::string_view(buf, static_cast<size_t>(n))).ok();
}

}  // namespace

Result<std::unique_ptr<SshProxy>> SshProxy::start(const std::filesystem::path& listen_path,
                                                  const std::filesystem::path& agent_path) {
  sockaddr_un addr = TRY(unix_address(listen_path));
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) return errno_error("create ssh proxy socket");
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 16) != 0)
    return errno_error(fmt::format("listen on `{}`", listen_path.string()));
  int stop[2];
  if (::pipe2(stop, O_CLOEXEC) != 0) return errno_error("pipe");
  std::unique_ptr<SshProxy> proxy(
      new SshProxy(std::move(listener), agent_path, UniqueFd(stop[0]), UniqueFd(stop[1])));
  proxy->m_thread = std::thread([p = proxy.get()] { p->loop(); });
  return proxy;
}

SshProxy::SshProxy(UniqueFd listener, std::filesystem::path agent, UniqueFd stop_read,
                   UniqueFd stop_write)
    : m_listener(std::move(listener)), m_agent(std::move(agent)),
      m_stop_read(std::move(stop_read)), m_stop_write(std::move(stop_write)) {}

SshProxy::~SshProxy() {
  m_stop_write.reset();  // EOF wakes the loop
  if (m_thread.joinable()) m_thread.join();
}

void SshProxy::loop() {
  struct Link {
    UniqueFd client, agent;
  };
  std::vector<Link> links;
  for (;;) {
    std::vector<pollfd> fds{{m_stop_read.get(), POLLIN, 0}, {m_listener.get(), POLLIN, 0}};
    for (const Link& l : links) {
      fds.push_back({l.client.get(), POLLIN, 0});
      fds.push_back({l.agent.get(), POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    size_t polled = links.size();
    if (fds[1].revents & POLLIN) {
      UniqueFd client(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      UniqueFd agent = connect_unix(m_agent);
      if (client && agent) links.push_back({std::move(client), std::move(agent)});
    }
    std::vector<Link> alive;
    for (size_t i = 0; i < links.size(); ++i) {
      if (i >= polled) {
        alive.push_back(std::move(links[i]));
        continue;
      }
      short rc = fds[2 + 2 * i].revents, ra = fds[3 + 2 * i].revents;
      bool ok = (!rc || relay(links[i].client.get(), links[i].agent.get())) &&
                (!ra || relay(links[i].agent.get(), links[i].client.get()));
      if (ok) alive.push_back(std::move(links[i]));
    }
    links = std::move(alive);
  }
}

}  // namespace cbuild::executor
