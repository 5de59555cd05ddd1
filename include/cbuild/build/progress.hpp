#pragma once
/// Build progress as the user sees it, in the formats of `docker buildx build --progress`:
///
///  - plain (BuildKit's plain output, one vertex per step, numbered in start order):
///        #3 [build 2/4] RUN make
///        #3 0.412 gcc -c main.c
///        #3 DONE 1.2s
///        #4 [build 3/4] COPY src /src
///        #4 CACHED
///    Output lines carry the seconds since the step started. A failure ends the vertex with
///    `#3 ERROR: <message>`.
///  - tty: the same events, and while steps run a live footer (one line per running step
///    with its elapsed time, redrawn every 100 ms with ANSI escapes).
///  - json: one JSON object per line (version 1):
///        {"v":1,"event":"start","vertex":3,"name":"[build 2/4] RUN make","time":…}
///        {"v":1,"event":"log","vertex":3,"stream":"stdout","data":"…"}
///        {"v":1,"event":"done","vertex":3,"cached":false,"seconds":1.2,"reason":"…"}
///        {"v":1,"event":"error","vertex":3,"message":"…"}
///        {"v":1,"event":"message","text":"…"}
///  - quiet: nothing (`-q`).
/// Methods may be called from several threads (stages build in parallel).
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cbuild::build {

enum class ProgressMode { plain, tty, json, quiet };

/// "auto" (tty when `out` is a terminal, else plain), "plain", "tty", "json", "quiet".
std::optional<ProgressMode> parse_progress_mode(std::string_view text, std::FILE* out);

class Progress {
 public:
  virtual ~Progress() = default;
  /// A new vertex; returns its number.
  virtual int start(std::string name) = 0;
  /// Output of a running step (any chunking; lines are reassembled).
  virtual void log(int vertex, bool is_stderr, std::string_view data) = 0;
  /// The vertex finished: from cache (`cached`) or executed, with the miss reason.
  virtual void done(int vertex, bool cached, double seconds, std::string_view reason) = 0;
  virtual void error(int vertex, std::string_view message) = 0;
  /// A line not tied to a vertex (notices, the final summary).
  virtual void message(std::string_view text) = 0;
};

/// A progress printer writing to `out` (not owned).
std::unique_ptr<Progress> make_progress(ProgressMode mode, std::FILE* out);

}  // namespace cbuild::build
