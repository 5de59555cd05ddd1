#include "cbuild/store/blob.hpp"

#include "store_fixture.hpp"

#include <sys/stat.h>

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;

namespace {
void overwrite(const fs::path& path, const std::string& data) {
  ::chmod(path.c_str(), 0644);
  std::ofstream(path, std::ios::trunc) << data;
}
}  // namespace

TEST_CASE("put_blob stores content under its digest, read-only", "[blob]") {
  StoreDir dir;
  Store store = dir.open();
  auto desc = must(store.put_blob("hello world"));
  CHECK(desc.digest == Digest::of("hello world"));
  CHECK(desc.size == 11);
  CHECK(store.has_blob(desc.digest));
  CHECK(must(store.blob_size(desc.digest)) == 11);
  CHECK(store.blob_path(desc.digest) == dir.root() / "blobs/sha256" / std::string(desc.digest.hex()));
  struct stat st {};
  REQUIRE(::stat(store.blob_path(desc.digest).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0444);
  CHECK(must(store.read_blob(desc.digest)) == "hello world");
  // Storing the same content again is a no-op that returns the same descriptor.
  CHECK(must(store.put_blob("hello world")) == desc);
  auto list = must(store.list_blobs());
  REQUIRE(list.size() == 1);
  CHECK(list[0] == desc);
}

TEST_CASE("BlobWriter streams, hashes while writing and leaves nothing before commit", "[blob]") {
  StoreDir dir;
  Store store = dir.open();
  std::string big;
  for (int i = 0; i < 5000; ++i) big += fmt::format("line {}\n", i);
  {
    auto writer = must(store.begin_blob());
    for (size_t off = 0; off < big.size(); off += 1000) must_ok(writer.write(std::string_view(big).substr(off, 1000)));
    CHECK(writer.written() == big.size());
    CHECK(must(store.list_blobs()).empty());  // nothing visible before commit
    auto desc = must(writer.commit(Digest::of(big)));
    CHECK(desc.digest == Digest::of(big));
    CHECK(desc.size == big.size());
    CHECK_FALSE(writer.commit().ok());  // only once
  }
  {
    auto writer = must(store.begin_blob());
    must_ok(writer.write("abandoned"));
  }  // destroyed without commit
  CHECK(must(store.list_blobs()).size() == 1);
  CHECK(fs::is_empty(must(store.session_dir())));
}

TEST_CASE("commit with a wrong expected digest stores nothing", "[blob]") {
  StoreDir dir;
  Store store = dir.open();
  auto wrong = Digest::of("something else");
  auto r = store.put_blob("content", wrong);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ExitCode::bad_input);
  CHECK_THAT(r.error().message, Catch::Contains("digest mismatch") && Catch::Contains(wrong.str()));
  CHECK_FALSE(store.has_blob(Digest::of("content")));
  CHECK(must(store.list_blobs()).empty());
  CHECK(fs::is_empty(must(store.session_dir())));
}

TEST_CASE("a corrupt blob is reported and treated as missing", "[blob]") {
  StoreDir dir;
  Store store = dir.open();
  auto desc = must(store.put_blob("original"));
  overwrite(store.blob_path(desc.digest), "tampered");
  auto r = store.read_blob(desc.digest);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ExitCode::not_found);
  CHECK_THAT(r.error().message, Catch::Contains("blob " + desc.digest.str() + " is corrupt"));
  CHECK_FALSE(store.has_blob(desc.digest));
  auto again = store.read_blob(desc.digest);
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().message, Catch::Contains("not found"));
  // It can be stored again (re-pulled / rebuilt).
  must(store.put_blob("original"));
  CHECK(must(store.read_blob(desc.digest)) == "original");
}

TEST_CASE("open_blob streams and verifies at the end", "[blob]") {
  StoreDir dir;
  Store store = dir.open();
  std::string data(300000, 'x');
  auto desc = must(store.put_blob(data));
  {
    auto reader = must(store.open_blob(desc.digest));
    CHECK(reader.size() == data.size());
    std::string got;
    char buf[4096];
    for (;;) {
      size_t n = must(reader.read(buf, sizeof buf));
      if (n == 0) break;
      got.append(buf, n);
    }
    CHECK(got == data);
  }
  overwrite(store.blob_path(desc.digest), std::string(300000, 'y'));
  auto reader = must(store.open_blob(desc.digest));
  char buf[65536];
  Result<size_t> n = size_t{1};
  while (n.ok() && *n != 0) n = reader.read(buf, sizeof buf);
  REQUIRE_FALSE(n.ok());
  CHECK_THAT(n.error().message, Catch::Contains("is corrupt"));
  CHECK_FALSE(store.has_blob(desc.digest));
  auto missing = store.open_blob(Digest::of("never stored"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ExitCode::not_found);
}

TEST_CASE("verify_blob detects truncation", "[blob]") {
  StoreDir dir;
  Store store = dir.open();
  auto desc = must(store.put_blob("0123456789"));
  must_ok(store.verify_blob(desc.digest));
  ::chmod(store.blob_path(desc.digest).c_str(), 0644);
  REQUIRE(::truncate(store.blob_path(desc.digest).c_str(), 4) == 0);
  CHECK_FALSE(store.verify_blob(desc.digest).ok());
  CHECK_FALSE(store.has_blob(desc.digest));
}
