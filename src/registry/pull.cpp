// Pull: manifest resolution, parallel verified blob downloads, image recording.
#include "cbuild/registry/pull.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include "cbuild/image/config.hpp"
#include "cbuild/image/manifest.hpp"
#include "cbuild/image/media_types.hpp"

namespace cbuild::registry {
namespace {

namespace media = image::media;

bool variant_matches(const image::Platform& want, const image::Platform& have) {
  if (want.variant.empty()) return true;
  if (want.variant == have.variant) return true;
  return want.architecture == "arm64" && want.variant == "v8" && have.variant.empty();
}

std::string platform_name(const image::Platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

/// Downloads blobs with a few worker threads; the first error stops the others.
class BlobFetcher {
 public:
  BlobFetcher(store::Store& store, Client& client, std::string repository, const PullOptions& options)
      : m_store(store), m_client(client), m_repository(std::move(repository)), m_options(options) {}

  Status run(const std::vector<image::Descriptor>& blobs, PullResult& result) {
    std::vector<image::Descriptor> missing;
    for (const image::Descriptor& d : blobs) {
      if (m_store.has_blob(d.digest)) ++result.blobs_present;
      else missing.push_back(d);
    }
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t i = next++; i < missing.size() && !m_failed; i = next++) {
        Status st = fetch(missing[i]);
        std::lock_guard lock(m_mutex);
        if (!st.ok() && !m_failed) {
          m_failed = true;
          m_error = std::move(st).error();
        } else if (st.ok()) {
          ++result.blobs_downloaded;
          result.bytes_downloaded += static_cast<uint64_t>(missing[i].size);
          if (m_options.progress) m_options.progress(missing[i].digest.str() + ": downloaded");
        }
      }
    };
    const size_t threads = std::min<size_t>(missing.size(), static_cast<size_t>(std::max(1, m_options.jobs)));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
    if (m_failed) return m_error;
    return {};
  }

 private:
  Status fetch(const image::Descriptor& blob) { return fetch_blob(m_store, m_client, m_repository, blob); }

  store::Store& m_store;
  Client& m_client;
  std::string m_repository;
  const PullOptions& m_options;
  std::mutex m_mutex;
  bool m_failed = false;
  Error m_error;
};

struct ResolvedManifest {
  FetchedManifest fetched;
  std::optional<FetchedManifest> index;
};

Result<ResolvedManifest> resolve(Client& client, const image::Reference& ref, const PullOptions& options) {
  ResolvedManifest out{TRY(client.get_manifest(ref.path, ref.has_digest() ? ref.digest : ref.tag)), std::nullopt};
  if (media::is_index(out.fetched.media_type)) {
    auto index = image::Index::parse(out.fetched.bytes);
    if (!index.ok()) return std::move(index).error().wrap("pull `{}`: index", ref.str());
    image::Descriptor chosen = TRY(select_platform(index->manifests, options.platform));
    out.index = std::move(out.fetched);
    out.fetched = TRY(client.get_manifest(ref.path, chosen.digest.str()));
  }
  if (!media::is_manifest(out.fetched.media_type)) {
    return make_error(ExitCode::bad_input, "pull `{}`: unsupported manifest type `{}`", ref.str(),
                      out.fetched.media_type);
  }
  return out;
}

Result<std::vector<store::LayerRecord>> layer_records(const image::Manifest& manifest, std::string_view config_bytes,
                                                      const image::Reference& ref) {
  auto config = image::ImageConfig::parse(config_bytes);
  if (!config.ok()) return std::move(config).error().wrap("pull `{}`: config", ref.str());
  if (config->diff_ids.size() != manifest.layers.size()) {
    return make_error(ExitCode::bad_input, "pull `{}`: manifest has {} layers but the config {} diffIDs", ref.str(),
                      manifest.layers.size(), config->diff_ids.size());
  }
  std::vector<store::LayerRecord> records;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const image::Descriptor& layer = manifest.layers[i];
    auto compression = media::layer_compression(layer.media_type);
    if (!compression) {
      return make_error(ExitCode::bad_input, "pull `{}`: layer {} has unsupported media type `{}`", ref.str(),
                        layer.digest.str(), layer.media_type);
    }
    records.push_back(store::LayerRecord{config->diff_ids[i], std::string(media::compression_name(*compression)),
                                         layer.media_type,
                                         store::Descriptor{layer.digest, static_cast<uint64_t>(layer.size)}});
  }
  return records;
}

}  // namespace

Result<image::Descriptor> select_platform(const std::vector<image::Descriptor>& manifests,
                                          const image::Platform& platform) {
  const image::Descriptor* best = nullptr;
  std::string available;
  for (const image::Descriptor& d : manifests) {
    if (!d.platform) continue;
    available += (available.empty() ? "" : ", ") + platform_name(*d.platform);
    if (d.platform->os != platform.os || d.platform->architecture != platform.architecture) continue;
    if (!variant_matches(platform, *d.platform)) continue;
    if (!best || (!best->platform->variant.empty() && d.platform->variant.empty())) best = &d;
  }
  if (!best) {
    return make_error(ExitCode::not_found, "no manifest for platform {} in the index (available: {})",
                      platform_name(platform), available.empty() ? "none" : available);
  }
  return *best;
}

Result<PullResult> pull(store::Store& store, Client& client, const image::Reference& ref,
                        const PullOptions& options) {
  auto lease = TRY(store.lease());
  ResolvedManifest resolved = TRY(resolve(client, ref, options));
  PullResult result;
  if (resolved.index) result.index = resolved.index->digest;
  result.manifest = resolved.fetched.digest;
  // The chosen manifest first: its config is the image ID.
  std::vector<FetchedManifest> manifests{resolved.fetched};
  if (resolved.index && options.all_platforms) {  // then every other manifest of the index
    for (const image::Descriptor& child : TRY(image::Index::parse(resolved.index->bytes)).manifests) {
      if (child.digest == resolved.fetched.digest) continue;
      FetchedManifest m = TRY(client.get_manifest(ref.path, child.digest.str()));
      if (!media::is_manifest(m.media_type))
        return make_error(ExitCode::bad_input, "pull `{}`: index entry {} is a `{}`, not an image manifest",
                          ref.str(), child.digest.str(), m.media_type);
      manifests.push_back(std::move(m));
    }
  }
  std::vector<store::LayerRecord> layers;
  uint64_t size = 0;
  for (size_t i = 0; i < manifests.size(); ++i) {
    auto manifest = image::Manifest::parse(manifests[i].bytes);
    if (!manifest.ok()) return std::move(manifest).error().wrap("pull `{}`: manifest", ref.str());
    if (i == 0) result.config = manifest->config.digest;
    std::vector<image::Descriptor> blobs{manifest->config};
    blobs.insert(blobs.end(), manifest->layers.begin(), manifest->layers.end());
    TRY(BlobFetcher(store, client, ref.path, options).run(blobs, result));
    const std::string config_bytes = TRY(store.read_blob(manifest->config.digest));
    for (store::LayerRecord& l : TRY(layer_records(*manifest, config_bytes, ref))) {
      if (i == 0) size += l.blob.size;
      layers.push_back(std::move(l));
    }
    TRY(store.put_blob(manifests[i].bytes, manifests[i].digest));
  }
  // With every platform, the image record is the index (its ID that of the chosen manifest).
  const bool keep_index = resolved.index && options.all_platforms;
  const FetchedManifest& top = keep_index ? *resolved.index : resolved.fetched;
  if (keep_index) TRY(store.put_blob(top.bytes, top.digest));
  store::ImageRecord record{top.digest, result.config, top.media_type, size, store::now_seconds()};
  result.name = ref.has_digest() ? ref.name() + "@" + ref.digest : ref.str();
  TRY(store.transaction([&]() -> Status {
    for (const store::LayerRecord& l : layers) TRY(store.put_layer(l));
    TRY(store.put_image(record));
    TRY(store.set_tag(result.name, record));
    return {};
  }));
  return result;
}

Status fetch_blob(store::Store& store, Client& client, std::string_view repository, const image::Descriptor& blob) {
  std::optional<store::BlobWriter> writer;
  auto restart = [&](bool) -> Status {
    writer.reset();
    writer.emplace(TRY(store.begin_blob()));
    return {};
  };
  auto sink = [&](std::string_view chunk) -> Status {
    if (writer->written() + chunk.size() > static_cast<uint64_t>(blob.size))
      return make_error("blob {} is larger than the {} bytes its descriptor says", blob.digest.str(), blob.size);
    return writer->write(chunk);
  };
  const auto where = [&] { return fmt::format("pull blob {} of `{}/{}`", blob.digest.str(), client.domain(), repository); };
  Status got = client.get_blob(repository, blob.digest, restart, sink);
  if (!got.ok()) return std::move(got).error().wrap("{}", where());
  if (writer->written() != static_cast<uint64_t>(blob.size))
    return make_error("{}: got {} bytes, descriptor says {}", where(), writer->written(), blob.size);
  auto committed = writer->commit(blob.digest);
  if (!committed.ok()) return std::move(committed).error().wrap("{}", where());
  return {};
}

}  // namespace cbuild::registry
