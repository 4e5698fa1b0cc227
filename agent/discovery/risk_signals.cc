#include "discovery/risk_signals.h"

#include <algorithm>
#include <cctype>

#include "discovery/config_layouts.h"

namespace custody::discovery {

namespace {

using nlohmann::json;

std::string basename_of(std::string_view p) {
  auto slash = p.rfind('/');
  std::string b(slash == std::string_view::npos ? p : p.substr(slash + 1));
  for (const char* ext : {".exe", ".cmd"}) {
    std::string_view e(ext);
    if (b.size() > e.size() && b.compare(b.size() - e.size(), e.size(), e) == 0) {
      b.resize(b.size() - e.size());
    }
  }
  return b;
}

// First argument after `from` that is not an option; options in `with_value` consume the next.
std::optional<std::string> first_positional(const std::vector<std::string>& args, std::size_t from,
                                            std::initializer_list<std::string_view> with_value,
                                            std::string* package_option = nullptr) {
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") continue;
    if (!a.empty() && a[0] == '-') {
      if (std::find(with_value.begin(), with_value.end(), a) != with_value.end()) {
        // npx -p/--package names the package itself.
        if (package_option && (a == "-p" || a == "--package") && i + 1 < args.size()) {
          *package_option = args[i + 1];
        }
        ++i;
      } else if (package_option && a.rfind("--package=", 0) == 0) {
        *package_option = a.substr(10);
      }
      continue;
    }
    return a;
  }
  return std::nullopt;
}

bool npm_pinned(std::string_view spec) {
  // "@scope/name@1.2.3", "name@1.2.3"; "@latest", ranges and tags are not pins.
  std::size_t from = spec.size() > 0 && spec[0] == '@' ? 1 : 0;
  auto at = spec.find('@', from);
  if (at == std::string_view::npos || at + 1 >= spec.size()) return false;
  return std::isdigit(static_cast<unsigned char>(spec[at + 1])) != 0;
}

bool python_pinned(std::string_view spec) {
  return spec.find("==") != std::string_view::npos ||
         (spec.find('@') != std::string_view::npos &&
          spec.find("@latest") == std::string_view::npos);
}

bool image_pinned(std::string_view image) {
  if (image.find("@sha256:") != std::string_view::npos) return true;
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash))
    return false;
  return image.substr(colon + 1) != "latest";
}

bool nonempty_list_or_true(const json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end()) return false;
  if (it->is_array()) return !it->empty();
  if (it->is_boolean()) return it->get<bool>();
  return false;
}

}  // namespace

std::optional<PackageRef> package_of(std::string_view command,
                                     const std::vector<std::string>& args) {
  std::string b = basename_of(command);
  PackageRef ref;
  ref.runner = b;
  std::size_t from = 0;
  bool python = false;
  if (b == "npx" || b == "bunx" || b == "pnpx") {
  } else if ((b == "pnpm" || b == "yarn") && !args.empty() && args[0] == "dlx") {
    from = 1;
  } else if (b == "npm" && !args.empty() && (args[0] == "exec" || args[0] == "x")) {
    from = 1;
  } else if (b == "uvx") {
    python = true;
  } else if (b == "uv" && args.size() >= 2 && args[0] == "tool" && args[1] == "run") {
    python = true;
    from = 2;
  } else if (b == "pipx" && !args.empty() && args[0] == "run") {
    python = true;
    from = 1;
  } else {
    return std::nullopt;
  }
  std::string package_option;
  auto pos =
      python ? first_positional(args, from, {"--from", "--with", "--python", "-p"}, &package_option)
             : first_positional(args, from, {"-p", "--package", "--registry", "--cache"},
                                &package_option);
  if (python && !package_option.empty()) package_option.clear();  // uvx -p is the Python version
  std::string spec = !package_option.empty() ? package_option : pos.value_or("");
  if (spec.empty()) return std::nullopt;
  ref.package = spec;
  ref.pinned = python ? python_pinned(spec) : npm_pinned(spec);
  return ref;
}

bool insecure_remote_http(std::string_view url) {
  if (url.rfind("http://", 0) != 0) return false;
  std::string_view host = url.substr(7);
  host = host.substr(0, host.find_first_of("/?#"));
  if (auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
  if (!host.empty() && host[0] == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return !(host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0);
}

void add_risk_signals(Finding& f, const json& entry) {
  std::size_t literals = 0;
  std::string first_field;
  for (const auto& s : f.secrets) {
    if (s.classification != SecretClass::kLiteral) continue;
    if (literals++ == 0) first_field = s.field;
  }
  if (literals > 0) {
    f.risks.push_back({"plaintext-secret", std::to_string(literals) +
                                               " literal credential(s), first at " + first_field});
  }
  if (nonempty_list_or_true(entry, "autoApprove")) {
    f.risks.push_back({"auto-approve", "autoApprove lets tools run without confirmation"});
  }
  if (nonempty_list_or_true(entry, "alwaysAllow")) {
    f.risks.push_back({"auto-approve", "alwaysAllow lets tools run without confirmation"});
  }
  if (bool_at(entry, "trust").value_or(false)) {
    f.risks.push_back({"auto-approve", "trust: true skips every tool confirmation"});
  }
  if (auto pkg = package_of(f.command, f.args); pkg && !pkg->pinned) {
    f.risks.push_back(
        {"unpinned-package", pkg->runner + " runs " + pkg->package + " without a pinned version"});
  }
  if (basename_of(f.command) == "docker" || basename_of(f.command) == "podman") {
    auto run = std::find(f.args.begin(), f.args.end(), "run");
    if (run != f.args.end()) {
      auto image =
          first_positional(f.args, static_cast<std::size_t>(run - f.args.begin()) + 1,
                           {"-e", "--env", "-v", "--volume", "--name", "-p", "--publish",
                            "--network", "--mount", "-w", "--workdir", "--entrypoint", "-u",
                            "--user", "--env-file", "--platform", "-l", "--label", "--pull"});
      if (image && !image_pinned(*image)) {
        f.risks.push_back(
            {"unpinned-image", "container image " + *image + " has no version tag or digest"});
      }
    }
  }
  if (insecure_remote_http(f.url)) {
    f.risks.push_back({"insecure-http", "remote URL over plain http"});
  }
  if (entry.is_object() && entry.contains("envFile")) {
    f.risks.push_back({"env-file", "credentials may sit in the referenced env file"});
  }
}

}  // namespace custody::discovery
