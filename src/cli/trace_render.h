// Human-readable rendering of delegation records and traces (GET /api/v1/trace,
// GET /api/v1/delegations/{id}): a trace prints as a tree from the initiating identity down
// through every hop to the token asked about (marked), then everything derived from it below.
#pragma once

#include <ostream>

#include "cli/render.h"

namespace custody::cli {

// One line per hop: "<dlg id>  <acting identity> [acting for <subject>]  <grant>  scopes …  aud …
// exp …  [REVOKED]", indented with tree branches.
void render_trace(std::ostream& out, const Json& trace);
void render_delegation(std::ostream& out, const Json& record);
void render_key_table(std::ostream& out, const Json& keys);

}  // namespace custody::cli
