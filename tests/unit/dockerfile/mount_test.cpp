// RUN --mount parsing: every type and key, defaults, and every error.
#include "cbuild/dockerfile/mount.hpp"

#include <catch2/catch.hpp>

namespace df = cbuild::dockerfile;

namespace {

df::MountSpec must_parse(const std::string& value) {
  INFO(value);
  auto r = df::parse_mount(value,
                           [](std::string_view v) -> cbuild::Result<std::string> { return std::string(v); });
  if (!r) FAIL(r.error().message);
  return *r;
}

}  // namespace

TEST_CASE("bind mount keys and aliases", "[mount]") {
  auto m = must_parse("type=bind,source=/src,target=/dst,from=build");
  CHECK(m.type == df::MountType::bind);
  CHECK(m.source == "/src");
  CHECK(m.target == "/dst");
  CHECK(m.from == "build");
  CHECK(m.readonly);  // bind defaults to read-only
  CHECK(must_parse("src=a,dst=/b").source == "a");
  CHECK(must_parse("src=a,dst=/b").target == "/b");
  CHECK(must_parse("destination=/c").target == "/c");
  CHECK(must_parse("target=/x").type == df::MountType::bind);  // type defaults to bind
  CHECK_FALSE(must_parse("target=/x,rw").readonly);
  CHECK_FALSE(must_parse("target=/x,readwrite=true").readonly);
  CHECK_FALSE(must_parse("target=/x,rw=1").readonly);
  CHECK(must_parse("target=/x,rw=false").readonly);
  CHECK_FALSE(must_parse("target=/x,ro=false").readonly);
  CHECK(must_parse("target=/x,readonly").readonly);
  CHECK(must_parse("TYPE=BIND,Target=/x").target == "/x");
}

TEST_CASE("cache mount keys", "[mount]") {
  auto m = must_parse(
      "type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1000,gid=100,from=base,source=/c");
  CHECK(m.type == df::MountType::cache);
  CHECK(m.id == "pip");
  CHECK(m.sharing == df::CacheSharing::locked);
  CHECK(m.mode == 0700u);
  CHECK(m.uid == 1000u);
  CHECK(m.gid == 100u);
  CHECK_FALSE(m.readonly);  // cache defaults to read-write
  CHECK(must_parse("type=cache,target=/c,sharing=private").sharing == df::CacheSharing::private_);
  CHECK(must_parse("type=cache,target=/c,sharing=SHARED").sharing == df::CacheSharing::shared);
  CHECK(must_parse("type=cache,target=/c,ro").readonly);
}

TEST_CASE("tmpfs size with units", "[mount]") {
  CHECK(must_parse("type=tmpfs,target=/t").size == std::nullopt);
  CHECK(must_parse("type=tmpfs,target=/t,size=64m").size == 64ull << 20);
  CHECK(must_parse("type=tmpfs,target=/t,size=1GiB").size == 1ull << 30);
  CHECK(must_parse("type=tmpfs,target=/t,size=1024").size == 1024u);
  CHECK(must_parse("type=tmpfs,target=/t,size=1.5k").size == 1536u);
  CHECK(must_parse("type=tmpfs,target=/t,size=2 KB").size == 2048u);
  CHECK_FALSE(must_parse("type=tmpfs,target=/t").readonly);
  CHECK_FALSE(df::parse_ram_size("abc"));
  CHECK_FALSE(df::parse_ram_size("10x"));
  CHECK_FALSE(df::parse_ram_size("-5m"));
  CHECK_FALSE(df::parse_ram_size(".5m"));
}

TEST_CASE("secret and ssh mounts", "[mount]") {
  auto s = must_parse("type=secret,id=aws,target=/root/.aws/credentials,required,mode=0440,uid=1,gid=2");
  CHECK(s.type == df::MountType::secret);
  CHECK(s.id == "aws");
  CHECK(s.required);
  CHECK(s.readonly);
  CHECK(s.mode == 0440u);
  CHECK(must_parse("type=secret,id=tok,env=TOKEN").env == std::optional<std::string>("TOKEN"));
  CHECK_FALSE(must_parse("type=secret,id=tok,required=false").required);
  auto ssh = must_parse("type=ssh,id=gh,required=true");
  CHECK(ssh.type == df::MountType::ssh);
  CHECK(ssh.required);
  CHECK(must_parse("type=ssh").id.empty());
}

TEST_CASE("mount defaults as BuildKit derives them", "[mount]") {
  auto apply = [](std::string value, std::string workdir = "/", int ssh = 0) {
    auto m = must_parse(value);
    auto st = df::apply_mount_defaults(m, workdir, ssh);
    if (!st) FAIL(st.error().message);
    return m;
  };
  auto cache = apply("type=cache,target=/var/cache/apt");
  CHECK(cache.id == "/var/cache/apt");
  CHECK(cache.mode == 0755u);
  CHECK(cache.uid == 0u);
  CHECK(cache.gid == 0u);
  CHECK(cache.sharing == df::CacheSharing::shared);
  auto rel = apply("type=cache,target=cache", "/src");
  CHECK(rel.target == "/src/cache");
  CHECK(rel.id == "/src/cache");
  auto secret = apply("type=secret,id=npmrc");
  CHECK(secret.target == "/run/secrets/npmrc");
  CHECK(secret.mode == 0400u);
  auto by_target = apply("type=secret,target=/etc/token");
  CHECK(by_target.id == "token");
  auto by_source = apply("type=secret,source=key,target=/k");
  CHECK(by_source.id == "key");
  auto env_only = apply("type=secret,id=tok,env=TOKEN");
  CHECK(env_only.target.empty());
  auto ssh = apply("type=ssh", "/", 2);
  CHECK(ssh.id == "default");
  CHECK(ssh.target == "/run/buildkit/ssh_agent.2");
  CHECK(ssh.mode == 0600u);
  auto m = must_parse("type=bind,target=/");
  CHECK_FALSE(df::apply_mount_defaults(m, "/", 0));
}

TEST_CASE("mount values are expanded when an expander is given", "[mount]") {
  auto r = df::parse_mount("type=cache,target=$DIR,id=${ID:-x}",
                           [](std::string_view v) -> cbuild::Result<std::string> {
                             std::string s(v);
                             if (s == "$DIR") return std::string("/cache");
                             if (s == "${ID:-x}") return std::string("x");
                             return s;
                           });
  REQUIRE(r);
  CHECK(r->target == "/cache");
  CHECK(r->id == "x");
  auto deferred = df::parse_mount("type=cache,target=$DIR,mode=$MODE");
  REQUIRE(deferred);
  CHECK(deferred->target == "$DIR");
  CHECK_FALSE(deferred->mode);
  CHECK_FALSE(df::parse_mount("type=cache,target=/x,bogus=$X"));
}

TEST_CASE("csv quoting in --mount", "[mount]") {
  CHECK(must_parse("type=bind,\"target=/a,b\"").target == "/a,b");
  CHECK(must_parse("\"target=/x\"\"y\"").target == "/x\"y");
  CHECK_FALSE(df::parse_mount("target=/a\"b"));
  CHECK_FALSE(df::parse_mount("\"target=/a"));
}

TEST_CASE("mount errors", "[mount]") {
  struct Case {
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {"type=volume,target=/x", "unsupported mount type \"volume\""},
      {"type=cache,target=/x,foo=bar", "unexpected key 'foo' in 'foo=bar'"},
      {"type=cache,target=/x,sharing=none", "unsupported sharing value \"none\""},
      {"type=cache,target=/x,mode=999", "invalid value 999 for mode"},
      {"type=cache,target=/x,uid=-1", "invalid value -1 for uid"},
      {"type=cache,target=/x,gid=root", "invalid value root for gid"},
      {"type=cache,target=/x,ro=maybe", "invalid value for ro: maybe"},
      {"type=cache,target=/x,rw=2", "invalid value for rw: 2"},
      {"type=bind,target=/x,mode=0700", "mode not allowed for \"bind\" type mounts"},
      {"type=tmpfs,target=/x,uid=1", "uid not allowed for \"tmpfs\" type mounts"},
      {"type=bind,target=/x,gid=1", "gid not allowed for \"bind\" type mounts"},
      {"type=bind,target=/x,required", "unexpected key 'required' for mount type 'bind'"},
      {"type=cache,target=/x,required=true", "unexpected key 'required' for mount type 'cache'"},
      {"type=bind,target=/x,size=1m", "unexpected key 'size' for mount type 'bind'"},
      {"type=tmpfs,target=/x,size=big", "invalid value for size: big"},
      {"type=cache,target=/x,env=A", "unexpected key 'env' for mount type 'cache'"},
      {"type=bind,target=/x,sharing=locked", "invalid cache sharing set for bind mount"},
      {"type=secret,id=a,from=b", "secret mount should not have a from"},
      {"type=secret,id=a,sharing=locked", "secret mount should not define sharing"},
      {"type=secret", "invalid secret mount. one of source, target required"},
      {"type=secret,id=a,source=b", "both source and id can't be set"},
      {"type=ssh,from=x", "ssh mount should not have a from"},
      {"type=tmpfs,target=/x,from=y", "tmpfs mount should not have a from"},
      {"type=bind", "mount type bind requires a target"},
      {"type=cache,source=/x", "mount type cache requires a target"},
      {"type=tmpfs", "mount type tmpfs requires a target"},
      {"type=cache,target=/x,bogus", "invalid field 'bogus' must be a key=value pair"},
  };
  for (const auto& c : cases) {
    INFO(c.value);
    auto r = df::parse_mount(c.value);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(c.message) != std::string::npos);
  }
}
