// make_curl_transport: loads the libcurl transport plugin (src/http) on first use.
#include "cbuild/registry/transport.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

namespace cbuild::registry {

std::string HttpResponse::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

namespace {

namespace fs = std::filesystem;
using Factory = Transport* (*)(const CurlOptions*);
constexpr const char* k_plugin = "cbuild-http.so";

/// Where the plugin may be, in order: $CBUILD_HTTP_PLUGIN, beside the executable (the build
/// tree), the install location relative to the executable, the configured install
/// location, the build tree this binary was built in (test programs).
std::vector<fs::path> plugin_paths() {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("CBUILD_HTTP_PLUGIN"); env && *env) out.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / k_plugin);
    out.push_back(exe.parent_path().parent_path() / CBUILD_INSTALL_LIBDIR / "cbuild" / k_plugin);
  }
  out.emplace_back(fs::path(CBUILD_INSTALL_FULL_LIBDIR) / "cbuild" / k_plugin);
  out.emplace_back(CBUILD_HTTP_PLUGIN_BUILD_PATH);
  return out;
}

Result<Factory> load_factory() {
  std::string tried;
  for (const auto& path : plugin_paths()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried += fmt::format("\n  {}: not found", path.string());
      continue;
    }
    // Never closed: transports (and their vtables) live in it until the process ends.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      tried += fmt::format("\n  {}: {}", path.string(), ::dlerror());
      continue;
    }
    if (void* sym = ::dlsym(handle, "cbuild_make_curl_transport")) return reinterpret_cast<Factory>(sym);
    tried += fmt::format("\n  {}: no cbuild_make_curl_transport", path.string());
  }
  return make_error("cannot load the HTTP transport {} (install it beside cbuild or set CBUILD_HTTP_PLUGIN):{}",
                    k_plugin, tried);
}

/// Stands in when the plugin cannot be loaded: every request fails with the reason.
class Unavailable final : public Transport {
 public:
  explicit Unavailable(Error error) : m_error(std::move(error)) {}
  Result<HttpResponse> send(const HttpRequest&, const BodySink&) override { return m_error; }

 private:
  Error m_error;
};

}  // namespace

std::unique_ptr<Transport> make_curl_transport(CurlOptions options) {
  static const Result<Factory> factory = load_factory();
  if (!factory) return std::make_unique<Unavailable>(factory.error());
  return std::unique_ptr<Transport>((*factory)(&options));
}

}  // namespace cbuild::registry
