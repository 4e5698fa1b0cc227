#!/usr/bin/env python3
# Writes tests/discovery/fixtures/root (a tree the scanner reads as if it were /), fixtures/windows
# (a system drive for --windows-paths), fixtures/listeners (/proc/net/tcp{,6} and fd links for the
# loopback probe) and fixtures/planted-secrets.txt (every secret value planted in them, for the
# no-leak tests). The generated files are committed; rerun after editing this script. All secrets
# are fake.
import os, json
HERE = os.path.dirname(os.path.abspath(__file__))
R = os.path.join(HERE, "fixtures", "root")
S = {}  # planted secrets
def sec(name, value):
    S[name] = value
    return value
def w(path, text, mode="w"):
    p = os.path.join(R, path.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, mode) as f: f.write(text)
def wj(path, obj): w(path, json.dumps(obj, indent=2) + "\n")

GH1 = sec("cursor github pat", "ghp_Fx7kQ2mZ9pL4vN8rT1wY6cB3dH5jK0sA2eG4")
OAI = sec("codex openai key", "sk-proj-Fx9Qw2Er4Ty6Ui8Op0As1Df3Gh5Jk7Lz")
ANT = sec("claude desktop anthropic", "sk-ant-api03-FxQ9w2E4r6T8y0U1i3O5p7A9s")
SLK = sec("opencode slack", "xoxb-1234567890-0987654321-FxAbCdEfGhIjKlMn")
AWS = sec("goose aws", "AKIAFX7Q2M9P4L8V3N1R")
AWS_S = sec("goose aws secret", "wJalrFXUtnFEMI/K7MDENG/bPxRfiCYFXAMPLEKEY")
GOOG = sec("gemini google key", "AIzaSyFx7Q2m9P4l8V3n1R6t0Y5u2I8o4P6a1S3")
GL = sec("windsurf gitlab query", "glpat-Fx7Q2m9P4l8V3n1R6t0Y")
BEARER = sec("continue bearer", "Fx.9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d")
CSEC = sec("cursor oauth client secret", "Fx_cs_4f8a2c9e1b7d3f5a0c6e8b2d4f6a8c0e")
GEM_CS = sec("gemini oauth clientSecret", "GOCSPX-Fx7Q2m9P4l8V3n1R6t0Y5u")
A2A = sec("gemini a2a auth token", "a2a_Fx7Q2m9P4l8V3n1R6t0Y5u2I8o4P6")
ARGTOK = sec("vscode --token arg", "ghp_ArgFx2mZ9pL4vN8rT1wY6cB3dH5jK0sA2e")
HDRARG = sec("kiro -H header arg", "Fx9HdrQ2m9P4l8V3n1R6t0Y5u2I8o4P6a1")
URLPASS = sec("lmstudio url password", "Fxp4ssw0rdQ2m9P4")
DOCKER = sec("amazonq docker -e", "ghp_DockFx2mZ9pL4vN8rT1wY6cB3dH5jK0sA2e")
CODEX_HDR = sec("codex http_headers literal", "Fx-hdr-9a8b7c6d5e4f3a2b1c0d9e8f7")
CODEX_BT = sec("codex bearer_token literal", "Fx-bt-1a2b3c4d5e6f7a8b9c0d1e2f3a")
ZED = sec("zed env literal", "ghp_ZedFx2mZ9pL4vN8rT1wY6cB3dH5jK0sA2eG")
CLINE = sec("cline env literal", "sk-FxCline9Qw2Er4Ty6Ui8Op0As1Df3")
ROO = sec("roo header literal", "Bearer FxRoo7Q2m9P4l8V3n1R6t0Y5u2I8")
PROJ = sec("project .mcp.json literal", "ghp_ProjFx2mZ9pL4vN8rT1wY6cB3dH5jK0sA2e")
PROJ_VSC = sec("project vscode header", "FxVsc9Q2m9P4l8V3n1R6t0Y5u2I8o4P6a")
LOCAL = sec("claude.json local project literal", "sk-ant-api03-FxLocal2E4r6T8y0U1i3O5p7")
MANAGED = sec("managed header literal", "FxManaged9Q2m9P4l8V3n1R6t0Y5u2I8o")
CRED = sec("credential store content", "sk-ant-oat01-FxCredStore9Qw2Er4Ty6Ui8")
GEMTOK = sec("gemini token store content", "ya29.FxGeminiTokenStore9Qw2Er4Ty6Ui8")
PROCENV = sec("proc environ", "ghp_ProcEnvFx2mZ9pL4vN8rT1wY6cB3dH5jK0s")
PROCARG = sec("proc cmdline token", "ghp_ProcArgFx2mZ9pL4vN8rT1wY6cB3dH5jK0s")
MALFORMED = sec("malformed file literal", "ghp_BadFx2mZ9pL4vN8rT1wY6cB3dH5jK0sA2eG")
COPILOT = sec("copilot env literal", "github_pat_11FxCopilot0123456789_abcdefABCDEF")
ANTIG = sec("antigravity env literal", "sk-FxAntig9Qw2Er4Ty6Ui8Op0As1Df3Gh")
JUNIE = sec("junie header literal", "FxJunie9Q2m9P4l8V3n1R6t0Y5u2I8o4P")
GEMEXT = sec("gemini extension env", "FxGemExt9Q2m9P4l8V3n1R6t0Y5u2I8o4")
DESKTOP_USER = sec("vscode settings env", "FxVscSet9Q2m9P4l8V3n1R6t0Y5u2I8o4")
QCLI = sec("amazon q agent env", "FxQcli9Q2m9P4l8V3n1R6t0Y5u2I8o4P6")
ROOTLM = sec("root lm-studio env", "sk-FxRootLm9Qw2Er4Ty6Ui8Op0As1Df3")
SYS = sec("gemini system env", "FxSysGem9Q2m9P4l8V3n1R6t0Y5u2I8o4")
CONT_PROJ = sec("continue project env", "FxContProj9Q2m9P4l8V3n1R6t0Y5u2I8")

A = "/home/alice"
w("/etc/machine-id", "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
# Claude Desktop
wj(A+"/.config/Claude/claude_desktop_config.json", {"mcpServers": {
  "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/alice/Documents"]},
  "anthropic-tools": {"command": "uvx", "args": ["anthropic-mcp==1.2.0"], "env": {"ANTHROPIC_API_KEY": ANT}}}})
# Claude Code ~/.claude.json: user-level servers, per-project servers, unrelated bulk
wj(A+"/.claude.json", {"numStartups": 42, "tipsHistory": {"x": 1}, "oauthAccount": {"emailAddress": "alice@example.com"},
  "mcpServers": {"github": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                             "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"}},
                 "sentry": {"type": "http", "url": "https://mcp.sentry.dev/mcp", "headers": {"Authorization": "Bearer ${SENTRY_TOKEN:-none}"}}},
  "projects": {"/home/alice/src/app1": {"allowedTools": [], "history": [{"display": "hello"}],
      "mcpServers": {"local-db": {"type": "stdio", "command": "node", "args": ["/home/alice/src/app1/tools/db-mcp.js"], "env": {"DB_PASSWORD": LOCAL}}}}}})
w(A+"/.claude/.credentials.json", json.dumps({"claudeAiOauth": {"accessToken": CRED}}))
# Cursor: literal GitHub PAT, remote with OAuth client secret
wj(A+"/.cursor/mcp.json", {"mcpServers": {
  "github": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
             "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": GH1}},
  "linear": {"url": "https://mcp.linear.app/sse", "type": "sse", "auth": {"CLIENT_ID": "cursor-client", "CLIENT_SECRET": CSEC}}}})
# VS Code: JSONC with comments and trailing commas, inputs, a --token arg
w(A+"/.config/Code/User/mcp.json", """// VS Code user MCP servers
{
  /* inputs prompt for secrets */
  "inputs": [
    {"type": "promptString", "id": "pat", "description": "GitHub PAT, with // and /* inside", "password": true},
  ],
  "servers": {
    "github-remote": {
      "type": "http",
      "url": "https://api.githubcopilot.com/mcp/",
      "headers": {"Authorization": "Bearer ${input:pat}",},  // reference, not a secret
    },
    "gitlab": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@zereight/mcp-gitlab@1.0.4", "--token", "%s", "--url=https://gitlab.example.com,"],
      "envFile": "${workspaceFolder}/.env",
    },
  },
}
""" % ARGTOK)
wj(A+"/.config/Code/User/settings.json", {"editor.fontSize": 13, "mcp": {"servers": {
  "legacy-fetch": {"command": "uvx", "args": ["mcp-server-fetch"], "env": {"FETCH_API_KEY": DESKTOP_USER}}}}})
# Copilot CLI
wj(A+"/.copilot/mcp-config.json", {"mcpServers": {"playwright": {"type": "local", "command": "npx",
  "args": ["@playwright/mcp@latest"], "env": {"GITHUB_TOKEN": COPILOT}, "tools": ["*"]}}})
# Windsurf: serverUrl with a token in the query
wj(A+"/.codeium/windsurf/mcp_config.json", {"mcpServers": {
  "gitlab-remote": {"serverUrl": "https://gitlab.example.com/api/v4/mcp?private_token=%s&project=42" % GL},
  "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory@2025.4.25"], "disabled": True}}})
# Zed: JSONC context_servers
w(A+"/.config/zed/settings.json", """// Zed settings
{
  "theme": "One Dark",
  "context_servers": {
    "zed-github": {
      "source": "custom",
      "command": "github-mcp-server",
      "args": ["stdio"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "%s"},
    },
    "remote-docs": {"url": "http://docs.internal.example.com:8080/mcp", "headers": {},},
  },
}
""" % ZED)
# Continue: YAML list, ${{ secrets.X }}, requestOptions.headers literal
w(A+"/.continue/config.yaml", """name: alice-assistant
version: 1.0.0
schema: v1
mcpServers:
  - name: sqlite
    type: stdio
    command: uvx
    args: ["mcp-server-sqlite", "--db-path", "/home/alice/data/test.db"]
    env:
      SQLITE_TOKEN: ${{ secrets.SQLITE_TOKEN }}
  - name: search
    type: streamable-http
    url: https://search.example.com/mcp
    requestOptions:
      headers:
        Authorization: "Bearer %s"
""" % BEARER)
# Cline (VS Code host): autoApprove, url without type = SSE
E = A+"/.config/Code/User/globalStorage"
wj(E+"/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", {"mcpServers": {
  "weather": {"command": "node", "args": ["/home/alice/mcp/weather/build/index.js"], "env": {"OPENWEATHER_API_KEY": CLINE},
              "autoApprove": ["get_forecast"], "disabled": False},
  "events": {"url": "https://events.example.com/sse"}}})
wj(A+"/.cline/data/settings/cline_mcp_settings.json", {"mcpServers": {
  "cli-time": {"transport": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time"]}}}})
# Roo Code: alwaysAllow, streamable-http header literal
wj(E+"/rooveterinaryinc.roo-cline/settings/mcp_settings.json", {"mcpServers": {
  "roo-remote": {"type": "streamable-http", "url": "https://roo.example.com/mcp", "headers": {"Authorization": ROO}, "alwaysAllow": ["search"]}}})
# Gemini CLI: trust, httpUrl, url (=SSE), oauth clientSecret, extension, remote A2A agent
wj(A+"/.gemini/settings.json", {"theme": "Default", "mcpServers": {
  "maps": {"command": "npx", "args": ["-y", "@googlemaps/mcp"], "env": {"GOOGLE_MAPS_API_KEY": GOOG}, "trust": True},
  "bigquery": {"httpUrl": "https://bigquery.example.com/mcp", "oauth": {"enabled": True, "clientId": "gem-client", "clientSecret": GEM_CS}},
  "legacy-sse": {"url": "https://legacy.example.com/sse"}}})
wj(A+"/.gemini/extensions/ext-notes/gemini-extension.json", {"name": "ext-notes", "version": "1.0.0",
  "mcpServers": {"notes": {"command": "node", "args": ["${extensionPath}/server.js"], "env": {"NOTES_SECRET": GEMEXT}}}})
w(A+"/.gemini/agents/reviewer.md", """---
kind: remote
name: code-reviewer
agent_card_url: https://agents.example.com/reviewer/.well-known/agent-card.json
auth:
  type: bearer
  token: %s
---
Reviews code.
""" % A2A)
w(A+"/.gemini/agents/local-helper.md", "---\nkind: local\nname: helper\n---\nA local subagent (a prompt, not a finding).\n")
w(A+"/.gemini/mcp-oauth-tokens.json", json.dumps([{"serverName": "bigquery", "token": {"accessToken": GEMTOK}}]))
# Antigravity
wj(A+"/.gemini/antigravity/mcp_config.json", {"mcpServers": {"antigravity-search": {"command": "npx", "args": ["-y", "ag-search-mcp"], "env": {"SEARCH_API_KEY": ANTIG}}}})
# Codex TOML
w(A+"/.codex/config.toml", """model = "gpt-5"
approval_policy = "on-request"

[mcp_servers.openai-docs]
command = "npx"
args = ["-y", "openai-docs-mcp"]
env = { OPENAI_API_KEY = "%s", LOG_LEVEL = "debug" }
env_vars = ["HOME_TOKEN"]

[mcp_servers.figma]
url = "https://mcp.figma.com/mcp"
bearer_token_env_var = "FIGMA_OAUTH_TOKEN"
http_headers = { "X-Figma-Region" = "us-east-1", "X-Api-Key" = "%s" }
env_http_headers = { "X-Team" = "FIGMA_TEAM_ID" }

[mcp_servers.legacy]
url = "https://legacy.example.com/mcp"
bearer_token = "%s"
enabled = false
""" % (OAI, CODEX_HDR, CODEX_BT))
# Goose YAML extensions
w(A+"/.config/goose/config.yaml", """GOOSE_PROVIDER: openai
extensions:
  developer:
    enabled: true
    name: developer
    type: builtin
  aws:
    enabled: true
    name: aws
    type: stdio
    cmd: uvx
    args:
      - awslabs.aws-api-mcp-server
    envs:
      AWS_ACCESS_KEY_ID: %s
      AWS_SECRET_ACCESS_KEY: %s
      AWS_REGION: eu-west-1
    env_keys:
      - AWS_PROFILE
  intranet:
    enabled: true
    name: intranet
    type: streamable_http
    uri: http://intranet.example.com/mcp
    headers:
      X-Trace: "on"
""" % (AWS, AWS_S))
# Amazon Q
wj(A+"/.aws/amazonq/cli-agents/default.json", {"name": "default", "mcpServers": {
  "q-github": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "GITHUB_TOKEN=%s" % DOCKER, "ghcr.io/github/github-mcp-server:latest"]},
  "q-jira": {"command": "jira-mcp", "env": {"JIRA_API_TOKEN": QCLI}, "timeout": 120000}}, "tools": ["@q-github"], "allowedTools": ["@q-github"]})
wj(A+"/.aws/amazonq/mcp.json", {"mcpServers": {"q-legacy": {"command": "uvx", "args": ["awslabs.core-mcp-server@1.0.3"]}}})
# Kiro: autoApprove, -H header arg
wj(A+"/.kiro/settings/mcp.json", {"mcpServers": {"kiro-remote": {"command": "npx", "args": ["-y", "mcp-remote@0.1.18", "https://kiro.example.com/mcp", "-H", "Authorization: Bearer %s" % HDRARG],
  "autoApprove": ["*"], "disabled": False}}})
# LM Studio: URL userinfo
wj(A+"/.lmstudio/mcp.json", {"mcpServers": {"lm-remote": {"url": "https://lmuser:%s@lm.example.com/mcp" % URLPASS}}})
# opencode: local argv array + environment; remote
w(A+"/.config/opencode/opencode.json", """{
  "$schema": "https://opencode.ai/config.json",
  // opencode allows comments too
  "mcp": {
    "slack": {"type": "local", "command": ["npx", "-y", "@modelcontextprotocol/server-slack"], "environment": {"SLACK_BOT_TOKEN": "%s"}, "enabled": true},
    "context7": {"type": "remote", "url": "https://mcp.context7.com/mcp", "headers": {"CONTEXT7_API_KEY": "{env:CONTEXT7_API_KEY}"}},
  },
}
""" % SLK)
# Junie
wj(A+"/.junie/mcp/mcp.json", {"mcpServers": {"junie-docs": {"url": "https://docs.example.com/mcp", "headers": {"X-Api-Key": JUNIE}}}})

# Projects under ~/src
P = A+"/src/app1"
wj(P+"/.mcp.json", {"mcpServers": {"project-github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": PROJ}}}})
w(P+"/.vscode/mcp.json", """{
  // project servers, JSONC
  "servers": {
    "proj-api": {"type": "sse", "url": "https://api.example.com/sse", "headers": {"X-Api-Key": "%s"},},
  },
}
""" % PROJ_VSC)
wj(P+"/.cursor/mcp.json", {"mcpServers": {"proj-cursor": {"url": "http://127.0.0.1:3845/mcp"}}})
wj(P+"/.gemini/settings.json", {"mcpServers": {"proj-gemini": {"command": "python", "args": ["-m", "proj_mcp"], "cwd": "./tools"}}})
w(P+"/.gemini/agents/planner.md", "---\nkind: remote\nname: planner\nagent_card_url: http://planner.example.com/.well-known/agent-card.json\n---\n")
w(P+"/.continue/mcpServers/db.yaml", """name: db-block
version: 0.0.1
schema: v1
mcpServers:
  - name: postgres
    command: npx
    args: ["-y", "@modelcontextprotocol/server-postgres", "postgresql://localhost/app"]
    env:
      PGPASSWORD: %s
""" % CONT_PROJ)
wj(P+"/.roo/mcp.json", {"mcpServers": {"proj-roo": {"command": "uvx", "args": ["--from", "git+https://github.com/x/y", "y-mcp"]}}})
wj(P+"/.amazonq/mcp.json", {"mcpServers": {"proj-q": {"command": "q-mcp"}}})
wj(P+"/.kiro/settings/mcp.json", {"mcpServers": {"proj-kiro": {"command": "kiro-mcp", "args": ["--verbose"]}}})
w(P+"/opencode.jsonc", '{\n  // project opencode\n  "mcp": {"servers": {"proj-opencode": {"type": "remote", "url": "https://oc.example.com/mcp",},},},\n}\n')
wj(P+"/.github/mcp.json", {"mcpServers": {"proj-copilot": {"command": "npx", "args": ["-y", "copilot-proj-mcp"]}}})
wj(P+"/.windsurf/mcp_config.json", {"mcpServers": {"proj-windsurf": {"serverUrl": "https://ws.example.com/mcp"}}})
w(P+"/.zed/settings.json", '{"context_servers": {"proj-zed": {"command": "zed-proj-mcp", "args": [],},},}\n')
w(P+"/.codex/config.toml", '[mcp_servers.proj-codex]\ncommand = "codex-proj-mcp"\n')
wj(P+"/.idea/mcp.json", {"mcpServers": {"proj-jetbrains": {"command": "jb-mcp"}}})
wj(P+"/.junie/mcp/mcp.json", {"mcpServers": {"proj-junie": {"command": "junie-mcp"}}})
wj(P+"/node_modules/some-pkg/.mcp.json", {"mcpServers": {"must-not-appear": {"command": "x"}}})
w(P+"/README.md", "app1\n")

# bob: the bad inputs
B = "/home/bob"
w(B+"/.cursor/mcp.json", b"\x00\x01\x02{\"mcpServers\":{}}\xff\xfe", "wb")
w(B+"/.kiro/settings/mcp.json", '{"mcpServers": {"x": {"env": {"TOKEN": "%s" ]] }' % MALFORMED)
w(B+"/.codex/config.toml", '[mcp_servers.broken\ncommand = "x"\n')
w(B+"/.continue/config.yaml", "mcpServers:\n  - name: [unclosed\n")
os.makedirs(R+B+"/.codeium/windsurf", exist_ok=True)
lp = R+B+"/.codeium/windsurf/mcp_config.json"
if not os.path.lexists(lp): os.symlink("mcp_config.json", lp)
os.makedirs(R+B+"/src/proj", exist_ok=True)
lp = R+B+"/src/proj/loop"
if not os.path.lexists(lp): os.symlink("..", lp)
wj(B+"/src/proj/.mcp.json", {"mcpServers": {"bob-proj": {"command": "uvx", "args": ["bob-mcp"]}}})
# /root: LM Studio's second location
wj("/root/.cache/lm-studio/mcp.json", {"mcpServers": {"root-lm": {"command": "lms-mcp", "env": {"OPENAI_API_KEY": ROOTLM}}}})
# managed / system
wj("/etc/claude-code/managed-mcp.json", {"mcpServers": {"corp-wiki": {"type": "http", "url": "https://wiki.corp.example.com/mcp", "headers": {"X-Corp-Key": MANAGED}}}})
wj("/etc/gemini-cli/system-defaults.json", {"mcpServers": {"corp-gemini": {"command": "corp-mcp", "env": {"CORP_TOKEN": SYS}}}})

# Claude Code managed policy: sentry denied by URL pattern; an allowlist by name and command
wj("/etc/claude-code/managed-settings.json", {"deniedMcpServers": [{"serverUrl": "https://*.sentry.dev/*"}]})
wj("/etc/claude-code/managed-settings.d/10-allow.json", {"allowedMcpServers": [
  {"serverName": "corp-wiki"}, {"serverName": "sentry"},
  {"serverCommand": ["npx", "-y", "@modelcontextprotocol/server-github"]}]})

# /proc
def proc(pid, name, ppid, argv, environ=None, cmdline=True):
    w("/proc/%d/status" % pid, "Name:\t%s\nState:\tS (sleeping)\nPid:\t%d\nPPid:\t%d\nUid:\t1000\t1000\t1000\t1000\n" % (name, pid, ppid))
    if cmdline: w("/proc/%d/cmdline" % pid, ("\0".join(argv) + "\0").encode(), "wb")
    if environ is not None: w("/proc/%d/environ" % pid, ("\0".join(environ) + "\0").encode(), "wb")
proc(1, "systemd", 0, ["/sbin/init"])
proc(100, "bash", 1, ["-bash"])
proc(200, "claude", 100, ["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"])
proc(201, "npm exec", 200, ["npx", "-y", "@modelcontextprotocol/server-github"],
     ["PATH=/usr/bin", "GITHUB_PERSONAL_ACCESS_TOKEN=" + PROCENV])
proc(202, "uvx", 200, ["uvx", "mcp-server-fetch", "--api-key", PROCARG])
proc(203, "bash", 200, ["/bin/bash", "-c", "ls"])
proc(300, "gemini", 100, [], cmdline=False)  # vanished between listing and reading

# fixtures/windows: a system drive (C:\\) read with --windows-paths. carol's profile has Claude
# Desktop, VS Code (+ Cline), Cursor (+ Roo in Cursor's user dir), Zed and Goose in their Windows
# locations; Public and Default are profiles of no user; Program Files and ProgramData hold the
# managed files, one a policy.
R = os.path.join(HERE, "fixtures", "windows")
C = "/Users/carol"
WIN_DESK = sec("windows claude desktop env", "sk-ant-api03-FxWinDesk2E4r6T8y0U1i3O5p7")
WIN_VSC = sec("windows vscode header", "FxWinVsc9Q2m9P4l8V3n1R6t0Y5u2I8o4P")
WIN_CUR = sec("windows cursor env", "ghp_WinCurFx2mZ9pL4vN8rT1wY6cB3dH5jK0sA2")
WIN_MGD = sec("windows managed header", "FxWinMgd9Q2m9P4l8V3n1R6t0Y5u2I8o4P")
wj(C+"/AppData/Roaming/Claude/claude_desktop_config.json", {"mcpServers": {
  "win-filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "C:\\Users\\carol\\Documents"]},
  "win-anthropic": {"command": "uvx", "args": ["anthropic-mcp==1.2.0"], "env": {"ANTHROPIC_API_KEY": WIN_DESK}}}})
w(C+"/AppData/Roaming/Code/User/mcp.json", """{
  // VS Code on Windows: %%APPDATA%%\\Code\\User\\mcp.json
  "servers": {
    "win-vscode": {"type": "http", "url": "https://vsc.example.com/mcp", "headers": {"X-Api-Key": "%s"},},
  },
}
""" % WIN_VSC)
wj(C+"/AppData/Roaming/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
   {"mcpServers": {"win-cline": {"command": "node", "args": ["C:/Users/carol/mcp/cline/index.js"], "autoApprove": ["x"]}}})
wj(C+"/AppData/Roaming/Cursor/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json",
   {"mcpServers": {"win-roo": {"type": "streamable-http", "url": "https://roo.example.com/mcp"}}})
wj(C+"/.cursor/mcp.json", {"mcpServers": {"win-cursor": {"command": "docker", "args": ["run", "-i", "--rm", "ghcr.io/github/github-mcp-server:v1.0.0"],
  "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": WIN_CUR}}}})
w(C+"/AppData/Roaming/Zed/settings.json", '{"context_servers": {"win-zed": {"command": "zed-mcp.exe", "args": [],},},}\n')
w(C+"/AppData/Roaming/Block/goose/config/config.yaml", "extensions:\n  win-goose:\n    type: stdio\n    cmd: uvx\n    args: [mcp-server-time]\n    enabled: true\n")
wj(C+"/.claude.json", {"projects": {"C:/Users/carol/src/winapp": {"mcpServers": {}}}})
wj(C+"/src/winapp/.mcp.json", {"mcpServers": {"win-project": {"command": "winapp-mcp"}}})
# Not homes: the Public and Default profiles.
wj("/Users/Public/.cursor/mcp.json", {"mcpServers": {"public-must-not-appear": {"command": "x"}}})
wj("/Users/Default/AppData/Roaming/Claude/claude_desktop_config.json", {"mcpServers": {"default-must-not-appear": {"command": "x"}}})
wj("/Program Files/ClaudeCode/managed-mcp.json", {"mcpServers": {"win-corp-wiki": {"type": "http", "url": "https://wiki.corp.example.com/mcp", "headers": {"X-Corp-Key": WIN_MGD}}}})
wj("/ProgramData/ClaudeCode/managed-mcp.json", {"mcpServers": {"win-corp-legacy": {"command": "corp-legacy-mcp"}}})
wj("/ProgramData/ClaudeCode/managed-settings.json", {"deniedMcpServers": [{"serverName": "win-corp-legacy"}]})
wj("/ProgramData/gemini-cli/system-defaults.json", {"mcpServers": {"win-corp-gemini": {"command": "corp-gemini-mcp"}}})

# fixtures/listeners: /proc/net/tcp and tcp6 as a little-endian kernel prints them, and the
# /proc/<pid>/fd links that name socket inodes. Loopback listeners: 127.0.0.1:1234 (inode 40001,
# pid 400 lms), 127.0.0.53:53 (40003, no owner visible), ::1:3845 (40002, pid 401 node),
# ::ffff:127.0.0.1:7000 (40007, pid 401). Not loopback or not listening: the rest.
R = os.path.join(HERE, "fixtures", "listeners")
TAIL = " 00000000:00000000 00:00000000 00000000  1000        0 %d 1 0000000000000000 100 0 0 10 0"
w("/proc/net/tcp", "".join([
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
  "   0: 0100007F:04D2 00000000:0000 0A" + TAIL % 40001 + "\n",   # 127.0.0.1:1234
  "   1: 3500007F:0035 00000000:0000 0A" + TAIL % 40003 + "\n",   # 127.0.0.53:53
  "   2: 00000000:0016 00000000:0000 0A" + TAIL % 40004 + "\n",   # 0.0.0.0:22
  "   3: 0500000A:1F90 00000000:0000 0A" + TAIL % 40005 + "\n",   # 10.0.0.5:8080
  "   4: 0100007F:1388 0100007F:A1B2 01" + TAIL % 40006 + "\n",   # established
  "   5: not a socket line\n",
  "   6: 0100007F:ZZZZ 00000000:0000 0A" + TAIL % 40010 + "\n",   # bad port
]))
Z = "00000000000000000000000000000000:0000"
w("/proc/net/tcp6", "".join([
  "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
  "   0: 00000000000000000000000001000000:0F05 " + Z + " 0A" + TAIL % 40002 + "\n",  # ::1:3845
  "   1: 0000000000000000FFFF00000100007F:1B58 " + Z + " 0A" + TAIL % 40007 + "\n",  # ::ffff:127.0.0.1:7000
  "   2: 00000000000000000000000000000000:0050 " + Z + " 0A" + TAIL % 40008 + "\n",  # [::]:80
  "   3: 000080FE00000000FF005452123456FE:1F90 " + Z + " 0A" + TAIL % 40009 + "\n",  # fe80::...:8080
]))
def fd(pid, n, target):
    p = os.path.join(R, "proc", str(pid), "fd", str(n))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if os.path.lexists(p): os.remove(p)
    os.symlink(target, p)
def status(pid, name): w("/proc/%d/status" % pid, "Name:\t%s\nPid:\t%d\nPPid:\t1\n" % (name, pid))
status(400, "lms"); fd(400, 0, "/dev/null"); fd(400, 3, "socket:[40001]")
status(401, "node"); fd(401, 7, "socket:[40002]"); fd(401, 8, "socket:[99999]"); fd(401, 9, "socket:[40007]")
status(402, "bash"); fd(402, 0, "/dev/pts/0"); fd(402, 1, "pipe:[40001]")
status(403, "kworker/0:1")  # no fd directory

with open(os.path.join(HERE, "fixtures", "planted-secrets.txt"), "w") as f:
    f.write("# Every secret value planted in fixtures/root and fixtures/windows; none may appear in a report.\n")
    for k, v in S.items(): f.write(v + "\n")
print(len(S), "secrets")
