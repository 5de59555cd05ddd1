#pragma once
/// OCI whiteouts (image-spec layer.md) and their overlayfs counterparts.
///   OCI (in layer tars):   `.wh.NAME` deletes NAME of lower layers;
///                          `.wh..wh..opq` in DIR hides everything lower layers have in DIR.
///   overlayfs (upperdirs): a character device 0/0 named NAME deletes NAME; a directory
///                          with xattr `trusted.overlay.opaque` (or `user.overlay.opaque`
///                          with the `userxattr` mount option) = "y" is opaque. Kernels
///                          >= 6.7 also use xattr whiteouts: an empty regular file with
///                          `*.overlay.whiteout`; both are recognised when reading.
#include <string_view>

namespace cbuild::layer {

constexpr std::string_view k_whiteout_prefix = ".wh.";
constexpr std::string_view k_whiteout_meta_prefix = ".wh..wh.";
constexpr std::string_view k_opaque_whiteout = ".wh..wh..opq";

/// The xattr namespace overlayfs uses for its own metadata in an upperdir.
enum class OverlayXattrs {
  trusted,  ///< `trusted.overlay.*` (mounted by real root)
  user,     ///< `user.overlay.*` (mounted with `userxattr` inside a user namespace)
};

/// True for names overlayfs keeps in xattrs (`trusted.overlay.*`, `user.overlay.*`):
/// these never go into a layer.
bool is_overlay_xattr(std::string_view name);

}  // namespace cbuild::layer
