#include "cbuild/layer/whiteout.hpp"

namespace cbuild::layer {

bool is_overlay_xattr(std::string_view name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

}  // namespace cbuild::layer
