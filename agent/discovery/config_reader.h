// Reading one config file safely, and parsing it in its format into one JSON tree so that the
// layouts (config_layouts.h) have a single shape to walk. Everything a file can do wrong (missing,
// too large, binary, a symlink loop, not a regular file, changing while read, malformed) ends as a
// value here, never as an exception. Error messages name a position, never the file's content:
// parser messages quote the text they choked on, which could be a secret.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "discovery/catalogue.h"

namespace custody::discovery {

enum class ReadOutcome {
  kOk,
  kMissing,  // does not exist (or a path component is not a directory): not worth a warning
  kSkipped,  // exists but was not read; `reason` says why and the caller records a warning
};

struct ReadResult {
  ReadOutcome outcome = ReadOutcome::kMissing;
  std::string text;
  std::string reason;
};

// Reads the regular file at `path` (symlinks followed; a loop is a skip) if it is at most
// `max_bytes` long, is text (no NUL byte, valid UTF-8) and did not change size or mtime while it
// was read. FIFOs and devices are never opened for reading in a blocking way.
ReadResult read_text_file(const std::string& path, std::size_t max_bytes);

// Parses `text` in `format` into JSON. JSONC is accepted for every JSON format (a comment in a
// .json file is common and harmless). TOML and YAML scalars keep their types where the format has
// them (TOML) and become strings otherwise (YAML); readers use the tolerant accessors of
// config_layouts.h. Markdown front-matter: the YAML block between the leading `---` lines.
// Errors: kInvalidArgument with a message carrying line/column only.
//
// With `layout` kClaudeJson only the members the layout reads are kept while parsing (top-level
// mcpServers, projects.<path>.mcpServers): ~/.claude.json also holds the user's whole history,
// which would otherwise be built in memory for nothing.
Result<nlohmann::json> parse_document(std::string_view text, Format format,
                                      std::optional<Layout> layout = std::nullopt);

}  // namespace custody::discovery
