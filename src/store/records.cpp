#include "cbuild/store/records.hpp"

namespace cbuild::store {

Digest chain_id(const Digest& parent_chain, const Digest& diff_id) {
  if (parent_chain.empty()) return diff_id;
  return Digest::of(parent_chain.str() + " " + diff_id.str());
}

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  out.reserve(diff_ids.size());
  Digest chain;
  for (const auto& diff : diff_ids) {
    chain = chain_id(chain, diff);
    out.push_back(chain);
  }
  return out;
}

}  // namespace cbuild::store
