// FileRecord lists in a compact binary form, kept beside cache keys so a later miss can name
// what changed (and a re-run COPY can tell which files it may reuse). 20,000 records encode
// and decode in a few milliseconds; as JSON they took ~75 ms each way.
//
// Format: "cbuild-records 1\n", the record count as u64, then per record: path, dest, link target and content digest
// as strings (u32 little-endian length + bytes), type as one byte, mode, uid, gid as u32,
// size and rdev as u64.
#include <algorithm>
#include <concepts>

#include "cbuild/context/checksum.hpp"

namespace cbuild::context {

namespace {

constexpr std::string_view k_magic = "cbuild-records 1\n";
constexpr FileType k_types[] = {FileType::regular,    FileType::directory,   FileType::symlink,     FileType::fifo,
                                FileType::socket,     FileType::char_device, FileType::block_device};

template <std::unsigned_integral T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  out.append(bytes, sizeof(T));
}

void put(std::string& out, std::string_view text) {
  put(out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : m_data(data) {}
  bool done() const { return m_data.empty(); }

  template <typename T>
  Result<T> get() {
    if (m_data.size() < sizeof(T)) return truncated();
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(m_data[i])) << (8 * i);
    m_data.remove_prefix(sizeof(T));
    return static_cast<T>(v);
  }
  Result<std::string_view> text() {
    uint32_t n = TRY(get<uint32_t>());
    if (m_data.size() < n) return truncated();
    std::string_view s = m_data.substr(0, n);
    m_data.remove_prefix(n);
    return s;
  }

 private:
  static Error truncated() { return make_error(ExitCode::bad_input, "file records: truncated"); }
  std::string_view m_data;
};

}  // namespace

std::string records_to_bytes(const std::vector<FileRecord>& records) {
  std::string out(k_magic);
  put(out, static_cast<uint64_t>(records.size()));
  for (const auto& r : records) {
    put(out, r.path);
    put(out, r.dest);
    put(out, r.link_target);
    put(out, r.content.str());
    auto type = std::find(std::begin(k_types), std::end(k_types), r.type) - std::begin(k_types);
    put(out, static_cast<uint8_t>(type));
    for (uint32_t v : {r.mode, r.uid, r.gid}) put(out, v);
    for (uint64_t v : {r.size, r.rdev}) put(out, v);
  }
  return out;
}

Result<std::vector<FileRecord>> records_from_bytes(std::string_view data) {
  if (!data.starts_with(k_magic)) return make_error(ExitCode::bad_input, "file records: unknown format");
  Reader in(data.substr(k_magic.size()));
  const uint64_t count = TRY(in.get<uint64_t>());
  std::vector<FileRecord> out;
  while (out.size() < count) {
    FileRecord r;
    r.path = TRY(in.text());
    r.dest = TRY(in.text());
    r.link_target = TRY(in.text());
    if (auto content = TRY(in.text()); !content.empty()) r.content = TRY(Digest::parse(content));
    auto type = TRY(in.get<uint8_t>());
    if (type >= std::size(k_types)) return make_error(ExitCode::bad_input, "file records: unknown file type {}", type);
    r.type = k_types[type];
    r.mode = TRY(in.get<uint32_t>());
    r.uid = TRY(in.get<uint32_t>());
    r.gid = TRY(in.get<uint32_t>());
    r.size = TRY(in.get<uint64_t>());
    r.rdev = TRY(in.get<uint64_t>());
    out.push_back(std::move(r));
  }
  if (!in.done()) return make_error(ExitCode::bad_input, "file records: data after the last record");
  return out;
}

}  // namespace cbuild::context
