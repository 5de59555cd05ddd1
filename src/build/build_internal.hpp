#pragma once
// Shared between the builder's source files: the state a stage carries from step to step,
// the cache-key inputs, and the step runners.
#include <nlohmann/json.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/build/builder.hpp"
#include "cbuild/build/copy.hpp"
#include "cbuild/context/checksum.hpp"
#include "cbuild/context/context.hpp"
#include "cbuild/executor/idmap.hpp"
#include "cbuild/export/images.hpp"
#include "cbuild/image/config.hpp"
#include "cbuild/plan/plan.hpp"
#include "cbuild/snapshot/snapshotter.hpp"

namespace cbuild::build {

using Json = nlohmann::json;

/// A stage's filesystem and config after some steps.
struct StageState {
  std::string snapshot;  ///< top snapshot id ("" = empty root)
  Digest identity;       ///< result identity (content-based; what child keys hash)
  image::ImageConfig config;
  std::vector<exporter::NewLayer> layers;  ///< manifest layers so far
  uint64_t size = 0;                       ///< uncompressed bytes of the layers
  std::string created;                     ///< RFC 3339 time of the newest layer
  bool cmd_set = false;  ///< a CMD of this stage came before: ENTRYPOINT keeps it (BuildKit)
};

/// What a filesystem step produced (or found in the cache).
struct StepResult {
  std::string snapshot;  ///< new top snapshot ("" when the step changed nothing)
  Digest diff_id;        ///< of the step's layer (empty when none)
  uint64_t size = 0;     ///< its tar size
  Digest identity;       ///< result identity after the step
  std::string created;   ///< RFC 3339 time the layer was made
};

// ---- cache keys (cache_key.cpp) -------------------------------------------------------

/// The digest of a key's inputs (compact JSON, sorted keys): "sha256:…".
std::string cache_key(const Json& inputs);
/// Identity after a layer: sha256(parent identity + " " + layer content digest).
Digest next_identity(const Digest& parent, const Digest& content);
/// Why `now` misses, given the inputs the same step had last time (`before`, may be null)
/// and the file records of both (COPY/ADD).
std::string explain_miss(const Json* before, const Json& now,
                         const std::vector<context::FileRecord>& before_files,
                         const std::vector<context::FileRecord>& now_files);

// ---- the build-wide environment a step runner needs -------------------------------------

struct BuildEnv {
  store::Store& store;
  const BuildOptions& options;
  Progress& progress;
  snapshot::Snapshotter& snapshotter;
  const executor::IdMap& map;  ///< the build user namespace (steps, snapshots)
  const context::Context* context = nullptr;
  context::StatCache* stat_cache = nullptr;
  std::mutex* stat_mutex = nullptr;  ///< guards stat_cache
  std::string now;                   ///< RFC 3339 time of this build (or the epoch)
};

/// A stage result or image a step reads from (COPY --from, RUN --mount from=).
struct SourceTree {
  std::string snapshot;  ///< top snapshot ("" = empty)
  Digest identity;
  const context::Context* context = nullptr;  ///< a named context directory instead
};

/// What a step runner returns before the cache bookkeeping.
struct Executed {
  std::optional<snapshot::Active> active;  ///< to commit
  std::vector<executor::CreatedPath> created;
  bool link = false;  ///< COPY --link: the layer was made on an empty root
  uint64_t files_reused = 0;  ///< COPY/ADD: files linked from the previous result
  std::vector<ReusedDir> reused;  ///< COPY/ADD: those files, linked by the commit
};

// ---- step runners (step_run.cpp, step_files.cpp) -----------------------------------------

using SourceLookup = std::function<Result<SourceTree>(const std::string& from)>;

/// RUN: the key inputs specific to RUN (mounts, network, security) and the run itself.
Result<Json> run_key_inputs(const BuildEnv& env, const plan::Step& step, const SourceLookup& sources);
Result<Executed> execute_run(const BuildEnv& env, const plan::Step& step,
                             const StageState& state, const SourceLookup& sources, int vertex);
/// The shell a shell-form command runs through: SHELL's, else /bin/sh -c.
std::vector<std::string> shell_of(const plan::Step& step);
/// A RUN's command line as BuildKit's history records it (a `#!` heredoc script through the
/// shell too, as BuildKit runs it).
std::vector<std::string> run_history_args(const plan::Step& step);

/// COPY/ADD/WORKDIR: key inputs (file checksums) and execution.
struct FileStepInputs {
  Json inputs;
  /// The context files hashed for the key (none for WORKDIR, URLs or a stage's files) and
  /// their checksum; the records are made from them on first use (a hit needs none).
  context::Selection selection;
  context::ContentChecksum checksum;
  std::vector<Download> downloads;  ///< ADD URLs fetched while hashing
  /// On a miss: the previous result of this step and which sources it copied unchanged
  /// (`upper` is filled when the step runs).
  std::optional<CopyReuse> reuse;

  /// The records of the hashed files: what a miss is explained by and COPY reuse compares.
  const std::vector<context::FileRecord>& files();

 private:
  std::optional<std::vector<context::FileRecord>> m_files;
};
/// `download_dir` gives the directory ADD URLs download into (made on first use).
Result<FileStepInputs> file_key_inputs(const BuildEnv& env, const plan::Step& step, const SourceLookup& sources,
                                       const std::function<Result<fs::path>()>& download_dir);
Result<Executed> execute_files(const BuildEnv& env, const plan::Step& step, const StageState& state,
                               const SourceLookup& sources, const FileStepInputs& inputs);

/// The id map for cbuild's own file work in a child (COPY): as root a full identity map
/// (host root may read every context file and chown to any host id), else the build map.
const executor::IdMap& file_work_map(const executor::IdMap& build_map);
/// Container → on-disk ids for that child's chown calls.
layer::IdMapping chown_mapping(const executor::IdMap& build_map);

/// Mount lowerdirs (topmost first, from Snapshotter::lowerdirs, computed before forking)
/// read-only at the empty directory `at`, inside a child with its own mount namespace.
/// Returns the directory to read: `at`, or the only layer itself.
Result<fs::path> mount_lowers_ro(const std::vector<fs::path>& lowers, const fs::path& at);

}  // namespace cbuild::build
