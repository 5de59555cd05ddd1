#pragma once
/// A registry client as the commands use it: the real (libcurl) transport and the user's
/// credentials (cbuild's auth file, docker's config.json and credential helpers).
#include <memory>
#include <string>
#include <vector>

#include "cbuild/registry/auth.hpp"
#include "cbuild/registry/client.hpp"
#include "cbuild/registry/transport.hpp"

namespace cbuild::registry {

class Connection {
 public:
  /// A client for `domain`; `insecure` lists registries reached over plain HTTP.
  Connection(const std::string& domain, const std::vector<std::string>& insecure)
      : m_transport(make_curl_transport()),
        m_client(*m_transport, m_credentials, domain, ClientOptions{insecure}) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Client& client() { return m_client; }

 private:
  std::unique_ptr<Transport> m_transport;
  FileCredentialSource m_credentials;
  Client m_client;
};

}  // namespace cbuild::registry
