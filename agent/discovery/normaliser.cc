#include "discovery/normaliser.h"

#include <algorithm>
#include <set>

#include "discovery/fingerprint.h"
#include "discovery/risk_signals.h"

namespace custody::discovery {

namespace {

using nlohmann::json;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Transport from the entry's type spelling and which fields it has, per DISCOVERY.md §3.
void set_transport(Finding& f, const json& e, bool has_command, bool has_url,
                   const std::string& url_key) {
  std::string raw = string_at(e, "type").value_or(string_at(e, "transportType").value_or(""));
  f.transport_raw = raw;
  std::string t = lower(raw);
  if (t == "stdio" || t == "local") {
    f.transport = Transport::kStdio;
  } else if (t == "http" || t == "streamable-http" || t == "streamablehttp" ||
             t == "streamable_http" || t == "remote") {
    f.transport = Transport::kStreamableHttp;
  } else if (t == "sse") {
    f.transport = Transport::kSse;
  } else if (t == "builtin" || t == "platform" || t == "frontend" || t == "inline_python") {
    f.transport = Transport::kBuiltin;
  } else {
    f.transport_inferred = true;
    if (has_command) {
      f.transport = Transport::kStdio;
    } else if (url_key == "httpUrl" || url_key == "serverUrl") {
      f.transport = Transport::kStreamableHttp;
    } else if (has_url && (f.client == "gemini-cli" || f.client == "cline")) {
      f.transport = Transport::kSse;  // a bare url means SSE in these two clients
    } else if (has_url) {
      f.transport = Transport::kStreamableHttp;
    }
  }
}

// Flags a map of variables or headers: every value whose name is credential-like, that is a
// reference, or that matches a credential pattern. Names go to `names`.
void scan_value_map(const json& e, const char* key, const std::string& prefix,
                    const SecretClassifier& classifier, std::vector<std::string>& names,
                    std::vector<SecretFlag>& flags) {
  if (!e.is_object()) return;
  auto it = e.find(key);
  if (it == e.end() || !it->is_object()) return;
  for (const auto& [name, value] : it->items()) {
    names.push_back(name);
    auto text = scalar_text(value);
    if (!text) continue;
    if ((SecretClassifier::secret_like_name(name) &&
         SecretClassifier::plausible_credential(*text)) ||
        SecretClassifier::is_reference(*text) || !SecretClassifier::pattern_of(*text).empty()) {
      flags.push_back(classifier.classify(prefix + "." + key + "." + name, *text));
    }
  }
}

// Names of variables a client passes through by name only (Codex env_vars, Goose env_keys).
void scan_name_list(const json& e, const char* key, const std::string& prefix,
                    std::vector<std::string>& names, std::vector<SecretFlag>& flags) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_array()) return;
  for (const auto& v : *it) {
    if (!v.is_string()) continue;
    names.push_back(v.get<std::string>());
    SecretFlag flag;
    flag.field = prefix + "." + key;
    flag.classification = SecretClass::kReference;
    flag.reference = v.get<std::string>();
    flags.push_back(std::move(flag));
  }
}

// Every string leaf under an opaque credential holder (oauth, auth) that could be a secret.
void scan_opaque(const json& v, const std::string& path, const SecretClassifier& classifier,
                 std::vector<SecretFlag>& flags, int depth = 0) {
  if (depth > 8) return;
  if (v.is_object()) {
    for (const auto& [k, child] : v.items()) {
      if (child.is_string()) {
        const auto& s = child.get_ref<const std::string&>();
        if ((SecretClassifier::secret_like_name(k) && SecretClassifier::plausible_credential(s)) ||
            !SecretClassifier::pattern_of(s).empty() || SecretClassifier::is_reference(s)) {
          flags.push_back(classifier.classify(path + "." + k, s));
        }
      } else {
        scan_opaque(child, path + "." + k, classifier, flags, depth + 1);
      }
    }
  }
}

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

std::vector<std::string> split_command_line(std::string_view line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

Finding normalise_entry(const RawEntry& raw, const EntrySource& source, const Redactor& redactor,
                        const SecretClassifier& classifier, std::string_view device_id) {
  Finding f;
  f.client = source.client;
  f.scope = raw.project.empty() ? source.scope : Scope::kLocal;
  f.config_file = source.config_file;
  f.project = raw.project.empty() ? source.project : raw.project;
  f.server_name = raw.name;
  const json& top = *raw.entry;
  // Cline's CLI nests the launch definition under "transport".
  json merged;
  const json* ep = &top;
  if (auto t = top.find("transport"); t != top.end() && t->is_object()) {
    merged = top;
    for (const auto& [k, v] : t->items()) merged[k] = v;
    ep = &merged;
  }
  const json& e = *ep;
  const std::string& prefix = raw.field_prefix;

  if (source.client == "gemini-cli" && string_at(e, "kind").value_or("") == "remote") {
    f.kind = "a2a-agent";
    f.transport = Transport::kA2a;
    f.transport_raw = "remote";
    if (auto u = string_at(e, "agent_card_url"))
      f.url = redactor.url(*u, "agent_card_url", f.secrets);
    if (auto a = e.find("auth"); a != e.end()) {
      if (a->is_string()) {
        f.secrets.push_back(classifier.classify("auth", a->get<std::string>()));
      } else {
        scan_opaque(*a, "auth", classifier, f.secrets);
      }
    }
    add_risk_signals(f, e);
    f.fingerprint = fingerprint_of(f, device_id);
    return f;
  }

  // Command and args: "command" (string or opencode's argv array) or Goose's "cmd".
  std::vector<std::string> argv;
  const json* cmd = nullptr;
  if (auto it = e.find("command"); it != e.end()) cmd = &*it;
  if (!cmd) {
    if (auto it = e.find("cmd"); it != e.end()) cmd = &*it;
  }
  if (cmd && cmd->is_string()) {
    argv.push_back(cmd->get<std::string>());
  } else if (cmd && cmd->is_array()) {
    for (const auto& a : *cmd) {
      if (auto s = scalar_text(a)) argv.push_back(*s);
    }
  }
  if (auto it = e.find("args"); it != e.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (auto s = scalar_text(a)) argv.push_back(*s);
    }
  }
  // A command string with spaces and no args holds the whole command line.
  if (argv.size() == 1 && argv[0].find(' ') != std::string::npos) {
    argv = split_command_line(argv[0]);
  }
  if (!argv.empty()) {
    f.command = redactor.path(argv[0]);
    std::vector<std::string> rest(argv.begin() + 1, argv.end());
    f.args = redactor.args(rest, prefix, f.secrets);
  }

  std::string url_key;
  for (const char* k : {"url", "serverUrl", "httpUrl", "uri"}) {
    if (auto u = string_at(e, k)) {
      url_key = k;
      f.url = redactor.url(*u, prefix + "." + k, f.secrets);
      break;
    }
  }
  set_transport(f, e, !argv.empty(), !url_key.empty(), url_key);

  for (const char* k : {"env", "envs", "environment"}) {
    scan_value_map(e, k, prefix, classifier, f.env_names, f.secrets);
  }
  scan_name_list(e, "env_vars", prefix, f.env_names, f.secrets);
  scan_name_list(e, "env_keys", prefix, f.env_names, f.secrets);
  scan_value_map(e, "headers", prefix, classifier, f.header_names, f.secrets);
  scan_value_map(e, "http_headers", prefix, classifier, f.header_names, f.secrets);
  if (auto ro = e.find("requestOptions"); ro != e.end()) {
    scan_value_map(*ro, "headers", prefix + ".requestOptions", classifier, f.header_names,
                   f.secrets);
  }
  // Codex: headers filled from variables, and the bearer token's variable.
  if (auto it = e.find("env_http_headers"); it != e.end() && it->is_object()) {
    for (const auto& [h, var] : it->items()) {
      f.header_names.push_back(h);
      SecretFlag flag;
      flag.field = prefix + ".env_http_headers." + h;
      flag.classification = SecretClass::kReference;
      flag.reference = scalar_text(var).value_or("");
      f.secrets.push_back(std::move(flag));
    }
  }
  if (auto v = string_at(e, "bearer_token_env_var")) {
    SecretFlag flag;
    flag.field = prefix + ".bearer_token_env_var";
    flag.classification = SecretClass::kReference;
    flag.reference = *v;
    f.secrets.push_back(std::move(flag));
  }
  if (auto v = string_at(e, "bearer_token")) {
    f.secrets.push_back(classifier.classify(prefix + ".bearer_token", *v));
  }
  // OAuth client secrets (Cursor auth.CLIENT_SECRET, Gemini oauth.clientSecret, Cline's opaque
  // oauth object): every credential-like leaf.
  for (const char* k : {"auth", "oauth"}) {
    if (auto it = e.find(k); it != e.end())
      scan_opaque(*it, prefix + "." + k, classifier, f.secrets);
  }
  if (auto ef = string_at(e, "envFile")) {
    SecretFlag flag;
    flag.field = prefix + ".envFile";
    flag.classification = SecretClass::kReference;
    flag.reference = "file:" + redactor.path(*ef);
    f.secrets.push_back(std::move(flag));
  }

  if (bool_at(e, "disabled").value_or(false) || !bool_at(e, "enabled").value_or(true)) {
    f.enabled = false;
  }
  sort_unique(f.env_names);
  sort_unique(f.header_names);
  add_risk_signals(f, e);
  f.fingerprint = fingerprint_of(f, device_id);
  return f;
}

}  // namespace custody::discovery
