// Push: parallel blob uploads (HEAD check, cross-repository mount, monolithic or chunked
// upload), manifest last.
#include "cbuild/registry/push.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "cbuild/image/config.hpp"
#include "cbuild/image/manifest.hpp"
#include "cbuild/image/media_types.hpp"
#include "cbuild/util/fd.hpp"

namespace cbuild::registry {
namespace {

namespace media = image::media;

constexpr std::string_view k_octet_stream = "application/octet-stream";

HttpRequest make_request(std::string method, std::string url) {
  HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  return request;
}

std::string short_hex(const Digest& d) { return std::string(d.hex().substr(0, 12)); }

/// A stored blob file read by offset (a retried request reads it again from the start).
Result<BodySource> blob_body(const std::shared_ptr<UniqueFd>& fd, uint64_t offset, uint64_t size) {
  BodySource source;
  source.size = size;
  source.read = [fd, offset](uint64_t at, char* buf, size_t n) -> Result<size_t> {
    for (;;) {
      ssize_t got = ::pread(fd->get(), buf, n, static_cast<off_t>(offset + at));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return errno_error("read blob");
      return static_cast<size_t>(got);
    }
  };
  return source;
}

/// Uploads the blobs of one image to one repository.
class Uploader {
 public:
  Uploader(store::Store& store, Client& client, std::string repository, const PushOptions& options)
      : m_store(store), m_client(client), m_repository(std::move(repository)), m_options(options) {}

  enum class Outcome { existing, mounted, pushed };

  /// Uploads one stored blob unless the repository has it.
  Result<Outcome> upload(const image::Descriptor& blob) {
    if (TRY(exists(blob.digest))) return Outcome::existing;
    std::string location;
    if (!m_options.mount_from.empty()) {
      const std::string& from = m_options.mount_from.front();
      HttpRequest post =
          make_request("POST", fmt::format("{}/v2/{}/blobs/uploads/?mount={}&from={}", m_client.base_url(),
                                           m_repository, blob.digest.str(), from));
      const Access access{m_repository, true, {from}};
      HttpResponse r = TRY(m_client.send(access, post));
      if (r.status == 201) return Outcome::mounted;
      if (r.status != 202) return m_client.response_error(post, r, m_repository);
      location = TRY(session_location(r, post));
    } else {
      HttpRequest post =
          make_request("POST", fmt::format("{}/v2/{}/blobs/uploads/", m_client.base_url(), m_repository));
      HttpResponse r = TRY(m_client.request(push_access(), post));
      location = TRY(session_location(r, post));
    }
    auto fd =
        std::make_shared<UniqueFd>(::open(m_store.blob_path(blob.digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (!*fd) return errno_error(fmt::format("open `{}`", m_store.blob_path(blob.digest).string()));
    const uint64_t size = static_cast<uint64_t>(blob.size);
    HttpRequest put = make_request("PUT", with_digest(location, blob.digest));
    put.headers.emplace_back("Content-Type", std::string(k_octet_stream));
    if (size <= m_options.chunk_size) {
      put.source = TRY(blob_body(fd, 0, size));
    } else {
      TRY(upload_chunks(fd, size, location));
      put.url = with_digest(location, blob.digest);
    }
    HttpResponse done = TRY(m_client.request(push_access(), put));
    if (std::string got = done.header("docker-content-digest"); !got.empty() && got != blob.digest.str())
      return make_error("registry `{}` stored blob {} as {}", m_client.domain(), blob.digest.str(), got);
    return Outcome::pushed;
  }

  /// PATCHes `size` bytes in chunks, following each Location. A 416 (the registry holds
  /// another amount, e.g. after a retried chunk it had partly received) resumes from the
  /// offset its upload status reports.
  Status upload_chunks(const std::shared_ptr<UniqueFd>& fd, uint64_t size, std::string& location) {
    int resumes = 0;
    for (uint64_t offset = 0; offset < size;) {
      const uint64_t length = std::min(m_options.chunk_size, size - offset);
      HttpRequest patch = make_request("PATCH", location);
      patch.headers.emplace_back("Content-Type", std::string(k_octet_stream));
      patch.headers.emplace_back("Content-Range", fmt::format("{}-{}", offset, offset + length - 1));
      patch.source = TRY(blob_body(fd, offset, length));
      HttpResponse r = TRY(m_client.send(push_access(), patch));
      if (r.status == 416 && ++resumes <= 3) {
        offset = TRY(upload_offset(location));
        continue;
      }
      if (r.status / 100 != 2) return m_client.response_error(patch, r, m_repository);
      location = TRY(session_location(r, patch));
      offset += length;
    }
    return {};
  }

  /// GET of an upload session: the bytes it holds (from `Range: 0-<last>`); updates `location`.
  Result<uint64_t> upload_offset(std::string& location) {
    HttpRequest get = make_request("GET", location);
    HttpResponse r = TRY(m_client.request(push_access(), get));
    location = TRY(session_location(r, get));
    const std::string range = r.header("range");
    const size_t dash = range.find('-');
    if (dash == std::string::npos) return uint64_t{0};
    return static_cast<uint64_t>(std::strtoull(range.c_str() + dash + 1, nullptr, 10)) + 1;
  }

  Result<bool> exists(const Digest& digest) {
    HttpRequest head = make_request(
        "HEAD", fmt::format("{}/v2/{}/blobs/{}", m_client.base_url(), m_repository, digest.str()));
    HttpResponse r = TRY(m_client.send(push_access(), head));
    if (r.status == 200) return true;
    if (r.status == 404) return false;
    return m_client.response_error(head, r, m_repository);
  }

  Access push_access() const { return Access{m_repository, true, {}}; }

 private:
  /// The absolute URL of the Location of an upload-session answer.
  Result<std::string> session_location(const HttpResponse& r, const HttpRequest& request) {
    std::string location = r.header("location");
    if (location.empty())
      return make_error("{} {}: registry `{}` sent no upload Location", request.method, request.url,
                        m_client.domain());
    if (location.find("://") != std::string::npos) return location;
    return m_client.base_url() + (location.starts_with('/') ? "" : "/") + location;
  }

  static std::string with_digest(const std::string& location, const Digest& digest) {
    return location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest.str();
  }

  store::Store& m_store;
  Client& m_client;
  std::string m_repository;
  const PushOptions& m_options;
};

/// Runs `fn(i)` for i in [0, n) on up to `jobs` threads; the first error stops the rest.
Status parallel_for(size_t n, int jobs, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  Error error;
  auto worker = [&] {
    for (size_t i = next++; i < n && !failed; i = next++) {
      Status st = fn(i);
      if (st.ok()) continue;
      std::lock_guard lock(mutex);
      if (!failed.exchange(true)) error = std::move(st).error();
    }
  };
  const size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, jobs)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  if (failed) return error;
  return {};
}

/// OCI media types for a manifest rewritten over new layer descriptors.
std::string rewrite_manifest(image::Manifest manifest, const std::vector<image::Descriptor>& layers) {
  manifest.media_type = std::string(media::k_oci_manifest);
  if (manifest.config.media_type == media::k_docker_config)
    manifest.config.media_type = std::string(media::k_oci_config);
  manifest.layers = layers;
  for (image::Descriptor& layer : manifest.layers) {
    if (auto c = media::layer_compression(layer.media_type))
      layer.media_type = std::string(media::oci_layer_type(*c));
  }
  return manifest.serialize();
}

struct Uploaded {
  std::vector<image::Descriptor> layers;
  PushResult counts;
};

Status push_blobs(store::Store& store, Client& client, const image::Reference& ref, const PushImage& image,
                  const image::Manifest& manifest, const std::vector<PushLayer>& layers,
                  const PushOptions& options, Uploaded& out) {
  Uploader uploader(store, client, ref.path, options);
  std::mutex mutex;
  out.layers.resize(layers.size());
  // Index 0 is the config; i > 0 is layer i - 1.
  return parallel_for(layers.size() + 1, options.jobs, [&](size_t i) -> Status {
    image::Descriptor blob = i == 0 ? manifest.config : layers[i - 1].descriptor;
    if (i > 0 && !store.has_blob(blob.digest)) {
      if (!image.ensure_blob)
        return make_error(ExitCode::not_found, "layer {} has no stored blob to push",
                          layers[i - 1].diff_id.str());
      blob = TRY(image.ensure_blob(layers[i - 1]));
    }
    if (i > 0) out.layers[i - 1] = blob;
    auto outcome = uploader.upload(blob);
    if (!outcome.ok()) return std::move(outcome).error().wrap("push blob {}", blob.digest.str());
    std::lock_guard lock(mutex);
    std::string line = short_hex(blob.digest) + ": ";
    switch (*outcome) {
      case Uploader::Outcome::existing:
        ++out.counts.blobs_existing;
        line += "Layer already exists";
        break;
      case Uploader::Outcome::mounted:
        ++out.counts.blobs_mounted;
        line += "Mounted from " + options.mount_from.front();
        break;
      case Uploader::Outcome::pushed:
        ++out.counts.blobs_pushed;
        out.counts.bytes_pushed += static_cast<uint64_t>(blob.size);
        line += "Pushed";
        break;
    }
    if (options.progress && i > 0) options.progress(line);
    return {};
  });
}

Status record_pushed(store::Store& store, const PushResult& result, const image::Manifest& manifest,
                     const std::string& name) {
  TRY(store.put_blob(result.manifest_bytes, result.manifest));
  uint64_t size = 0;
  for (const image::Descriptor& l : manifest.layers) size += static_cast<uint64_t>(l.size);
  store::ImageRecord record{result.manifest, manifest.config.digest, result.media_type, size,
                            store::now_seconds()};
  return store.set_tag(name, record);
}

/// PUT a manifest (or index) as `ref`'s tag or digest; the registry must store it as `digest`.
Status put_manifest(Client& client, const image::Reference& ref, const std::string& bytes,
                    const std::string& media_type, const Digest& digest) {
  HttpRequest put = make_request("PUT", fmt::format("{}/v2/{}/manifests/{}", client.base_url(), ref.path,
                                                    ref.has_digest() ? ref.digest : ref.tag));
  put.headers.emplace_back("Content-Type", media_type);
  put.body = bytes;
  HttpResponse r = TRY(client.request(Access{ref.path, true, {}}, put));
  if (std::string got = r.header("docker-content-digest"); !got.empty() && got != digest.str())
    return make_error("push `{}`: registry `{}` stored the manifest as {}", ref.str(), client.domain(), got);
  return {};
}

}  // namespace

Result<std::vector<PushLayer>> push_layers(std::string_view manifest_bytes, std::string_view config_bytes) {
  auto manifest = TRY(image::Manifest::parse(manifest_bytes));
  auto config = TRY(image::ImageConfig::parse(config_bytes));
  if (config.diff_ids.size() != manifest.layers.size()) {
    return make_error(ExitCode::bad_input, "manifest has {} layers but the config {} diffIDs",
                      manifest.layers.size(), config.diff_ids.size());
  }
  std::vector<PushLayer> layers;
  for (size_t i = 0; i < manifest.layers.size(); ++i)
    layers.push_back({config.diff_ids[i], manifest.layers[i]});
  return layers;
}

Result<PushResult> push(store::Store& store, Client& client, const image::Reference& ref,
                        const PushImage& image, const PushOptions& options) {
  auto lease = TRY(store.lease());
  if (!media::is_manifest(image.manifest_media_type)) {
    return make_error(ExitCode::bad_input, "push `{}`: cannot push a `{}` (an image manifest is needed)",
                      ref.str(), image.manifest_media_type);
  }
  const image::Manifest manifest = TRY(image::Manifest::parse(image.manifest_bytes));
  if (Digest::of(image.config_bytes) != manifest.config.digest)
    return make_error("push `{}`: the config does not match the manifest's config digest", ref.str());
  const std::vector<PushLayer> layers = TRY(push_layers(image.manifest_bytes, image.config_bytes));
  if (!store.has_blob(manifest.config.digest))
    TRY(store.put_blob(image.config_bytes, manifest.config.digest));

  Uploaded uploaded;
  TRY(push_blobs(store, client, ref, image, manifest, layers, options, uploaded));
  PushResult result = uploaded.counts;
  result.manifest_rewritten = uploaded.layers != manifest.layers;
  result.manifest_bytes =
      result.manifest_rewritten ? rewrite_manifest(manifest, uploaded.layers) : image.manifest_bytes;
  result.media_type =
      result.manifest_rewritten ? std::string(media::k_oci_manifest) : image.manifest_media_type;
  result.manifest = Digest::of(result.manifest_bytes);
  result.manifest_size = result.manifest_bytes.size();
  if (ref.has_digest() && ref.digest != result.manifest.str()) {
    return make_error(ExitCode::bad_input, "push `{}`: the manifest to push has digest {}", ref.str(),
                      result.manifest.str());
  }

  TRY(put_manifest(client, ref, result.manifest_bytes, result.media_type, result.manifest));
  if (result.manifest_rewritten && !options.record_name.empty())
    TRY(record_pushed(store, result, TRY(image::Manifest::parse(result.manifest_bytes)),
                      options.record_name));
  return result;
}

Result<PushResult> push_index(store::Store& store, Client& client, const image::Reference& ref,
                              const PushIndex& index, const PushOptions& options) {
  if (!media::is_index(index.media_type))
    return make_error(ExitCode::bad_input, "push `{}`: `{}` is not an index", ref.str(), index.media_type);
  const auto listed = TRY(image::Index::parse(index.bytes)).manifests;
  if (listed.size() != index.manifests.size())
    return make_error("push `{}`: the index lists {} manifests, {} given", ref.str(), listed.size(),
                      index.manifests.size());
  PushResult total;
  PushOptions child_options = options;
  child_options.record_name.clear();
  for (size_t i = 0; i < listed.size(); ++i) {
    // By digest: a manifest that would change (a layer without its blob) would change the index.
    image::Reference child = ref;
    child.tag.clear();
    child.digest = listed[i].digest.str();
    PushResult r = TRY(push(store, client, child, index.manifests[i], child_options));
    total.blobs_pushed += r.blobs_pushed;
    total.blobs_existing += r.blobs_existing;
    total.blobs_mounted += r.blobs_mounted;
    total.bytes_pushed += r.bytes_pushed;
  }
  total.manifest_bytes = index.bytes;
  total.media_type = index.media_type;
  total.manifest = Digest::of(index.bytes);
  total.manifest_size = index.bytes.size();
  if (ref.has_digest() && ref.digest != total.manifest.str())
    return make_error(ExitCode::bad_input, "push `{}`: the index has digest {}", ref.str(), total.manifest.str());
  TRY(put_manifest(client, ref, total.manifest_bytes, total.media_type, total.manifest));
  return total;
}

}  // namespace cbuild::registry
