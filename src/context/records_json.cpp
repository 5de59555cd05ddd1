// FileRecord lists as JSON, kept beside cache keys so a later miss can name what changed.
#include <nlohmann/json.hpp>

#include "cbuild/context/checksum.hpp"

namespace cbuild::context {

namespace {

Result<FileType> type_from(std::string_view name) {
  for (auto t : {FileType::regular, FileType::directory, FileType::symlink, FileType::fifo, FileType::socket,
                 FileType::char_device, FileType::block_device})
    if (to_string(t) == name) return t;
  return make_error(ExitCode::bad_input, "unknown file type `{}`", name);
}

}  // namespace

std::string records_to_json(const std::vector<FileRecord>& records) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : records) {
    nlohmann::json j{{"path", r.path}, {"dest", r.dest}, {"type", std::string(to_string(r.type))},
                     {"mode", r.mode}, {"uid", r.uid},   {"gid", r.gid},
                     {"size", r.size}};
    if (r.rdev) j["rdev"] = r.rdev;
    if (!r.link_target.empty()) j["link"] = r.link_target;
    if (!r.content.empty()) j["content"] = r.content.str();
    out.push_back(std::move(j));
  }
  return out.dump();
}

Result<std::vector<FileRecord>> records_from_json(std::string_view json) {
  std::vector<FileRecord> out;
  try {
    auto doc = nlohmann::json::parse(json);
    for (const auto& j : doc) {
      FileRecord r;
      r.path = j.at("path").get<std::string>();
      r.dest = j.at("dest").get<std::string>();
      r.type = TRY(type_from(j.at("type").get<std::string>()));
      r.mode = j.at("mode").get<uint32_t>();
      r.uid = j.at("uid").get<uint32_t>();
      r.gid = j.at("gid").get<uint32_t>();
      r.size = j.at("size").get<uint64_t>();
      r.rdev = j.value("rdev", uint64_t{0});
      r.link_target = j.value("link", std::string());
      if (j.contains("content")) r.content = TRY(Digest::parse(j["content"].get<std::string>()));
      out.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(ExitCode::bad_input, "parse file records: {}", e.what());
  }
  return out;
}

}  // namespace cbuild::context
