#pragma once
/// The decompressions cbuild reads, in one place: layers, `ADD` archives, tar contexts and
/// `cbuild load` all accept what docker's pkg/archive DecompressStream does (gzip, bzip2,
/// xz, zstd; plus xz's older lzma format) and nothing that needs an external program.
#include "cbuild/util/result.hpp"

struct archive;

namespace cbuild {

/// Enables those decompression filters on a libarchive reader (uncompressed input is always
/// read).
Status enable_decompression(struct archive* reader);

}  // namespace cbuild
