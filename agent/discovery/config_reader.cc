#include "discovery/config_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>

#include "discovery/jsonc.h"

namespace custody::discovery {

namespace {

using nlohmann::json;

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

json from_toml(const toml::node& node) {
  if (const auto* t = node.as_table()) {
    json out = json::object();
    for (const auto& [k, v] : *t) out[std::string(k.str())] = from_toml(v);
    return out;
  }
  if (const auto* a = node.as_array()) {
    json out = json::array();
    for (const auto& v : *a) out.push_back(from_toml(v));
    return out;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* b = node.as_boolean()) return b->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  // Dates and times matter to no layout; keep them as a marker rather than guessing a format.
  return "<datetime>";
}

json from_yaml(const YAML::Node& node, int depth) {
  if (depth > 64) return nullptr;  // aliases can build deep or cyclic graphs; stop early
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) continue;
        out[kv.first.Scalar()] = from_yaml(kv.second, depth + 1);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& v : node) out.push_back(from_yaml(v, depth + 1));
      return out;
    }
    case YAML::NodeType::Scalar:
      return node.Scalar();
    default:
      return nullptr;
  }
}

Result<json> parse_yaml(std::string_view text) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return from_yaml(root, 0);
  } catch (const YAML::Exception& e) {
    return Error::invalid("YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                          " column " + std::to_string(e.mark.column + 1));
  }
}

}  // namespace

ReadResult read_text_file(const std::string& path, std::size_t max_bytes) {
  ReadResult r;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return r;
    r.outcome = ReadOutcome::kSkipped;
    r.reason = err == ELOOP    ? "symlink loop"
               : err == EACCES ? "permission denied"
                               : std::string("cannot open: ") + std::strerror(err);
    return r;
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  r.outcome = ReadOutcome::kSkipped;
  struct stat before {};
  if (::fstat(fd, &before) != 0) {
    r.reason = "cannot stat";
    return r;
  }
  if (!S_ISREG(before.st_mode)) {
    r.reason = "not a regular file";
    return r;
  }
  if (static_cast<std::uint64_t>(before.st_size) > max_bytes) {
    r.reason = "larger than the size cap (" + std::to_string(before.st_size) + " > " +
               std::to_string(max_bytes) + " bytes)";
    return r;
  }
  std::string text;
  text.resize(static_cast<std::size_t>(before.st_size));
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.reason = std::string("read error: ") + std::strerror(errno);
      return r;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  char probe;
  ssize_t extra = ::read(fd, &probe, 1);
  struct stat after {};
  if (got != text.size() || extra > 0 || ::fstat(fd, &after) != 0 ||
      after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
    r.reason = "changed while being read";
    return r;
  }
  if (text.find('\0') != std::string::npos || !valid_utf8(text)) {
    r.reason = "binary content (NUL byte or invalid UTF-8)";
    return r;
  }
  r.outcome = ReadOutcome::kOk;
  r.text = std::move(text);
  return r;
}

Result<nlohmann::json> parse_document(std::string_view text, Format format,
                                      std::optional<Layout> layout) {
  switch (format) {
    case Format::kJson:
    case Format::kJsonc: {
      std::string plain = strip_jsonc(text);
      json::parser_callback_t keep = nullptr;
      if (layout == Layout::kClaudeJson) {
        // Depth 1: top-level keys; depth 3 under "projects": a project's keys. The callback sees
        // keys in document order, so the current top-level key is known at depth 3.
        keep = [top = std::string()](int depth, json::parse_event_t event, json& parsed) mutable {
          if (event != json::parse_event_t::key) return true;
          const auto& key = parsed.get_ref<const std::string&>();
          if (depth == 1) {
            top = key;
            return key == "mcpServers" || key == "projects";
          }
          if (depth == 3 && top == "projects") return key == "mcpServers";
          return true;
        };
      }
      try {
        return json::parse(plain, keep, /*allow_exceptions=*/true, /*ignore_comments=*/true);
      } catch (const json::exception& e) {
        // nlohmann's message quotes the last token read, which may be a secret: keep only where.
        std::size_t byte = 0;
        if (const auto* pe = dynamic_cast<const json::parse_error*>(&e)) byte = pe->byte;
        std::size_t line = 1;
        for (std::size_t i = 0; i + 1 < byte && i < plain.size(); ++i) {
          if (plain[i] == '\n') ++line;
        }
        return Error::invalid("JSON syntax error at byte " + std::to_string(byte) + " (line " +
                              std::to_string(line) + ")");
      }
    }
    case Format::kToml: {
      try {
        toml::table t = toml::parse(text);
        return from_toml(t);
      } catch (const toml::parse_error& e) {
        return Error::invalid("TOML syntax error at line " + std::to_string(e.source().begin.line) +
                              " column " + std::to_string(e.source().begin.column));
      }
    }
    case Format::kYaml:
      return parse_yaml(text);
    case Format::kMarkdownFrontMatter: {
      // "---\n<yaml>\n---"; a file without front-matter defines no agent.
      if (text.substr(0, 4) != "---\n" && text.substr(0, 5) != "---\r\n") return json::object();
      std::size_t start = text.find('\n') + 1;
      std::size_t end = text.find("\n---", start);
      if (end == std::string_view::npos) return Error::invalid("unterminated front-matter");
      return parse_yaml(text.substr(start, end - start));
    }
  }
  return Error::invalid("unknown format");
}

}  // namespace custody::discovery
