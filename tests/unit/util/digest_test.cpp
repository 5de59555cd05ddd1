#include "cbuild/util/digest.hpp"

#include <catch2/catch.hpp>

using namespace cbuild;

TEST_CASE("sha256 of known strings") {
  CHECK(Digest::of("").str() == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Digest::of("abc").str() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("incremental hashing equals one-shot") {
  Sha256 sha;
  sha.update("a");
  sha.update("bc");
  CHECK(sha.finish() == Digest::of("abc"));
}

TEST_CASE("digest parsing rejects malformed text") {
  CHECK(Digest::parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").ok());
  CHECK_FALSE(Digest::parse("md5:abc").ok());
  CHECK_FALSE(Digest::parse("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD").ok());
  CHECK_FALSE(Digest::parse("sha256:abc").ok());
}

TEST_CASE("key hasher fields cannot run together") {
  auto a = KeyHasher("v1").add("x", "ab").add("y", "c").finish();
  auto b = KeyHasher("v1").add("x", "a").add("y", "bc").finish();
  CHECK(a != b);
  CHECK(KeyHasher("v1").add("x", "ab").finish() != KeyHasher("v2").add("x", "ab").finish());
}
