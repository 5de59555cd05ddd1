#include "cbuild/util/archive_read.hpp"

#include <archive.h>

namespace cbuild {

Status enable_decompression(struct archive* reader) {
  for (auto add : {archive_read_support_filter_gzip, archive_read_support_filter_bzip2, archive_read_support_filter_xz,
                   archive_read_support_filter_lzma, archive_read_support_filter_zstd}) {
    // ARCHIVE_WARN only means "through an external program"; FATAL means not built in.
    if (add(reader) == ARCHIVE_FATAL) return make_error("enable decompression: {}", archive_error_string(reader));
  }
  return {};
}

}  // namespace cbuild
