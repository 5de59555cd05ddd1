// RUN: the container spec of a step (command, environment, mounts) and its cache-key
// inputs. Cache mounts persist in the store (cache-mounts/), never in a layer.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>

#include "build_internal.hpp"
#include "cbuild/context/select.hpp"
#include "cbuild/executor/container.hpp"
#include "cbuild/executor/userns.hpp"

namespace cbuild::build {
namespace {

namespace df = dockerfile;

const df::RunCommand& run_command(const plan::Step& step) { return std::get<df::RunCommand>(step.command); }

// The command line: exec form as is; shell form through SHELL; a lone heredoc is the
// script (run directly when it starts with #!, written to a file mounted at /dev/pipes).
struct Command {
  std::vector<std::string> args;
  std::optional<std::pair<std::string, std::string>> script;  ///< name, content
};

Command command_of(const plan::Step& step) {
  const auto& cl = run_command(step).command;
  Command c;
  if (!cl.prepend_shell) {
    c.args = cl.args;
    return c;
  }
  std::string line = cl.args.empty() ? "" : cl.args.front();
  std::string trimmed = line;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.pop_back();
  if (cl.files.size() == 1 && trimmed.starts_with("<<") && trimmed.find(' ') == std::string::npos) {
    const auto& h = cl.files.front();
    if (h.data.starts_with("#!")) {
      c.script = {h.name, h.data};
      c.args = {"/dev/pipes/" + h.name};
      return c;
    }
    c.args = shell_of(step);
    c.args.push_back(h.data);
    return c;
  }
  std::string script = line;
  for (const auto& h : cl.files) script += "\n" + h.data + h.name;
  c.args = shell_of(step);
  c.args.push_back(script);
  return c;
}

executor::NetworkMode network_of(const BuildEnv& env, const plan::Step& step) {
  std::string mode = run_command(step).network;
  if (mode == "default") mode = env.options.network;
  return mode == "none" ? executor::NetworkMode::none : executor::NetworkMode::host;
}

const SecretSource* find_secret(const BuildEnv& env, const std::string& id) {
  for (const auto& s : env.options.secrets)
    if (s.id == id) return &s;
  return nullptr;
}

const SshSource* find_ssh(const BuildEnv& env, const std::string& id) {
  for (const auto& s : env.options.ssh)
    if (s.id == id) return &s;
  return nullptr;
}

Result<std::optional<std::string>> secret_content(const BuildEnv& env, const df::MountSpec& m) {
  const SecretSource* s = find_secret(env, m.id);
  if (!s) {
    if (m.required) return make_error(ExitCode::bad_input, "secret `{}` is required but was not given (--secret id={},src=FILE)", m.id, m.id);
    return std::optional<std::string>();
  }
  if (!s->env.empty()) {
    const char* v = std::getenv(s->env.c_str());
    if (!v) return make_error(ExitCode::bad_input, "secret `{}`: environment variable {} is not set", s->id, s->env);
    return std::optional<std::string>(v);
  }
  auto data = read_file(s->file);
  if (!data) return std::move(data).error().wrap("secret `{}`", s->id);
  return std::optional<std::string>(std::move(*data));
}

// Checksum of a context directory or file bind-mounted into a step.
Result<std::string> bind_content(const BuildEnv& env, const context::Context& ctx, const std::string& source,
                                 bool is_main_context) {
  context::SelectOptions sel;
  sel.sources = {source.empty() ? "." : source};
  sel.instruction = "RUN --mount";
  auto selection = TRY(context::select_files(ctx, sel));
  context::ChecksumOptions options;
  std::unique_lock lock(*env.stat_mutex, std::defer_lock);
  if (is_main_context && env.stat_cache) {
    lock.lock();
    options.cache = env.stat_cache;
  }
  auto sum = TRY(context::checksum(ctx, selection, options));
  return sum.digest.str();
}

std::string clean_source(std::string s) {
  while (s.starts_with("/")) s.erase(0, 1);
  return s;
}

// A scratch directory for a step's private copy of a mount's source, owned by container root;
// the copy goes to the returned path (not created).
Result<fs::path> private_copy_path(const BuildEnv& env, std::vector<TempDir>& temps) {
  auto temp = TRY(TempDir::create("bind-", TRY(env.store.session_dir())));
  TRY(executor::own_for_container(temp.path(), &env.map));
  fs::path path = temp.path() / "data";
  temps.push_back(std::move(temp));
  return path;
}

// A context directory bind-mounted into a step shows the context as the build sees it, as
// BuildKit's mount of the transferred context does: without what .dockerignore leaves out.
// When .dockerignore left out something below it, or the mount is writable (its writes are
// thrown away), the directory is rebuilt in a scratch tree from the selected entries:
// copies (a hard link would change the context file's ctime, and with it every stat-cache
// entry and copy stamp), directories, symlinks, modes and times as in the context, all owned
// by container root. `root` is the directory's entry (null for the context root).
Result<fs::path> context_tree(const BuildEnv& env, const context::Context& ctx, const std::string& rel,
                              const context::Entry* root, std::vector<TempDir>& temps) {
  context::SelectOptions options;
  options.sources = {rel.empty() ? "." : rel};
  options.instruction = "RUN --mount";
  auto selection = TRY(context::select_files(ctx, options));
  const fs::path top = TRY(private_copy_path(env, temps));
  const mode_t top_mode = root ? root->mode : 0755;
  if (::mkdir(top.c_str(), 0700) != 0) return errno_error(fmt::format("create `{}`", top.string()));
  auto own = [&](const fs::path& p) { return executor::own_for_container(p, &env.map); };
  std::vector<std::pair<fs::path, const context::Entry*>> dirs{{top, root}};
  for (const auto& f : selection.files) {
    const context::Entry& e = *f.entry;
    const fs::path to = top / f.dest;
    const fs::path from = ctx.disk_path(e);
    switch (e.type) {
      case context::FileType::directory:
        if (::mkdir(to.c_str(), 0700) != 0) return errno_error(fmt::format("create `{}`", to.string()));
        dirs.emplace_back(to, &e);
        break;
      case context::FileType::regular:
        TRY(copy_with_metadata(from, to));
        TRY(own(to));
        break;
      case context::FileType::symlink:
        if (::symlink(e.link_target.c_str(), to.c_str()) != 0) return errno_error(fmt::format("create `{}`", to.string()));
        TRY(own(to));
        break;
      default:
        break;  // fifos, sockets, devices: not in a mount of the context
    }
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {  // the deepest first: their times stay
    const auto& [path, e] = *it;
    TRY(own(path));
    if (::chmod(path.c_str(), e ? e->mode : top_mode) != 0) return errno_error(fmt::format("chmod `{}`", path.string()));
    if (!e) continue;
    const timespec times[2] = {{0, UTIME_OMIT}, {e->mtime_ns / 1'000'000'000, e->mtime_ns % 1'000'000'000}};
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error(fmt::format("set times of `{}`", path.string()));
  }
  return top;
}

Status copy_tree_in_userns(const fs::path& from, const fs::path& to, const executor::IdMap& map) {
  auto r = executor::run_in_userns(
      [&]() -> Result<std::string> {
        std::error_code ec;
        fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
        if (ec) return make_error("copy `{}` to `{}`: {}", from.string(), to.string(), ec.message());
        return std::string();
      },
      &map);
  if (!r) return r.error();
  return {};
}

}  // namespace

std::vector<std::string> shell_of(const plan::Step& step) {
  return step.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : step.shell;
}

std::vector<std::string> run_history_args(const plan::Step& step) {
  Command c = command_of(step);
  if (!c.script) return c.args;
  std::vector<std::string> args = shell_of(step);
  args.push_back(c.args.front());
  return args;
}

Result<Json> run_key_inputs(const BuildEnv& env, const plan::Step& step, const SourceLookup& sources) {
  const auto& run = run_command(step);
  Json inputs = Json::object();
  Json envs = Json::array();
  for (const auto& [k, v] : step.env) envs.push_back(k + "=" + v);
  Json args = Json::object();
  Json over_env = Json::array();  // args whose value wins over the environment's: not in older keys
  for (const auto& a : step.args) {
    if (!a.cache_relevant) continue;
    args[a.name] = a.value;
    if (a.over_env && std::any_of(step.env.begin(), step.env.end(), [&](const auto& kv) { return kv.first == a.name; }))
      over_env.push_back(a.name);
  }
  inputs["env"] = envs;
  inputs["args"] = args;
  if (!over_env.empty()) inputs["args_over_env"] = over_env;
  inputs["user"] = step.user;
  inputs["workdir"] = step.workdir;
  inputs["shell"] = shell_of(step);
  inputs["network"] = network_of(env, step) == executor::NetworkMode::none ? "none" : "host";
  inputs["security"] = run.security;
  Json mounts = Json::array();
  Json from = Json::object();
  for (const auto& m : run.mounts) {
    Json j = {{"type", std::string(df::to_string(m.type))}, {"target", m.target}};
    switch (m.type) {
      case df::MountType::bind: {
        j["source"] = m.source;
        j["readonly"] = m.readonly;
        const context::Context* ctx = env.context;
        if (!m.from.empty()) {
          SourceTree src = TRY(sources(m.from));
          j["from"] = m.from;
          ctx = src.context;
          if (!ctx) from[m.from] = src.identity.str();
        }
        if (ctx) {
          j["content"] = TRY(bind_content(env, *ctx, clean_source(m.source), ctx == env.context));
          // A context's mount shows only what .dockerignore leaves in (context_tree); results
          // of older versions, which showed the rest too, are not reused.
          j["ignored_hidden"] = true;
        }
        break;
      }
      case df::MountType::cache:
        j["id"] = m.id;
        j["sharing"] = std::string(df::to_string(m.sharing));
        j["readonly"] = m.readonly;
        j["mode"] = m.mode.value_or(0755);
        j["uid"] = m.uid.value_or(0);
        j["gid"] = m.gid.value_or(0);
        if (!m.from.empty()) {
          SourceTree src = TRY(sources(m.from));
          j["from"] = m.from;
          j["source"] = m.source;
          j["content"] = src.identity.str();
        }
        break;
      case df::MountType::tmpfs: j["size"] = m.size.value_or(0); break;
      case df::MountType::secret:
        // The id and where it goes, never the content.
        j["id"] = m.id;
        if (m.env) j["env"] = *m.env;
        break;
      case df::MountType::ssh: j["id"] = m.id; break;
    }
    mounts.push_back(std::move(j));
  }
  if (!mounts.empty()) inputs["mounts"] = mounts;
  if (!from.empty()) inputs["from"] = from;
  return inputs;
}

Result<Executed> execute_run(const BuildEnv& env, const plan::Step& step,
                             const StageState& state, const SourceLookup& sources, int vertex) {
  const auto& run = run_command(step);
  if (run.security == "insecure")
    return make_error(ExitCode::bad_input, "RUN --security=insecure is not allowed: cbuild steps always run sandboxed");
  Executed ex;
  ex.active = TRY(env.snapshotter.prepare(state.snapshot));

  executor::ExecSpec spec;
  spec.rootfs = ex.active->rootfs();
  Command cmd = command_of(step);
  spec.args = cmd.args;
  dockerfile::VarMap vars = plan::step_vars(step.env, step.args);
  spec.cwd = step.workdir.empty() ? "/" : step.workdir;
  spec.user = step.user;
  spec.network = network_of(env, step);
  spec.id_map = &env.map;
  spec.state_parent = TRY(env.store.session_dir());
  spec.on_output = [&](executor::Stream s, std::string_view data) {
    env.progress.log(vertex, s == executor::Stream::err, data);
  };

  std::vector<store::FileLock> locks;
  std::vector<TempDir> temps;
  if (cmd.script) {
    auto dir = TRY(TempDir::create("script-", TRY(env.store.session_dir())));
    fs::path file = dir.path() / cmd.script->first;
    TRY(write_file_atomic(file, cmd.script->second, 0755));
    (void)::chmod(dir.path().c_str(), 0755);
    spec.mounts.push_back(executor::BindMount{file, "/dev/pipes/" + cmd.script->first, true});
    temps.push_back(std::move(dir));
  }
  int ssh_index = 0;
  for (const auto& m : run.mounts) {
    switch (m.type) {
      case df::MountType::bind: {
        fs::path source;
        std::string rel = clean_source(m.source);
        const context::Context* ctx = env.context;
        if (!m.from.empty()) {
          SourceTree src = TRY(sources(m.from));
          ctx = src.context;
          if (!ctx) {
            auto temp = TRY(TempDir::create("empty-", TRY(env.store.session_dir())));
            fs::path base = src.snapshot.empty() ? temp.path() : TRY(env.snapshotter.merged_view(src.snapshot));
            source = base / rel;
            temps.push_back(std::move(temp));
          }
        }
        if (ctx) {
          source = ctx->root() / rel;
          auto resolved = TRY(ctx->resolve(rel.empty() ? "." : rel, true));  // none: select_files says why
          const context::Entry* e = resolved ? ctx->find(*resolved) : nullptr;
          if (!e || e->type == context::FileType::directory) {  // "." has no entry
            if (!m.readonly || ctx->excludes_below(resolved ? *resolved : rel))
              source = TRY(context_tree(env, *ctx, rel, e, temps));
          } else if (!m.readonly) {  // a private copy of the file
            source = TRY(private_copy_path(env, temps));
            TRY(copy_with_metadata(ctx->disk_path(*e), source));
            TRY(executor::own_for_container(source, &env.map));
          }
        } else if (!m.readonly) {  // writes are allowed and thrown away: a private copy
          fs::path copy = TRY(private_copy_path(env, temps));
          TRY(copy_tree_in_userns(source, copy, env.map));
          source = copy;
        }
        spec.mounts.push_back(executor::BindMount{source, m.target, m.readonly});
        break;
      }
      case df::MountType::cache: {
        auto record = TRY(env.store.cache_mount(m.id));
        fs::path dir = record.path;
        if (m.sharing == df::CacheSharing::locked) {
          locks.push_back(TRY(env.store.lock("cache-mount-" + m.id, store::LockMode::exclusive)));
        } else if (m.sharing == df::CacheSharing::private_) {
          auto held = env.store.lock("cache-mount-" + m.id, store::LockMode::exclusive, std::chrono::milliseconds(0));
          if (held) {
            locks.push_back(std::move(*held));
          } else {
            auto temp = TRY(TempDir::create("cache-private-", TRY(env.store.session_dir())));
            dir = temp.path();
            temps.push_back(std::move(temp));
          }
        }
        std::error_code ec;
        if (fs::is_empty(dir, ec)) {
          if (!m.from.empty()) {
            SourceTree src = TRY(sources(m.from));
            fs::path base = src.context ? src.context->root()
                                        : (src.snapshot.empty() ? fs::path() : TRY(env.snapshotter.merged_view(src.snapshot)));
            if (!base.empty()) {
              TRY(executor::own_for_container(dir, &env.map));
              auto r = executor::run_in_userns(
                  [&]() -> Result<std::string> {
                    std::error_code e;
                    for (const auto& entry : fs::directory_iterator(base / clean_source(m.source), e))
                      fs::copy(entry.path(), dir / entry.path().filename(),
                               fs::copy_options::recursive | fs::copy_options::copy_symlinks, e);
                    if (e) return make_error("seed cache mount `{}`: {}", m.id, e.message());
                    return std::string();
                  },
                  &env.map);
              if (!r) return std::move(r).error();
            }
          }
          TRY(executor::set_container_owner(dir, m.uid.value_or(0), m.gid.value_or(0), m.mode.value_or(0755),
                                            &env.map));
        }
        spec.mounts.push_back(executor::BindMount{dir, m.target, m.readonly});
        break;
      }
      case df::MountType::tmpfs: spec.mounts.push_back(executor::TmpfsMount{m.target, m.size.value_or(0)}); break;
      case df::MountType::secret: {
        auto content = TRY(secret_content(env, m));
        if (!content) break;
        if (m.env) vars[*m.env] = *content;
        if (!m.target.empty() || !m.env) {
          std::string target = m.target.empty() ? "/run/secrets/" + m.id : m.target;
          spec.mounts.push_back(executor::SecretMount{target, std::move(*content), m.uid.value_or(0),
                                                      m.gid.value_or(0), m.mode.value_or(0400)});
        }
        break;
      }
      case df::MountType::ssh: {
        const SshSource* s = find_ssh(env, m.id);
        fs::path socket = s ? s->socket : fs::path();
        if (s && socket.empty()) {
          const char* sock = std::getenv("SSH_AUTH_SOCK");
          if (sock) socket = sock;
        }
        if (socket.empty()) {
          if (m.required)
            return make_error(ExitCode::bad_input, "ssh agent `{}` is required but was not given (--ssh {})", m.id, m.id);
          break;
        }
        std::string target = m.target.empty() ? fmt::format("/run/buildkit/ssh_agent.{}", ssh_index) : m.target;
        spec.mounts.push_back(executor::SshMount{socket, target, m.uid.value_or(0), m.gid.value_or(0), m.mode.value_or(0600)});
        ++ssh_index;
        break;
      }
    }
  }
  for (const auto& [k, v] : vars) spec.env.push_back(k + "=" + v);

  auto result = TRY(executor::run_container(spec));
  if (result.exit_code != 0) {
    std::string shown = cmd.args.empty() ? step.text : step.text.substr(step.text.find(' ') + 1);
    return make_error(ExitCode::step_failed, "{}", executor::failure_message(result, shown));
  }
  ex.created = std::move(result.created);
  return ex;
}

}  // namespace cbuild::build
