#include "cbuild/build/progress.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace cbuild::build {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Shared bookkeeping: vertex numbers, start times, partial output lines.
class Base : public Progress {
 public:
  explicit Base(std::FILE* out) : m_out(out) {}

  int start(std::string name) override {
    std::lock_guard lock(m_mutex);
    int id = ++m_next;
    m_vertices[id] = {std::move(name), Clock::now(), {}, {}};
    on_start(id);
    return id;
  }
  void log(int vertex, bool is_stderr, std::string_view data) override {
    std::lock_guard lock(m_mutex);
    auto it = m_vertices.find(vertex);
    if (it == m_vertices.end()) return;
    std::string& partial = is_stderr ? it->second.err : it->second.out;
    partial.append(data);
    size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      on_line(vertex, is_stderr, std::string_view(partial).substr(0, nl));
      partial.erase(0, nl + 1);
    }
  }
  void done(int vertex, bool cached, double seconds, std::string_view reason) override {
    std::lock_guard lock(m_mutex);
    flush_partial(vertex);
    on_done(vertex, cached, seconds, reason);
    m_vertices.erase(vertex);
  }
  void error(int vertex, std::string_view message) override {
    std::lock_guard lock(m_mutex);
    flush_partial(vertex);
    on_error(vertex, message);
    m_vertices.erase(vertex);
  }
  void message(std::string_view text) override {
    std::lock_guard lock(m_mutex);
    on_message(text);
  }

 protected:
  struct Vertex {
    std::string name;
    Clock::time_point started;
    std::string out, err;
  };
  virtual void on_start(int id) = 0;
  virtual void on_line(int id, bool is_stderr, std::string_view line) = 0;
  virtual void on_done(int id, bool cached, double seconds, std::string_view reason) = 0;
  virtual void on_error(int id, std::string_view message) = 0;
  virtual void on_message(std::string_view text) = 0;

  void flush_partial(int vertex) {
    auto it = m_vertices.find(vertex);
    if (it == m_vertices.end()) return;
    if (!it->second.out.empty()) on_line(vertex, false, it->second.out);
    if (!it->second.err.empty()) on_line(vertex, true, it->second.err);
    it->second.out.clear();
    it->second.err.clear();
  }

  std::FILE* m_out;
  std::mutex m_mutex;
  int m_next = 0;
  std::map<int, Vertex> m_vertices;
};

class Plain : public Base {
 public:
  using Base::Base;

 protected:
  void on_start(int id) override { print("#{} {}\n", id, m_vertices[id].name); }
  void on_line(int id, bool, std::string_view line) override {
    print("#{} {:.3f} {}\n", id, seconds_since(m_vertices[id].started), line);
  }
  void on_done(int id, bool cached, double seconds, std::string_view) override {
    if (cached)
      print("#{} CACHED\n", id);
    else
      print("#{} DONE {:.1f}s\n", id, seconds);
  }
  void on_error(int id, std::string_view message) override { print("#{} ERROR: {}\n", id, message); }
  void on_message(std::string_view text) override { print("{}\n", text); }

  template <typename... Args>
  void print(fmt::format_string<Args...> f, Args&&... args) {
    before_print();
    fmt::print(m_out, f, std::forward<Args>(args)...);
    after_print();
  }
  virtual void before_print() {}
  virtual void after_print() { std::fflush(m_out); }
};

/// Plain lines scrolling above a footer of running steps with live timers.
class Tty final : public Plain {
 public:
  explicit Tty(std::FILE* out) : Plain(out), m_thread([this] { redraw_loop(); }) {}
  ~Tty() override {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
    std::lock_guard lock(m_mutex);
    erase_footer();
    std::fflush(m_out);
  }

 protected:
  void before_print() override { erase_footer(); }
  void after_print() override {
    draw_footer();
    std::fflush(m_out);
  }

 private:
  void erase_footer() {
    for (int i = 0; i < m_footer; ++i) std::fputs("\x1b[1A\x1b[2K", m_out);
    m_footer = 0;
  }
  void draw_footer() {
    for (const auto& [id, v] : m_vertices) {
      fmt::print(m_out, "\x1b[36m => #{} {} {:.1f}s\x1b[0m\n", id, v.name.substr(0, 100), seconds_since(v.started));
      ++m_footer;
    }
  }
  void redraw_loop() {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
      m_wake.wait_for(lock, std::chrono::milliseconds(100));
      if (m_stop || m_vertices.empty()) continue;
      erase_footer();
      draw_footer();
      std::fflush(m_out);
    }
  }
  int m_footer = 0;
  bool m_stop = false;
  std::condition_variable m_wake;
  std::thread m_thread;
};

class Json final : public Base {
 public:
  using Base::Base;

 protected:
  void on_start(int id) override {
    emit({{"event", "start"}, {"vertex", id}, {"name", m_vertices[id].name}});
  }
  void on_line(int id, bool is_stderr, std::string_view line) override {
    emit({{"event", "log"}, {"vertex", id}, {"stream", is_stderr ? "stderr" : "stdout"},
          {"data", std::string(line)}});
  }
  void on_done(int id, bool cached, double seconds, std::string_view reason) override {
    emit({{"event", "done"}, {"vertex", id}, {"cached", cached}, {"seconds", seconds},
          {"reason", std::string(reason)}});
  }
  void on_error(int id, std::string_view message) override {
    emit({{"event", "error"}, {"vertex", id}, {"message", std::string(message)}});
  }
  void on_message(std::string_view text) override { emit({{"event", "message"}, {"text", std::string(text)}}); }

 private:
  void emit(nlohmann::json j) {
    j["v"] = 1;
    j["time"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    fmt::print(m_out, "{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::fflush(m_out);
  }
};

class Quiet final : public Progress {
 public:
  int start(std::string) override { return ++m_next; }
  void log(int, bool, std::string_view) override {}
  void done(int, bool, double, std::string_view) override {}
  void error(int, std::string_view) override {}
  void message(std::string_view) override {}

 private:
  std::atomic<int> m_next{0};
};

}  // namespace

std::optional<ProgressMode> parse_progress_mode(std::string_view text, std::FILE* out) {
  if (text == "auto" || text.empty()) return ::isatty(::fileno(out)) ? ProgressMode::tty : ProgressMode::plain;
  static const std::map<std::string_view, ProgressMode> k_modes = {
      {"plain", ProgressMode::plain}, {"tty", ProgressMode::tty},
      {"json", ProgressMode::json},   {"quiet", ProgressMode::quiet},
      {"rawjson", ProgressMode::json}};
  auto it = k_modes.find(text);
  if (it == k_modes.end()) return std::nullopt;
  return it->second;
}

std::unique_ptr<Progress> make_progress(ProgressMode mode, std::FILE* out) {
  switch (mode) {
    case ProgressMode::plain: return std::make_unique<Plain>(out);
    case ProgressMode::tty: return std::make_unique<Tty>(out);
    case ProgressMode::json: return std::make_unique<Json>(out);
    case ProgressMode::quiet: break;
  }
  return std::make_unique<Quiet>();
}

}  // namespace cbuild::build
