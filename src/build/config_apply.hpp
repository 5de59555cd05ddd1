#pragma once
// How each instruction changes the image config and history, as BuildKit writes them.
#include "build_internal.hpp"

namespace cbuild::build {

/// The step's history text (`created_by`) as BuildKit's Dockerfile frontend writes it; none
/// for FROM and ONBUILD, which BuildKit records no history entry for.
std::optional<std::string> created_by(const plan::Step& step);
/// A stage starts: platform fields, inherited ONBUILD triggers consumed.
void start_stage_config(StageState& state, const plan::Stage& stage);
/// A metadata instruction (ENV, LABEL, CMD, ...): config change and an empty-layer history entry.
Status apply_metadata(StageState& state, const plan::Stage& stage, const plan::Step& step, const std::string& now);
/// A filesystem step's result: its layer (if any) and history entry; WORKDIR's config change.
void add_layer_step(StageState& state, const plan::Step& step, const StepResult& result, const std::string& now);
/// The stage ends: environment, working directory and user as the plan resolved them.
void finish_stage_config(StageState& state, const plan::Stage& stage);

}  // namespace cbuild::build
