// ADD <url> against a tiny HTTP/1.0 server on 127.0.0.1 started by the test (canned
// responses per path; one request per connection).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "cbuild/build/copy.hpp"
#include "copy_test_support.hpp"

using namespace copy_test;
using cbuild::Digest;
using cbuild::build::download;

namespace {

struct Response {
  std::string status = "200 OK";
  std::string headers;  // extra header lines, each ending in \r\n
  std::string body;
};

class TestServer {
 public:
  explicit TestServer(std::map<std::string, Response> routes) : m_routes(std::move(routes)) {
    // libcurl honours proxy variables: the test server must be reached directly.
    ::setenv("no_proxy", "127.0.0.1", 1);
    ::setenv("NO_PROXY", "127.0.0.1", 1);
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(m_fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    m_port = ntohs(addr.sin_port);
    REQUIRE(::listen(m_fd, 16) == 0);
    m_thread = std::thread([this] { serve(); });
  }
  ~TestServer() {
    m_stop = true;
    m_thread.join();
    ::close(m_fd);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  int requests() const { return m_requests; }

 private:
  void serve() {
    while (!m_stop) {
      pollfd p{m_fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      answer(c);
      ::close(c);
    }
  }
  void answer(int c) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      request.append(buf, static_cast<size_t>(n));
    }
    ++m_requests;
    size_t sp = request.find(' ');
    std::string target = request.substr(sp + 1, request.find(' ', sp + 1) - sp - 1);
    std::string path = target.substr(0, target.find('?'));
    auto it = m_routes.find(path);
    Response r = it != m_routes.end() ? it->second : Response{"404 Not Found", "", "no such page"};
    std::string out = "HTTP/1.0 " + r.status + "\r\nContent-Length: " + std::to_string(r.body.size()) +
                      "\r\nConnection: close\r\n" + r.headers + "\r\n" + r.body;
    for (size_t done = 0; done < out.size();) {
      ssize_t n = ::send(c, out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  std::map<std::string, Response> m_routes;
  int m_fd = -1;
  uint16_t m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_requests{0};
  std::thread m_thread;
};

}  // namespace

TEST_CASE("download: a file is fetched with its digest, mode 0600 and the epoch as mtime") {
  TestServer server({{"/files/tool.sh", {"200 OK", "", "#!/bin/sh\necho hi\n"}}});
  auto dir = temp_dir("download-");
  auto got = download(server.url("/files/tool.sh"), dir.path());
  INFO((got.ok() ? "" : got.error().message));
  REQUIRE(got.ok());
  CHECK(got->name == "tool.sh");
  CHECK(got->path == dir.path() / "tool.sh");
  CHECK(read(got->path) == "#!/bin/sh\necho hi\n");
  CHECK(got->digest == Digest::of("#!/bin/sh\necho hi\n"));
  CHECK(got->mtime_sec == 0);
  CHECK(lstat_of(got->path).st_mtime == 0);
  CHECK(mode_of(got->path) == 0600);
}

TEST_CASE("download: Last-Modified becomes the mtime") {
  TestServer server({{"/a.txt", {"200 OK", "Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n", "A"}}});
  auto dir = temp_dir("download-");
  auto got = download(server.url("/a.txt"), dir.path());
  REQUIRE(got.ok());
  CHECK(got->mtime_sec == 1445412480);
  CHECK(lstat_of(got->path).st_mtime == 1445412480);
}

TEST_CASE("download: --checksum is verified and a mismatch keeps nothing") {
  TestServer server({{"/data.bin", {"200 OK", "", "payload"}}});
  auto dir = temp_dir("download-");
  auto ok = download(server.url("/data.bin"), dir.path(), Digest::of("payload"));
  REQUIRE(ok.ok());
  CHECK(read(ok->path) == "payload");
  auto other = temp_dir("download-");
  Digest wrong = Digest::of("something else");
  auto bad = download(server.url("/data.bin"), other.path(), wrong);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains(server.url("/data.bin")) && Catch::Contains(wrong.str()) &&
                                      Catch::Contains(Digest::of("payload").str()));
  CHECK(fs::is_empty(other.path()));
}

TEST_CASE("download: an HTTP error names the URL and the status, and keeps nothing") {
  TestServer server({{"/forbidden", {"403 Forbidden", "", "go away"}}});
  auto dir = temp_dir("download-");
  auto missing = download(server.url("/missing.tar.gz"), dir.path());
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains(server.url("/missing.tar.gz")) &&
                                          Catch::Contains("404") && Catch::Contains("Not Found"));
  CHECK(missing.error().code == cbuild::ExitCode::not_found);
  auto forbidden = download(server.url("/forbidden"), dir.path());
  REQUIRE_FALSE(forbidden.ok());
  CHECK_THAT(forbidden.error().message, Catch::Contains("403"));
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("download: redirects are followed; the name comes from the URL as written") {
  TestServer server({{"/latest", {"302 Found", "Location: /releases/v2/app.tgz\r\n", "moved"}},
                     {"/releases/v2/app.tgz", {"200 OK", "", "v2"}}});
  auto dir = temp_dir("download-");
  auto got = download(server.url("/latest"), dir.path());
  INFO((got.ok() ? "" : got.error().message));
  REQUIRE(got.ok());
  CHECK(read(got->path) == "v2");
  CHECK(got->name == "latest");
  CHECK(server.requests() == 2);
}

TEST_CASE("download: names are decoded, queries dropped, and an empty path is __unnamed__") {
  TestServer server({{"/a%20b.txt", {"200 OK", "", "spaced"}}, {"/", {"200 OK", "", "index"}}});
  auto dir = temp_dir("download-");
  auto spaced = download(server.url("/a%20b.txt?token=1"), dir.path());
  REQUIRE(spaced.ok());
  CHECK(spaced->name == "a b.txt");
  CHECK(read(dir.path() / "a b.txt") == "spaced");
  auto root = download(server.url("/"), dir.path());
  REQUIRE(root.ok());
  CHECK(root->name == "__unnamed__");
}

TEST_CASE("download: other schemes and unreachable servers are errors naming the URL") {
  auto dir = temp_dir("download-");
  auto ftp = download("ftp://127.0.0.1/x", dir.path());
  REQUIRE_FALSE(ftp.ok());
  CHECK_THAT(ftp.error().message, Catch::Contains("ftp://127.0.0.1/x"));
  int port = 0;
  {
    TestServer closed({});
    port = std::stoi(closed.url("").substr(std::string("http://127.0.0.1:").size()));
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto refused = download(url, dir.path());
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains(url));
  CHECK(fs::is_empty(dir.path()));
}
