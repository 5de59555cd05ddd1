// fork/exec with the output in a file.
#include "process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "cbuild/util/fs.hpp"

namespace cbuild::compare {

Result<int> run_process(const ProcessSpec& spec) {
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string out = spec.output.empty() ? "/dev/null" : spec.output.string();
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0 || ::dup2(null, 0) < 0) ::_exit(126);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) ::_exit(126);
    for (const auto& [k, v] : spec.env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno_error("wait for `" + spec.argv[0] + "`");
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

Result<std::string> capture(std::vector<std::string> argv, const std::filesystem::path& cwd) {
  auto temp = TRY(TempDir::create("cbuild-compare-run-"));
  ProcessSpec spec{std::move(argv), cwd, {}, temp.path() / "out"};
  int rc = TRY(run_process(spec));
  auto text = read_file(spec.output);
  std::string out = text ? *text : "";
  if (rc != 0)
    return make_error("`{}` exited with {}: {}", spec.argv[0], rc, tail_lines(out, 5));
  return out;
}

std::string tail_lines(const std::string& text, int lines) {
  size_t pos = text.size();
  if (pos && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  std::string out = text.substr(pos == std::string::npos ? 0 : pos + (text[pos] == '\n' ? 1 : 0));
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace cbuild::compare
