// The build report (--report) and the summary line.
#include <sys/resource.h>

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cbuild/build/builder.hpp"
#include "cbuild/export/images.hpp"
#include "cbuild/layer/writer.hpp"

namespace cbuild::build {

namespace {
double hit_rate(const BuildResult& r) { return r.total ? static_cast<double>(r.cached) / r.total : 1.0; }

/// The largest resident set of cbuild and of any step process it waited for, in KiB.
long peak_rss_kb() {
  struct rusage self {}, children {};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  return std::max(self.ru_maxrss, children.ru_maxrss);
}
}  // namespace

std::string report_json(const BuildResult& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : r.steps)
    steps.push_back({{"stage", s.stage},
                     {"stage_name", s.stage_name},
                     {"index", s.index},
                     {"count", s.count},
                     {"instruction", s.instruction},
                     {"cached", s.cached},
                     {"executed", s.executed},
                     {"cache_key", s.cache_key},
                     {"reason", s.reason},
                     {"seconds", s.seconds},
                     {"layer", s.layer},
                     {"size", s.size},
                     {"files_reused", s.files_reused}});
  nlohmann::json j = {{"version", 1},
                      {"image", r.image_id.str()},
                      {"manifest", r.manifest.str()},
                      {"tags", r.tags},
                      {"steps", steps},
                      {"totals",
                       {{"steps", r.total},
                        {"cached", r.cached},
                        {"executed", r.executed},
                        {"hit_rate", hit_rate(r)},
                        {"seconds", r.seconds},
                        {"peak_rss_kb", peak_rss_kb()}}}};
  return j.dump(2) + "\n";
}

std::string summary_line(const BuildResult& r) {
  std::string names;
  for (const auto& t : r.tags) names += " " + exporter::familiar(t);
  return fmt::format("{} steps, {} cached, {} executed ({:.0f}% hits) in {:.2f}s: {}{}", r.total, r.cached,
                     r.executed, hit_rate(r) * 100, r.seconds, r.image_id.str(), names);
}

}  // namespace cbuild::build
