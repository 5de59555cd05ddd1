#include "cbuild/layer/override_stat.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "cbuild/layer/id_map.hpp"

using namespace cbuild::layer;

TEST_CASE("override_stat: parse the containers/storage and fuse-overlayfs forms") {
  auto plain = OverrideStat::parse("1000:1001:0755");
  REQUIRE(plain.ok());
  CHECK(plain->uid == 1000);
  CHECK(plain->gid == 1001);
  CHECK(plain->mode == 0755);
  CHECK_FALSE(plain->type.has_value());

  auto dev = OverrideStat::parse("0:6:0660:block-8-17");
  REQUIRE(dev.ok());
  CHECK(dev->type == S_IFBLK);
  CHECK(dev->rdev_major == 8);
  CHECK(dev->rdev_minor == 17);

  auto with_type_bits = OverrideStat::parse("0:0:100644");  // fuse-overlayfs: st_mode in octal
  REQUIRE(with_type_bits.ok());
  CHECK(with_type_bits->mode == 0644);
  CHECK(with_type_bits->type == S_IFREG);

  CHECK(OverrideStat::parse("0:0:04755:dir")->type == S_IFDIR);
  CHECK(OverrideStat::parse("0:0:04755:dir")->mode == 04755);
}

TEST_CASE("override_stat: invalid values are errors naming the xattr") {
  for (const char* bad : {"", "1:2", "a:2:0755", "1:2:0799", "1:2:0755:door", "1:2:0755:char-1",
                          "1:2:0755:char-x-2", "1:2:3:4:5"}) {
    auto r = OverrideStat::parse(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("user.containers.override_stat"));
  }
}

TEST_CASE("override_stat: format round-trips") {
  OverrideStat st;
  st.uid = 7;
  st.gid = 8;
  st.mode = 02755;
  CHECK(st.format() == "7:8:02755");
  st.type = S_IFCHR;
  st.rdev_major = 1;
  st.rdev_minor = 3;
  CHECK(st.format() == "7:8:02755:char-1-3");
  auto back = OverrideStat::parse(st.format()).value();
  CHECK(back.type == S_IFCHR);
  CHECK(back.rdev_minor == 3);
  st.type = S_IFIFO;
  CHECK(st.format() == "7:8:02755:pipe");
}

TEST_CASE("id map: ranges translate both ways; empty is identity") {
  IdMap none;
  CHECK(none.to_host(42) == 42u);
  IdMap m{{{0, 1000, 1}, {1, 100000, 65536}}};
  CHECK(m.to_host(0) == 1000u);
  CHECK(m.to_host(1) == 100000u);
  CHECK(m.to_host(65536) == 165535u);
  CHECK_FALSE(m.to_host(65537).has_value());
  CHECK(m.to_container(1000) == 0u);
  CHECK(m.to_container(100005) == 6u);
  CHECK_FALSE(m.to_container(999).has_value());
  CHECK(IdMap::shift(5000).to_host(3) == 5003u);
}
