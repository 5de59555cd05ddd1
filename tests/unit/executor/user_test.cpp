#include "cbuild/executor/user.hpp"

#include <catch2/catch.hpp>

using namespace cbuild::executor;

namespace {
const char* k_passwd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "user:x:1000:1000:User:/home/user:/bin/sh\n"
    "svc:x:1500:1500::/srv:/bin/false\n";
const char* k_group =
    "root:x:0:\n"
    "user:x:1000:\n"
    "wheel:x:10:user,svc\n"
    "audio:x:29:svc,user\n"
    "svc:x:1500:\n";
}  // namespace

TEST_CASE("empty user is root with root's groups") {
  auto ids = resolve_user("", k_passwd, k_group).value();
  CHECK(ids == UserIds{0, 0, {}, "/root"});
}

TEST_CASE("user by name gets primary gid, home and supplementary groups sorted") {
  auto ids = resolve_user("user", k_passwd, k_group).value();
  CHECK(ids.uid == 1000);
  CHECK(ids.gid == 1000);
  CHECK(ids.groups == std::vector<uint32_t>{10, 29});
  CHECK(ids.home == "/home/user");
}

TEST_CASE("numeric uid: known takes its entry, unknown gets gid 0") {
  CHECK(resolve_user("1500", k_passwd, k_group).value() == UserIds{1500, 1500, {10, 29}, "/srv"});
  CHECK(resolve_user("4242", k_passwd, k_group).value() == UserIds{4242, 0, {}, "/"});
}

TEST_CASE("explicit group replaces the primary gid and drops supplementary groups") {
  CHECK(resolve_user("user:wheel", k_passwd, k_group).value() == UserIds{1000, 10, {}, "/home/user"});
  CHECK(resolve_user("1000:77", k_passwd, k_group).value() == UserIds{1000, 77, {}, "/home/user"});
  CHECK(resolve_user("77:77", "", "").value() == UserIds{77, 77, {}, "/"});
}

TEST_CASE("unknown names are errors naming the file") {
  auto r = resolve_user("nobody-here", k_passwd, k_group);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "unable to find user nobody-here: no matching entries in passwd file");
  auto g = resolve_user("user:nogroup", k_passwd, k_group);
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().message == "unable to find group nogroup: no matching entries in group file");
}
