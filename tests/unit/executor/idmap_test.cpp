#include "cbuild/executor/idmap.hpp"

#include <catch2/catch.hpp>

using namespace cbuild::executor;

TEST_CASE("subordinate ranges are found by name or uid, in file order") {
  std::string text = "alice:100000:65536\n# comment\nbob:200000:1000\n1001:300000:10\nalice:500000:5\n";
  CHECK(parse_subid(text, "alice", 1000) == std::vector<IdRange>{{0, 100000, 65536}, {0, 500000, 5}});
  CHECK(parse_subid(text, "carol", 1001) == std::vector<IdRange>{{0, 300000, 10}});
  CHECK(parse_subid(text, "dave", 1002).empty());
  CHECK(parse_subid("broken:x:1\nbad\n", "broken", 5).empty());
}

TEST_CASE("an unprivileged user maps itself to 0 and its ranges from 1") {
  IdMap m = compute_id_map(1000, 1000, "alice", "alice:100000:65536\nalice:500000:5\n",
                           "alice:200000:65536\n");
  CHECK(m.uids == std::vector<IdRange>{{0, 1000, 1}, {1, 100000, 65536}, {65537, 500000, 5}});
  CHECK(m.gids == std::vector<IdRange>{{0, 1000, 1}, {1, 200000, 65536}});
  CHECK(m.use_helpers);
  CHECK_FALSE(m.single);
  CHECK(m.warning.empty());
  CHECK(m.host_uid(0) == 1000u);
  CHECK(m.host_uid(1000) == 100999u);
  CHECK(m.host_uid(65537) == 500000u);
  CHECK_FALSE(m.host_uid(65542));
  CHECK(m.container_uid(100999) == 1000u);
  CHECK_FALSE(m.container_uid(99999));
  CHECK(IdMap::proc_text(m.gids) == "0 1000 1\n1 200000 65536\n");
}

TEST_CASE("without a range an unprivileged user gets a single-id map and a warning") {
  IdMap m = compute_id_map(1000, 1000, "alice", "bob:1:2\n", "");
  CHECK(m.single);
  CHECK_FALSE(m.use_helpers);
  CHECK(m.uids == std::vector<IdRange>{{0, 1000, 1}});
  CHECK(m.warning.find("no subordinate id range for user `alice`") != std::string::npos);
}

TEST_CASE("root never maps container root to host root") {
  IdMap m = compute_id_map(0, 0, "root", "", "");
  CHECK(m.uids == std::vector<IdRange>{{0, k_root_host_base, k_root_range_size}});
  CHECK(m.gids == std::vector<IdRange>{{0, k_root_host_base, k_root_range_size}});
  CHECK_FALSE(m.use_helpers);
  CHECK_FALSE(m.host_uid(0) == 0u);
  IdMap own = compute_id_map(0, 0, "root", "root:3000000:65536\n", "root:4000000:65536\n");
  CHECK(own.uids == std::vector<IdRange>{{0, 3000000, 65536}});
  CHECK(own.gids == std::vector<IdRange>{{0, 4000000, 65536}});
}
