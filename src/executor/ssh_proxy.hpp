#pragma once
// Module-private: forwards connections on a listening unix socket to an ssh agent socket, so
// the container side can be owned by the step's ids whatever the agent's owner.
#include "cbuild/util/fd.hpp"
#include "cbuild/util/result.hpp"

#include <filesystem>
#include <memory>
#include <thread>

namespace cbuild::executor {

class SshProxy {
 public:
  /// Listen on `listen_path`; each accepted connection is relayed to `agent_path`.
  static Result<std::unique_ptr<SshProxy>> start(const std::filesystem::path& listen_path,
                                                 const std::filesystem::path& agent_path);
  ~SshProxy();  ///< stops the thread and closes every connection

 private:
  SshProxy(UniqueFd listener, std::filesystem::path agent, UniqueFd stop_read, UniqueFd stop_write);
  void loop();
  UniqueFd m_listener;
  std::filesystem::path m_agent;
  UniqueFd m_stop_read, m_stop_write;
  std::thread m_thread;
};

}  // namespace cbuild::executor
