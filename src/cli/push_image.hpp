#pragma once
// Pushing a local image (`cbuild push`, `cbuild build --push`).
#include <cstdint>
#include <string>
#include <vector>

#include "cbuild/store/store.hpp"

namespace cbuild::cli {

struct PushSettings {
  std::vector<std::string> insecure;  ///< registries reached over plain HTTP
  int jobs = 3;
  uint64_t chunk_size = 64ull << 20;
  bool quiet = false;  ///< print only NAME@DIGEST
};

/// Push the local image `source` (name or ID) as `target`, printing docker's lines.
/// Built layers that exist only as snapshots are compressed (gzip) on the way, once. An
/// image kept as an index (`pull --all-platforms`) is pushed whole: its manifests, then it.
Status push_local_image(store::Store& store, const std::string& source, const std::string& target,
                        const PushSettings& settings);

}  // namespace cbuild::cli
