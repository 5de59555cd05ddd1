#pragma once
// The recorded docker logs and cbuild reports in testdata/compare/.
#include <catch2/catch.hpp>

#include <string>

#include "cbuild/util/fs.hpp"

inline std::string recorded(const std::string& name) {
  auto text = cbuild::read_file(std::string(CBUILD_SOURCE_DIR) + "/testdata/compare/" + name);
  REQUIRE(text);
  return *text;
}
