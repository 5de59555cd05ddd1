#pragma once
/// `cbuild build`: the solver. Runs a plan's stages (independent stages in parallel, up to
/// `jobs`), each step either from the build cache or executed (RUN in a rootless container,
/// COPY/ADD/WORKDIR by cbuild), and commits the target stage as an image.
///
/// Cache (see cache_key.hpp for the key format): every filesystem step (RUN, COPY, ADD,
/// WORKDIR) has a key computed from content: the *result identity* of its parent (a digest
/// of the base image and of each layer's content with mtimes ignored), the instruction after
/// expansion, environment, cache-relevant build args, user, workdir, shell, network and
/// security mode, mount specs and the content of bind-mounted context sources, and for
/// COPY/ADD the checksum of exactly the selected files. Because keys follow result content,
/// a step that re-ran and produced the same content (early cutoff) leaves every later step
/// cached, and the earlier snapshot is reused so the image is unchanged.
///
/// Metadata steps (ENV, LABEL, CMD, ...) change only the image config and history.
/// Layers that would be empty (a RUN that changed nothing) are left out, their history
/// entry marked `empty_layer`, as BuildKit does.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/build/progress.hpp"
#include "cbuild/snapshot/snapshotter.hpp"
#include "cbuild/store/store.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::build {

namespace fs = std::filesystem;

/// `--secret id=x,src=FILE` / `id=x,env=VAR`.
struct SecretSource {
  std::string id;
  fs::path file;
  std::string env;
};

/// `--ssh default` / `--ssh id=PATH` (an agent socket; default: $SSH_AUTH_SOCK).
struct SshSource {
  std::string id = "default";
  fs::path socket;
};

struct BuildOptions {
  fs::path context_dir;          ///< the build context (a directory)
  fs::path dockerfile_path;      ///< for messages and the ignore file lookup
  std::string dockerfile_text;   ///< the Dockerfile's content
  std::vector<std::string> tags;   ///< normalized full names
  std::string target;
  std::map<std::string, std::string> build_args;
  std::map<std::string, std::string> labels;  ///< --label, applied to the final image
  bool no_cache = false;
  std::vector<std::string> no_cache_filter;  ///< stage names
  bool pull = false;
  std::string network = "default";  ///< default | host | none
  std::vector<SecretSource> secrets;
  std::vector<SshSource> ssh;
  std::map<std::string, std::string> named_contexts;  ///< --build-context name=PATH|docker-image://REF
  std::string platform;
  std::optional<int64_t> source_date_epoch;
  int jobs = 0;  ///< 0: number of cores
  std::optional<snapshot::Kind> snapshotter;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> cache_from;  ///< --cache-from specs (remote_cache.hpp)
  std::vector<std::string> cache_to;    ///< --cache-to specs
};

/// One step as the report shows it.
struct StepReport {
  int stage = 0;
  std::string stage_name;
  int index = 0;  ///< 1-based within the stage
  int count = 0;  ///< steps in the stage
  std::string instruction;
  bool cached = false;
  bool executed = false;  ///< false for metadata-only steps
  std::string cache_key;
  std::string reason;  ///< miss reason; empty for hits
  double seconds = 0;
  std::string layer;  ///< diffID of the step's layer, empty when none
  uint64_t size = 0;
  /// A re-run COPY/ADD: files taken unchanged from the step's previous result instead of
  /// copied again (hard links).
  uint64_t files_reused = 0;
};

struct BuildResult {
  Digest image_id;
  Digest manifest;
  std::vector<std::string> tags;
  std::vector<StepReport> steps;  ///< in stage order, then step order
  double seconds = 0;
  int total = 0, cached = 0, executed = 0;
};

/// Builds as `options` says with the store's snapshots; progress events go to `progress`.
Result<BuildResult> run_build(store::Store& store, const BuildOptions& options, Progress& progress);

/// The report JSON (version 1): {"version":1,"image":…,"manifest":…,"tags":[…],
/// "steps":[{stage,stage_name,index,count,instruction,cached,executed,cache_key,reason,
/// seconds,layer,size}],"totals":{steps,cached,executed,hit_rate,seconds}}.
std::string report_json(const BuildResult& result);

/// "12 steps, 10 cached, 2 executed (83% hits) in 1.4s: sha256:… app:1".
std::string summary_line(const BuildResult& result);

/// Writes the uncompressed layer tar with diffID `diff_id` from the snapshot holding it
/// (the exporter's LayerSource for built images, whose layers have no stored blob).
Status write_layer_from_snapshots(store::Store& store, const Digest& diff_id, layer::ByteSink& out);

}  // namespace cbuild::build
