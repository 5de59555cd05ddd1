// --cache-to / --cache-from: the cache artifact (see remote_cache.hpp) in a registry or an
// OCI layout directory.
#include "cbuild/build/remote_cache.hpp"
#include "cbuild/util/fields.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <mutex>
#include <set>

#include "cbuild/export/images.hpp"
#include "cbuild/export/save.hpp"
#include "cbuild/image/config.hpp"
#include "cbuild/image/manifest.hpp"
#include "cbuild/image/media_types.hpp"
#include "cbuild/image/reference.hpp"
#include "cbuild/registry/connection.hpp"
#include "cbuild/registry/pull.hpp"
#include "cbuild/registry/push.hpp"

namespace cbuild::build {

using Json = nlohmann::json;
namespace media = image::media;

namespace {


/// A registry connection for one reference.
struct Remote {
  image::Reference ref;
  std::unique_ptr<registry::Connection> connection;

  static Result<std::unique_ptr<Remote>> open(const std::string& text, const std::vector<std::string>& insecure) {
    auto r = std::make_unique<Remote>();
    r->ref = TRY(image::parse_docker_ref(text));
    r->connection = std::make_unique<registry::Connection>(r->ref.domain, insecure);
    return r;
  }
  registry::Client& client() { return connection->client(); }
};

Status copy_into_store(store::Store& store, const fs::path& file, const image::Descriptor& d) {
  auto writer = TRY(store.begin_blob());
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open `{}`", file.string()));
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(fmt::format("read `{}`", file.string()));
    if (n == 0) break;
    TRY(writer.write(buf.data(), static_cast<size_t>(n)));
  }
  auto committed = writer.commit(d.digest);
  if (!committed) return std::move(committed).error().wrap("cache blob `{}`", file.string());
  return {};
}

fs::path layout_blob(const fs::path& dir, const Digest& d) { return dir / "blobs" / "sha256" / d.hex(); }

Status write_layout(store::Store& store, const fs::path& dir, const std::vector<image::Descriptor>& blobs,
                    const image::Descriptor& manifest) {
  TRY(make_dirs(dir / "blobs" / "sha256"));
  for (const auto& b : blobs) {
    fs::path dest = layout_blob(dir, b.digest);
    std::error_code ec;
    if (fs::exists(dest, ec)) continue;  // content-addressed: an unchanged blob is not written again
    AtomicFile out = TRY(AtomicFile::create(dest, 0644));
    auto reader = TRY(store.read_blob(b.digest));
    TRY(out.write(reader));
    TRY(out.commit());
  }
  TRY(write_file_atomic(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  Json index = {{"schemaVersion", 2},
                {"mediaType", std::string(media::k_oci_index)},
                {"manifests", Json::array({{{"mediaType", manifest.media_type},
                                            {"digest", manifest.digest.str()},
                                            {"size", manifest.size},
                                            {"annotations", {{"org.opencontainers.image.ref.name", "cache"}}}}})}};
  return write_file_atomic(dir / "index.json", index.dump());
}

}  // namespace

Result<CacheSpec> parse_cache_spec(std::string_view text, bool for_export) {
  CacheSpec spec;
  if (text.find('=') == std::string_view::npos) {
    if (for_export && text == "inline") {
      spec.type = CacheSpec::Type::inline_;
      return spec;
    }
    if (for_export) return make_error(ExitCode::usage, "--cache-to `{}`: give type=registry,ref=… or type=local,dest=…", text);
    spec.ref = std::string(text);
    return spec;
  }
  auto f = parse_fields(text);
  std::string type = f.count("type") ? f["type"] : (f.count("ref") ? "registry" : "");
  const char* flag = for_export ? "--cache-to" : "--cache-from";
  if (type == "registry") {
    spec.ref = f["ref"];
    if (spec.ref.empty()) return make_error(ExitCode::usage, "{} `{}`: ref= is required", flag, text);
  } else if (type == "local") {
    spec.type = CacheSpec::Type::local;
    spec.dir = for_export ? f["dest"] : f["src"];
    if (spec.dir.empty())
      return make_error(ExitCode::usage, "{} `{}`: {}= is required", flag, text, for_export ? "dest" : "src");
  } else if (type == "inline" && for_export) {
    spec.type = CacheSpec::Type::inline_;
  } else {
    return make_error(ExitCode::usage, "{} `{}`: unknown type `{}` (registry, local{})", flag, text, type,
                      for_export ? ", inline" : "");
  }
  if (f.count("mode")) {
    if (f["mode"] != "min" && f["mode"] != "max")
      return make_error(ExitCode::usage, "{} `{}`: mode is min or max", flag, text);
    spec.max = f["mode"] == "max";
  }
  spec.cache_mounts = f.count("cache-mounts") && (f["cache-mounts"] == "true" || f["cache-mounts"].empty());
  return spec;
}

std::string cache_field_json(const std::vector<RemoteRecord>& records, const std::vector<RemoteMount>& mounts) {
  Json recs = Json::array();
  for (const auto& r : records) {
    Json chain = Json::array();
    for (const auto& d : r.chain) chain.push_back(d.str());
    recs.push_back({{"key", r.key}, {"identity", r.identity}, {"created", r.created}, {"size", r.size}, {"chain", chain}});
  }
  Json ms = Json::array();
  for (const auto& m : mounts) ms.push_back({{"id", m.id}, {"diff_id", m.diff_id.str()}});
  return Json{{"records", recs}, {"mounts", ms}}.dump();
}

Status export_cache(store::Store& store, const CacheSpec& spec, const CacheExportInput& input) {
  std::vector<Digest> diffs;
  std::set<Digest> seen;
  for (const auto& r : input.records)
    for (const auto& d : r.chain)
      if (seen.insert(d).second) diffs.push_back(d);
  std::vector<image::Descriptor> layers;
  image::ImageConfig config = image::ImageConfig::for_host();
  for (const auto& d : diffs) {
    auto rec = TRY(exporter::ensure_layer_blob(store, d, media::Compression::gzip, input.layer_source));
    layers.push_back({rec.media_type, rec.blob.digest, static_cast<int64_t>(rec.blob.size), {}, {}, {}, {}, Json::object()});
    config.diff_ids.push_back(d);
  }
  std::vector<RemoteMount> mounts;
  for (const auto& [id, dir] : input.mounts) {
    auto writer = TRY(store.begin_blob());
    exporter::BlobSink sink(writer);
    layer::WriteOptions options;
    options.compression = layer::CompressionOptions{layer::Compression::gzip};
    auto digests = TRY(input.tree_writer(dir, options, sink));
    auto blob = TRY(writer.commit(digests.blob_digest));
    TRY(store.put_layer({digests.diff_id, "gzip", std::string(media::k_oci_layer_gzip), blob}));
    layers.push_back({std::string(media::k_oci_layer_gzip), blob.digest, static_cast<int64_t>(blob.size), {}, {}, {}, {},
                      Json::object()});
    config.diff_ids.push_back(digests.diff_id);
    mounts.push_back({id, digests.diff_id});
  }
  config.extra[std::string(k_cache_field)] = Json::parse(cache_field_json(input.records, mounts));
  std::string config_bytes = config.serialize();
  TRY(store.put_blob(config_bytes));
  std::string manifest_bytes = exporter::make_manifest(config_bytes, layers);
  auto manifest_blob = TRY(store.put_blob(manifest_bytes));

  if (spec.type == CacheSpec::Type::local) {
    std::vector<image::Descriptor> blobs = layers;
    blobs.push_back({std::string(media::k_oci_config), Digest::of(config_bytes), static_cast<int64_t>(config_bytes.size()),
                     {}, {}, {}, {}, Json::object()});
    image::Descriptor m{std::string(media::k_oci_manifest), manifest_blob.digest,
                        static_cast<int64_t>(manifest_blob.size), {}, {}, {}, {}, Json::object()};
    blobs.push_back(m);
    auto written = write_layout(store, spec.dir, blobs, m);
    if (!written) return std::move(written).error().wrap("export cache to `{}`", spec.dir.string());
    return {};
  }
  auto remote = TRY(Remote::open(spec.ref, input.insecure_registries));
  registry::PushImage image{manifest_bytes, std::string(media::k_oci_manifest), config_bytes, {}};
  auto pushed = registry::push(store, remote->client(), remote->ref, image);
  if (!pushed) return std::move(pushed).error().wrap("export cache to `{}`", spec.ref);
  return {};
}

// ---- import --------------------------------------------------------------------------

struct CacheImport::Impl {
  store::Store* store = nullptr;
  std::string name;
  std::unique_ptr<Remote> remote;  // registry
  fs::path dir;                    // local
  std::map<std::string, RemoteRecord> records;
  std::vector<RemoteMount> mounts;
  std::map<Digest, image::Descriptor> blobs;  // diffID → blob
  std::mutex mutex;

  Status parse(const std::string& manifest_bytes, const std::string& config_bytes) {
    auto manifest = TRY(image::Manifest::parse(manifest_bytes));
    auto config = TRY(image::ImageConfig::parse(config_bytes));
    if (config.diff_ids.size() != manifest.layers.size())
      return make_error(ExitCode::bad_input, "cache {}: {} layers but {} diffIDs", name, manifest.layers.size(),
                        config.diff_ids.size());
    for (size_t i = 0; i < manifest.layers.size(); ++i) blobs[config.diff_ids[i]] = manifest.layers[i];
    auto field = config.extra.find(std::string(k_cache_field));
    if (field == config.extra.end()) return {};  // an image without inline cache: nothing to use
    try {
      for (const auto& r : field->at("records")) {
        RemoteRecord rec;
        rec.key = r.at("key").get<std::string>();
        rec.identity = r.at("identity").get<std::string>();
        rec.created = r.value("created", "");
        rec.size = r.value("size", uint64_t{0});
        for (const auto& d : r.at("chain")) rec.chain.push_back(TRY(Digest::parse(d.get<std::string>())));
        records[rec.key] = std::move(rec);
      }
      for (const auto& m : field->value("mounts", Json::array()))
        mounts.push_back({m.at("id").get<std::string>(), TRY(Digest::parse(m.at("diff_id").get<std::string>()))});
    } catch (const Json::exception& e) {
      return make_error(ExitCode::bad_input, "cache {}: bad `{}` field: {}", name, k_cache_field, e.what());
    }
    return {};
  }

  Status fetch(const image::Descriptor& d) {
    if (store->has_blob(d.digest)) return {};
    if (remote) return registry::fetch_blob(*store, remote->client(), remote->ref.path, d);
    return copy_into_store(*store, layout_blob(dir, d.digest), d);
  }
};

Result<CacheImport> CacheImport::load(store::Store& store, const CacheSpec& spec,
                                      const std::vector<std::string>& insecure_registries) {
  auto impl = std::make_unique<Impl>();
  impl->store = &store;
  std::string manifest_bytes, config_bytes;
  if (spec.type == CacheSpec::Type::local) {
    impl->dir = spec.dir;
    impl->name = "local " + spec.dir.string();
    auto index_text = read_file(spec.dir / "index.json");
    if (!index_text) return std::move(index_text).error().wrap("--cache-from {}", spec.dir.string());
    auto index = image::Index::parse(*index_text);
    if (!index || index->manifests.empty())
      return make_error(ExitCode::bad_input, "--cache-from `{}`: index.json names no manifest", spec.dir.string());
    manifest_bytes = TRY(read_file(layout_blob(spec.dir, index->manifests.front().digest)));
    auto manifest = TRY(image::Manifest::parse(manifest_bytes));
    config_bytes = TRY(read_file(layout_blob(spec.dir, manifest.config.digest)));
  } else {
    impl->remote = TRY(Remote::open(spec.ref, insecure_registries));
    impl->name = "registry " + impl->remote->ref.str();
    const auto& ref = impl->remote->ref;
    auto fetched = impl->remote->client().get_manifest(ref.path, ref.has_digest() ? ref.digest : ref.tag);
    if (!fetched) return std::move(fetched).error().wrap("--cache-from {}", ref.str());
    manifest_bytes = fetched->bytes;
    auto manifest = TRY(image::Manifest::parse(manifest_bytes));
    TRY(impl->fetch(manifest.config));
    config_bytes = TRY(store.read_blob(manifest.config.digest));
  }
  TRY(impl->parse(manifest_bytes, config_bytes));
  return CacheImport(std::move(impl));
}

CacheImport::CacheImport(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
CacheImport::CacheImport(CacheImport&&) noexcept = default;
CacheImport& CacheImport::operator=(CacheImport&&) noexcept = default;
CacheImport::~CacheImport() = default;

const RemoteRecord* CacheImport::find(const std::string& key) const {
  auto it = m_impl->records.find(key);
  return it == m_impl->records.end() ? nullptr : &it->second;
}

const std::vector<RemoteMount>& CacheImport::mounts() const { return m_impl->mounts; }
const std::string& CacheImport::name() const { return m_impl->name; }

Result<fs::path> CacheImport::ensure_blob(const Digest& diff_id) {
  std::lock_guard lock(m_impl->mutex);
  store::Store& store = *m_impl->store;
  if (auto stored = TRY(exporter::find_stored_layer(store, diff_id))) return store.blob_path(stored->blob.digest);
  auto it = m_impl->blobs.find(diff_id);
  if (it == m_impl->blobs.end())
    return make_error(ExitCode::not_found, "cache {}: no blob for layer {}", m_impl->name, diff_id.str());
  const image::Descriptor& d = it->second;
  TRY(m_impl->fetch(d));
  auto compression = media::layer_compression(d.media_type);
  std::string name = compression ? std::string(media::compression_name(*compression)) : "gzip";
  TRY(store.put_layer({diff_id, name, d.media_type, {d.digest, static_cast<uint64_t>(d.size)}}));
  return store.blob_path(d.digest);
}

}  // namespace cbuild::build
