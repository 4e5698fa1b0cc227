// Discovery scan benchmark against the target of issue 8: a scan of a home directory with 50
// client configs and 10,000 project files completes in < 1 s and uses < 30 MiB.
//
// The tree is generated into a temporary directory (a root read as if it were /):
// /home/u with 50 config files spread over the catalogue's clients and formats (5 servers each,
// some with literal secrets), and /home/u/src with 100 projects of 100 files each (nested
// directories, a .git dir, and project MCP configs in every fifth project).
//
//   build/<dir>/bench/discovery_bench                       # Google Benchmark of scan()
//   build/<dir>/bench/discovery_bench --generate DIR        # only write the tree, e.g. to measure
//   /usr/bin/time -v custody-agent scan --root DIR --project-root /home/u/src --json >/dev/null
//
// The peak_rss_MiB counter is the whole benchmark process's high-water mark (generation included).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "discovery/catalogue.h"
#include "discovery/scanner.h"

namespace custody::discovery {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string json_servers(int file, const char* key = "mcpServers") {
  std::string s = std::string("{\n  // generated\n  \"") + key + "\": {\n";
  for (int i = 0; i < 5; ++i) {
    std::string name = "srv" + std::to_string(file) + "_" + std::to_string(i);
    if (i % 2 == 0) {
      s += "    \"" + name + "\": {\"command\": \"npx\", \"args\": [\"-y\", \"@example/" + name +
           "\"], \"env\": {\"API_TOKEN\": \"ghp_abcdefghijklmnopqrstuvwxyz01234567" +
           std::to_string(i) + "\", \"LOG_LEVEL\": \"info\"}},\n";
    } else {
      s += "    \"" + name + "\": {\"url\": \"https://" + name +
           ".example.com/mcp\", \"headers\": {\"Authorization\": \"Bearer ${TOKEN}\"}},\n";
    }
  }
  s += "  },\n}\n";
  return s;
}

// 50 config files: one per non-glob Linux home location of the catalogue in its own format,
// the rest as Amazon Q / Kiro agent files (globbed locations).
int generate_home(const fs::path& home) {
  int files = 0;
  for (const auto& loc : config_locations()) {
    if (loc.anchor != Anchor::kHome || loc.platform != Platform::kLinux) continue;
    std::string path(loc.path);
    if (path.find('*') != std::string::npos) continue;
    if (path.find("{editor}") != std::string::npos) {
      path.replace(path.find("{editor}"), 8, ".config/Code/User");
    }
    std::string text;
    switch (loc.layout) {
      case Layout::kCodex:
        for (int i = 0; i < 5; ++i) {
          text += "[mcp_servers.codex" + std::to_string(i) + "]\ncommand = \"uvx\"\nargs = [\"pkg" +
                  std::to_string(i) + "\"]\nenv = { OPENAI_API_KEY = \"sk-abcdefghijklmnopqrstu" +
                  std::to_string(i) + "\" }\n\n";
        }
        break;
      case Layout::kGoose:
        text = "extensions:\n";
        for (int i = 0; i < 5; ++i) {
          text += "  g" + std::to_string(i) + ":\n    type: stdio\n    cmd: uvx\n    args: [pkg" +
                  std::to_string(i) + "]\n    envs:\n      TOKEN: abcdefghijklmnopqrstuvwxyz" +
                  std::to_string(i) + "\n";
        }
        break;
      case Layout::kContinue:
        text = "mcpServers:\n";
        for (int i = 0; i < 5; ++i) {
          text += "  - name: c" + std::to_string(i) + "\n    command: npx\n    args: [\"-y\", \"p" +
                  std::to_string(i) + "\"]\n";
        }
        break;
      case Layout::kVscodeServers:
        text = json_servers(files, "servers");
        break;
      case Layout::kVscodeSettings:
        text = "{\"mcp\": " + json_servers(files, "servers") + "}";
        break;
      case Layout::kZed:
        text = json_servers(files, "context_servers");
        break;
      case Layout::kOpencode:
        text = "{\"mcp\": {\"o\": {\"type\": \"local\", \"command\": [\"npx\", \"-y\", \"x\"]}}}";
        break;
      case Layout::kGeminiAgent:
        continue;
      default:
        text = json_servers(files);
    }
    write(home / path, text);
    ++files;
  }
  for (int i = 0; files < 50; ++i, ++files) {
    std::string name = std::string(i % 2 ? ".aws/amazonq/cli-agents/a" : ".kiro/agents/k") +
                       std::to_string(i) + ".json";
    write(home / name, json_servers(files));
  }
  return files;
}

int generate_projects(const fs::path& src) {
  int files = 0;
  for (int p = 0; p < 100; ++p) {
    fs::path proj = src / ("project" + std::to_string(p));
    if (p % 5 == 0) {
      write(proj / ".mcp.json", json_servers(1000 + p));
      write(proj / ".vscode/mcp.json", json_servers(2000 + p, "servers"));
      files += 2;
    }
    write(proj / ".git/HEAD", "ref: refs/heads/main\n");
    ++files;
    for (int f = files % 100; f < 97; ++f) {
      write(proj / ("src/mod" + std::to_string(f % 8)) / ("d" + std::to_string(f % 3)) /
                ("file" + std::to_string(f) + ".ts"),
            "export const x = 1;\n");
      ++files;
    }
  }
  // Top up to exactly 10,000 files.
  for (int i = 0; files < 10000; ++i, ++files) {
    write(src / "misc" / ("f" + std::to_string(i) + ".txt"), "x\n");
  }
  return files;
}

void generate(const fs::path& root) {
  fs::remove_all(root);
  int configs = generate_home(root / "home/u");
  int project_files = generate_projects(root / "home/u/src");
  write(root / "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  std::cerr << "generated " << configs << " client configs and " << project_files
            << " project files under " << root << "\n";
}

fs::path bench_root() {
  static const fs::path root = [] {
    fs::path r =
        fs::temp_directory_path() / ("custody-discovery-bench-" + std::to_string(::getpid()));
    generate(r);
    return r;
  }();
  return root;
}

void BM_ScanHomeAndProjects(benchmark::State& state) {
  ScanOptions o;
  o.root = bench_root().string();
  o.project_roots = {"/home/u/src"};
  std::size_t findings = 0, configs = 0, entries = 0;
  for (auto _ : state) {
    Report r = scan(o);
    findings = r.findings.size();
    configs = r.stats.config_files_read;
    entries = r.stats.project_entries_seen;
    benchmark::DoNotOptimize(r);
  }
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  state.counters["findings"] = static_cast<double>(findings);
  state.counters["configs_read"] = static_cast<double>(configs);
  state.counters["project_entries"] = static_cast<double>(entries);
  state.counters["peak_rss_MiB"] = static_cast<double>(ru.ru_maxrss) / 1024.0;
}
BENCHMARK(BM_ScanHomeAndProjects)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace custody::discovery

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--generate") == 0) {
    custody::discovery::generate(argv[2]);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::filesystem::remove_all(custody::discovery::bench_root());
  return 0;
}
