// Built layers live as snapshots only; their tar is written from the snapshot on demand.
#include "cbuild/build/builder.hpp"
#include "cbuild/executor/idmap.hpp"

namespace cbuild::build {

Status write_layer_from_snapshots(store::Store& store, const Digest& diff_id, layer::ByteSink& out) {
  auto snapshots = TRY(store.list_snapshots());
  for (const auto& s : snapshots) {
    if (s.diff_id != diff_id || s.info.find("\"flat\"") != std::string::npos) continue;
    snapshot::Snapshotter snapshotter(store, snapshot::Kind::overlay, &executor::host_id_map());
    auto written = TRY(snapshotter.write_layer(s.id, {}, out));
    if (written.diff_id != diff_id)
      return make_error("snapshot {} gave layer {}, expected {}", s.id, written.diff_id.str(), diff_id.str());
    return {};
  }
  return make_error(ExitCode::not_found, "layer {} is neither stored nor unpacked", diff_id.str());
}

}  // namespace cbuild::build
