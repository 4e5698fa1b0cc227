#include "discovery/catalogue.h"

namespace custody::discovery {

namespace {
constexpr Anchor H = Anchor::kHome;
constexpr Anchor S = Anchor::kSystem;
constexpr Anchor P = Anchor::kProject;
constexpr Platform L = Platform::kLinux;
constexpr Platform M = Platform::kMacos;
constexpr Platform W = Platform::kWindows;
}  // namespace

const std::vector<ConfigLocation>& config_locations() {
  // Order matters only for the report's stability. "[unconfirmed]" entries of DISCOVERY.md are
  // included: reading a file that does not exist costs one failed stat.
  static const std::vector<ConfigLocation> kLocations = {
      // Claude Desktop
      {"claude-desktop", H, L, ".config/Claude/claude_desktop_config.json", Format::kJson,
       Layout::kMcpServers},
      {"claude-desktop", H, M, "Library/Application Support/Claude/claude_desktop_config.json",
       Format::kJson, Layout::kMcpServers},
      {"claude-desktop", H, W, "AppData/Roaming/Claude/claude_desktop_config.json", Format::kJson,
       Layout::kMcpServers},
      // Claude Code
      {"claude-code", H, L, ".claude.json", Format::kJson, Layout::kClaudeJson},
      {"claude-code", S, L, "etc/claude-code/managed-mcp.json", Format::kJson, Layout::kMcpServers,
       true},
      {"claude-code", S, M, "Library/Application Support/ClaudeCode/managed-mcp.json",
       Format::kJson, Layout::kMcpServers, true},
      // Windows: C:\Program Files\ClaudeCode; older releases used C:\ProgramData\ClaudeCode
      {"claude-code", S, W, "Program Files/ClaudeCode/managed-mcp.json", Format::kJson,
       Layout::kMcpServers, true},
      {"claude-code", S, W, "ProgramData/ClaudeCode/managed-mcp.json", Format::kJson,
       Layout::kMcpServers, true},
      {"claude-code", P, L, ".mcp.json", Format::kJson, Layout::kMcpServers},
      // Cursor
      {"cursor", H, L, ".cursor/mcp.json", Format::kJsonc, Layout::kMcpServers},
      {"cursor", P, L, ".cursor/mcp.json", Format::kJsonc, Layout::kMcpServers},
      // VS Code (Copilot) and its forks' user dirs
      {"vscode", H, L, ".config/Code/User/mcp.json", Format::kJsonc, Layout::kVscodeServers},
      {"vscode", H, L, ".config/Code/User/settings.json", Format::kJsonc, Layout::kVscodeSettings},
      {"vscode", H, L, ".config/Code/User/profiles/*/mcp.json", Format::kJsonc,
       Layout::kVscodeServers},
      {"vscode", H, L, ".config/Code - Insiders/User/mcp.json", Format::kJsonc,
       Layout::kVscodeServers},
      {"vscode", H, L, ".config/VSCodium/User/mcp.json", Format::kJsonc, Layout::kVscodeServers},
      {"vscode", H, L, ".vscode-server/data/User/mcp.json", Format::kJsonc, Layout::kVscodeServers},
      {"vscode", H, M, "Library/Application Support/Code/User/mcp.json", Format::kJsonc,
       Layout::kVscodeServers},
      {"vscode", H, M, "Library/Application Support/Code/User/settings.json", Format::kJsonc,
       Layout::kVscodeSettings},
      // %APPDATA%\Code\User (mcp-scan looked under ~/.config/Code on Windows: DISCOVERY.md §7)
      {"vscode", H, W, "AppData/Roaming/Code/User/mcp.json", Format::kJsonc,
       Layout::kVscodeServers},
      {"vscode", H, W, "AppData/Roaming/Code/User/settings.json", Format::kJsonc,
       Layout::kVscodeSettings},
      {"vscode", H, W, "AppData/Roaming/Code/User/profiles/*/mcp.json", Format::kJsonc,
       Layout::kVscodeServers},
      {"vscode", H, W, "AppData/Roaming/Code - Insiders/User/mcp.json", Format::kJsonc,
       Layout::kVscodeServers},
      {"vscode", H, W, "AppData/Roaming/VSCodium/User/mcp.json", Format::kJsonc,
       Layout::kVscodeServers},
      {"vscode", P, L, ".vscode/mcp.json", Format::kJsonc, Layout::kVscodeServers},
      // GitHub Copilot CLI
      {"copilot-cli", H, L, ".copilot/mcp-config.json", Format::kJson, Layout::kMcpServers},
      {"copilot-cli", P, L, ".github/mcp.json", Format::kJson, Layout::kMcpServers},
      // Windsurf
      {"windsurf", H, L, ".codeium/windsurf/mcp_config.json", Format::kJsonc, Layout::kMcpServers},
      {"windsurf", H, L, ".codeium/mcp_config.json", Format::kJsonc, Layout::kMcpServers},
      {"windsurf", H, L, ".config/devin/mcp_config.json", Format::kJsonc, Layout::kMcpServers},
      {"windsurf", P, L, ".windsurf/mcp_config.json", Format::kJsonc, Layout::kMcpServers},
      // Zed
      {"zed", H, L, ".config/zed/settings.json", Format::kJsonc, Layout::kZed},
      {"zed", H, W, "AppData/Roaming/Zed/settings.json", Format::kJsonc, Layout::kZed},
      {"zed", P, L, ".zed/settings.json", Format::kJsonc, Layout::kZed},
      // Continue
      {"continue", H, L, ".continue/config.yaml", Format::kYaml, Layout::kContinue},
      {"continue", P, L, ".continue/mcpServers/*.yaml", Format::kYaml, Layout::kContinue},
      {"continue", P, L, ".continue/mcpServers/*.json", Format::kJsonc, Layout::kContinue},
      // Cline: the host editor's user dir, and the CLI
      {"cline", H, L,
       "{editor}/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
       Format::kJson, Layout::kMcpServers},
      {"cline", H, M,
       "{editor}/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
       Format::kJson, Layout::kMcpServers},
      {"cline", H, W,
       "{editor}/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
       Format::kJson, Layout::kMcpServers},
      {"cline", H, L, ".cline/data/settings/cline_mcp_settings.json", Format::kJson,
       Layout::kMcpServers},
      // Roo Code
      {"roo-code", H, L,
       "{editor}/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
       Format::kJson, Layout::kMcpServers},
      {"roo-code", H, M,
       "{editor}/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
       Format::kJson, Layout::kMcpServers},
      {"roo-code", H, W,
       "{editor}/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
       Format::kJson, Layout::kMcpServers},
      {"roo-code", P, L, ".roo/mcp.json", Format::kJson, Layout::kMcpServers},
      // Gemini CLI
      {"gemini-cli", H, L, ".gemini/settings.json", Format::kJsonc, Layout::kMcpServers},
      {"gemini-cli", H, L, ".gemini/extensions/*/gemini-extension.json", Format::kJson,
       Layout::kMcpServers},
      {"gemini-cli", H, L, ".gemini/agents/*.md", Format::kMarkdownFrontMatter,
       Layout::kGeminiAgent},
      {"gemini-cli", H, L, ".config/gemini-cli/agents/*.md", Format::kMarkdownFrontMatter,
       Layout::kGeminiAgent},
      {"gemini-cli", S, L, "etc/gemini-cli/settings.json", Format::kJsonc, Layout::kMcpServers,
       true},
      {"gemini-cli", S, L, "etc/gemini-cli/system-defaults.json", Format::kJsonc,
       Layout::kMcpServers, true},
      {"gemini-cli", S, M, "Library/Application Support/GeminiCli/settings.json", Format::kJsonc,
       Layout::kMcpServers, true},
      {"gemini-cli", S, W, "ProgramData/gemini-cli/settings.json", Format::kJsonc,
       Layout::kMcpServers, true},
      {"gemini-cli", S, W, "ProgramData/gemini-cli/system-defaults.json", Format::kJsonc,
       Layout::kMcpServers, true},
      {"gemini-cli", P, L, ".gemini/settings.json", Format::kJsonc, Layout::kMcpServers},
      {"gemini-cli", P, L, ".gemini/agents/*.md", Format::kMarkdownFrontMatter,
       Layout::kGeminiAgent},
      // Google Antigravity
      {"antigravity", H, L, ".gemini/antigravity/mcp_config.json", Format::kJson,
       Layout::kMcpServers},
      // OpenAI Codex CLI
      {"codex", H, L, ".codex/config.toml", Format::kToml, Layout::kCodex},
      {"codex", H, L, ".codex/*.config.toml", Format::kToml, Layout::kCodex},
      {"codex", P, L, ".codex/config.toml", Format::kToml, Layout::kCodex},
      // Goose
      {"goose", H, L, ".config/goose/config.yaml", Format::kYaml, Layout::kGoose},
      {"goose", H, W, "AppData/Roaming/Block/goose/config/config.yaml", Format::kYaml,
       Layout::kGoose},
      // Amazon Q Developer
      {"amazon-q", H, L, ".aws/amazonq/cli-agents/*.json", Format::kJson, Layout::kMcpServers},
      {"amazon-q", H, L, ".aws/amazonq/agents/default.json", Format::kJson, Layout::kMcpServers},
      {"amazon-q", H, L, ".aws/amazonq/mcp.json", Format::kJson, Layout::kMcpServers},
      {"amazon-q", P, L, ".amazonq/cli-agents/*.json", Format::kJson, Layout::kMcpServers},
      {"amazon-q", P, L, ".amazonq/mcp.json", Format::kJson, Layout::kMcpServers},
      // Kiro
      {"kiro", H, L, ".kiro/settings/mcp.json", Format::kJson, Layout::kMcpServers},
      {"kiro", H, L, ".kiro/agents/*.json", Format::kJson, Layout::kMcpServers},
      {"kiro", P, L, ".kiro/settings/mcp.json", Format::kJson, Layout::kMcpServers},
      // LM Studio
      {"lm-studio", H, L, ".lmstudio/mcp.json", Format::kJson, Layout::kMcpServers},
      {"lm-studio", H, L, ".cache/lm-studio/mcp.json", Format::kJson, Layout::kMcpServers},
      // opencode
      {"opencode", H, L, ".config/opencode/opencode.json", Format::kJsonc, Layout::kOpencode},
      {"opencode", H, L, ".config/opencode/opencode.jsonc", Format::kJsonc, Layout::kOpencode},
      {"opencode", P, L, "opencode.json", Format::kJsonc, Layout::kOpencode},
      {"opencode", P, L, "opencode.jsonc", Format::kJsonc, Layout::kOpencode},
      {"opencode", P, L, ".opencode/opencode.json", Format::kJsonc, Layout::kOpencode},
      {"opencode", P, L, ".opencode/opencode.jsonc", Format::kJsonc, Layout::kOpencode},
      // JetBrains AI Assistant and Junie [unconfirmed locations]
      {"jetbrains", P, L, ".idea/mcp.json", Format::kJson, Layout::kMcpServers},
      {"junie", H, L, ".junie/mcp/mcp.json", Format::kJson, Layout::kMcpServers},
      {"junie", P, L, ".junie/mcp/mcp.json", Format::kJson, Layout::kMcpServers},
  };
  return kLocations;
}

const std::vector<std::string_view>& editor_user_dirs(Platform platform) {
  static const std::vector<std::string_view> kLinux = {
      ".config/Code/User",   ".config/Code - Insiders/User", ".config/VSCodium/User",
      ".config/Cursor/User", ".config/Windsurf/User",        ".vscode-server/data/User"};
  static const std::vector<std::string_view> kMacos = {"Library/Application Support/Code/User",
                                                       "Library/Application Support/Cursor/User"};
  static const std::vector<std::string_view> kWindows = {
      "AppData/Roaming/Code/User", "AppData/Roaming/Code - Insiders/User",
      "AppData/Roaming/VSCodium/User", "AppData/Roaming/Cursor/User",
      "AppData/Roaming/Windsurf/User"};
  switch (platform) {
    case Platform::kMacos:
      return kMacos;
    case Platform::kWindows:
      return kWindows;
    case Platform::kLinux:
      break;
  }
  return kLinux;
}

const std::vector<CredentialStoreLocation>& credential_store_locations() {
  static const std::vector<CredentialStoreLocation> kStores = {
      {"claude-code", ".claude/.credentials.json", "Claude Code OAuth credentials"},
      {"gemini-cli", ".gemini/mcp-oauth-tokens.json", "Gemini CLI MCP OAuth tokens"},
      {"goose", ".config/goose/secrets.yaml", "Goose secrets (keyring off)"},
      {"goose", "AppData/Roaming/Block/goose/config/secrets.yaml", "Goose secrets (keyring off)"},
  };
  return kStores;
}

const std::vector<ProcessSignature>& process_signatures() {
  static const std::vector<ProcessSignature> kSignatures = {
      {"claude-code", "claude"},  {"claude-code", "@anthropic-ai/claude-code", true},
      {"codex", "codex"},         {"codex", "@openai/codex", true},
      {"gemini-cli", "gemini"},   {"gemini-cli", "@google/gemini-cli", true},
      {"cline", "cline"},         {"cline", "@cline/cli", true},
      {"goose", "goose"},         {"goose", "goosed"},
      {"copilot-cli", "copilot"}, {"copilot-cli", "@github/copilot", true},
      {"amazon-q", "q"},          {"amazon-q", "qchat"},
      {"kiro", "kiro-cli"},       {"opencode", "opencode"},
      {"vscode", "code"},         {"cursor", "cursor"},
      {"windsurf", "windsurf"},   {"zed", "zed"},
      {"zed", "zed-editor"},      {"claude-desktop", "Claude"},
      {"lm-studio", "LM Studio"}, {"lm-studio", "lms"},
  };
  return kSignatures;
}

}  // namespace custody::discovery
