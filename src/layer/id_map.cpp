#include "cbuild/layer/id_map.hpp"

namespace cbuild::layer {

std::optional<uint32_t> IdMap::to_container(uint32_t host) const {
  if (ranges.empty()) return host;
  for (const auto& r : ranges)
    if (host >= r.host && host - r.host < r.count) return r.container + (host - r.host);
  return std::nullopt;
}

std::optional<uint32_t> IdMap::to_host(uint32_t container) const {
  if (ranges.empty()) return container;
  for (const auto& r : ranges)
    if (container >= r.container && container - r.container < r.count)
      return r.host + (container - r.container);
  return std::nullopt;
}

}  // namespace cbuild::layer
