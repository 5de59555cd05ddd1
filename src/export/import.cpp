#include "cbuild/export/import.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <cstdlib>
#include <vector>

#include "cbuild/export/decompress.hpp"
#include "cbuild/export/images.hpp"
#include "cbuild/image/config.hpp"
#include "cbuild/image/media_types.hpp"
#include "cbuild/image/time.hpp"

namespace cbuild::exporter {
namespace {

namespace media = image::media;

/// Everything read from the input passes through here once: into the blob, its digest and
/// the decompressor (diffID), while libarchive parses the same bytes as a tar.
struct Tee {
  int fd = -1;
  store::BlobWriter* writer = nullptr;
  Sha256 sha;
  Decompressor decompressor;
  uint64_t size = 0;
  Status status;
  std::vector<char> buf = std::vector<char>(1 << 20);

  Result<size_t> pull() {
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read");
      if (n > 0) {
        TRY(writer->write(buf.data(), static_cast<size_t>(n)));
        sha.update(buf.data(), static_cast<size_t>(n));
        TRY(decompressor.write(buf.data(), static_cast<size_t>(n)));
        size += static_cast<size_t>(n);
      }
      return static_cast<size_t>(n);
    }
  }
};

la_ssize_t tee_read(archive*, void* data, const void** out) {
  Tee& tee = *static_cast<Tee*>(data);
  auto n = tee.pull();
  if (!n) {
    tee.status = std::move(n).error();
    return -1;
  }
  *out = tee.buf.data();
  return static_cast<la_ssize_t>(*n);
}

/// Reads the whole input as a tar through the tee, then drains what follows the tar.
Status read_tar(Tee& tee, const std::string& label) {
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  auto fail = [&](std::string_view what) -> Status {
    Error e = tee.status.ok() ? make_error(ExitCode::bad_input, "import `{}`: {}: {}", label, what,
                                           archive_error_string(a) ? archive_error_string(a) : "unreadable")
                              : std::move(tee.status).error().wrap("import `{}`", label);
    archive_read_free(a);
    return e;
  };
  if (archive_read_open(a, &tee, nullptr, tee_read, nullptr) != ARCHIVE_OK) return fail("not a tar archive");
  uint64_t entries = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return fail(entries == 0 ? "not a tar archive" : "corrupt tar archive");
    ++entries;
    if (archive_read_data_skip(a) < ARCHIVE_WARN) return fail("corrupt tar archive");
  }
  archive_read_free(a);
  for (;;) {  // padding after the end-of-archive blocks belongs to the blob too
    auto n = tee.pull();
    if (!n) return std::move(n).error().wrap("import `{}`", label);
    if (*n == 0) break;
  }
  return {};
}

int64_t default_created() {
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch)
    return std::strtoll(epoch, nullptr, 10);
  return store::now_seconds();
}

}  // namespace

Result<ImportResult> import_rootfs(store::Store& store, const fs::path& input, const ImportOptions& options) {
  const std::string label = input == "-" ? std::string("-") : input.string();
  UniqueFd owned;
  int fd = STDIN_FILENO;
  if (input != "-") {
    owned.reset(::open(input.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return errno_error(fmt::format("import: open `{}`", label));
    fd = owned.get();
  }
  auto lease = TRY(store.lease());
  auto writer = TRY(store.begin_blob());
  Tee tee;
  tee.fd = fd;
  tee.writer = &writer;
  TRY(read_tar(tee, label));
  auto tar = tee.decompressor.finish();
  if (!tar) return std::move(tar).error().wrap("import `{}`", label);
  Digest blob_digest = tee.sha.finish();

  image::ImageConfig config = image::ImageConfig::for_host();
  std::string created = image::format_rfc3339(options.created.value_or(default_created()));
  config.created = created;
  for (const std::string& kv : options.env) {
    size_t eq = kv.find('=');
    config.config.set_env(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
  }
  config.config.cmd = options.cmd;
  config.diff_ids.push_back(tar->diff_id);
  image::HistoryEntry history;
  history.created = created;
  history.comment = options.message.empty() ? "Imported from " + label : options.message;
  config.history.push_back(history);
  std::string config_bytes = config.serialize();

  store::Descriptor blob = TRY(writer.commit(blob_digest));
  std::string media_type(media::oci_layer_type(tar->compression));
  store::LayerRecord record{tar->diff_id, std::string(media::compression_name(tar->compression)), media_type,
                            blob};
  image::Descriptor layer;
  layer.media_type = media_type;
  layer.digest = blob.digest;
  layer.size = static_cast<int64_t>(blob.size);
  store::ImageRecord image =
      TRY(commit_image(store, config_bytes, {{layer, record}}, tar->size, options.tags));
  return ImportResult{image.config, image.manifest, tar->diff_id};
}

}  // namespace cbuild::exporter
