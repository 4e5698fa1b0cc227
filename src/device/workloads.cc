#include "device/workloads.h"

#include <algorithm>
#include <charconv>

#include "crypto/jose_encoding.h"
#include "delegation/cascade.h"
#include "device/device.h"
#include "directory/access.h"

namespace custody::device {
namespace {

bool parse_id_number(std::string_view v, std::int64_t& out) {
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && end == v.data() + v.size() && out >= 0 && out <= 0xffffffffLL;
}

bool is_lower_hex(std::string_view v, std::size_t size) {
  return v.size() == size && std::all_of(v.begin(), v.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::vector<std::string>> string_array(const nlohmann::json& j, const char* name,
                                              std::size_t max_items) {
  std::vector<std::string> out;
  if (!j.contains(name)) return out;
  if (!j[name].is_array() || j[name].size() > max_items)
    return Error::invalid(std::string(name) + " must be an array of at most " +
                              std::to_string(max_items) + " strings",
                          name);
  for (const auto& v : j[name]) {
    if (!v.is_string() || v.get<std::string>().size() > 4096)
      return Error::invalid(std::string(name) + " must hold strings of at most 4096 bytes", name);
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<Binding> binding_from_row(const store::Row& row) {
  Binding b;
  b.device_id = row.text(0);
  b.identity_id = row.text(1);
  auto selectors = nlohmann::json::parse(row.text(2), nullptr, false);
  if (!selectors.is_array()) return Error::internal("binding " + b.identity_id + ": selectors");
  for (const auto& s : selectors) {
    if (!s.is_string()) return Error::internal("binding " + b.identity_id + ": selectors");
    CUSTODY_ASSIGN(auto sel, parse_selector(s.get<std::string>()));
    b.selectors.push_back(std::move(sel));
  }
  b.created_by = row.text(3);
  b.created_at = row.integer(4);
  return b;
}

constexpr std::string_view kBindingColumns =
    "device_id, identity_id, selectors, created_by, created_at";

}  // namespace

Result<Selector> parse_selector(std::string_view text) {
  auto colon = text.find(':');
  auto bad = [&](std::string why) {
    return Error::invalid("selector " + crypto::quote_untrusted(text) + ": " + why, "selectors");
  };
  if (colon == std::string_view::npos) return bad("expected kind:value");
  Selector s{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  if (s.value.empty() || s.value.size() > 4096) return bad("the value must be 1..4096 bytes");
  std::int64_t n = 0;
  if (s.kind == "uid" || s.kind == "gid") {
    if (!parse_id_number(s.value, n)) return bad("expected a non-negative number");
  } else if (s.kind == "exe_path") {
    if (s.value.front() != '/') return bad("expected an absolute path");
  } else if (s.kind == "exe_sha256") {
    if (!is_lower_hex(s.value, 64)) return bad("expected 64 lowercase hex digits");
  } else if (s.kind == "cgroup") {
    if (s.value.front() != '/') return bad("expected a cgroup path starting with /");
  } else if (s.kind != "cmdline_arg") {
    return bad("unknown kind (uid, gid, exe_path, exe_sha256, cgroup, cmdline_arg)");
  }
  return s;
}

Result<ProcessEvidence> evidence_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Error::invalid("process must be an object", "process");
  ProcessEvidence e;
  auto integer = [&](const char* name, std::int64_t& out) -> Status {
    if (!j.contains(name) || !j[name].is_number_integer())
      return Error::invalid(std::string("process.") + name + " must be an integer", name);
    out = j[name].get<std::int64_t>();
    return ok_status();
  };
  CUSTODY_TRY(integer("pid", e.pid));
  CUSTODY_TRY(integer("uid", e.uid));
  CUSTODY_TRY(integer("gid", e.gid));
  for (auto [name, out] : {std::pair{"exe_path", &e.exe_path}, {"exe_sha256", &e.exe_sha256}}) {
    if (!j.contains(name) || !j[name].is_string() || j[name].get<std::string>().size() > 4096)
      return Error::invalid(std::string("process.") + name + " must be a string", name);
    *out = j[name].get<std::string>();
  }
  CUSTODY_ASSIGN(e.cmdline, string_array(j, "cmdline", 256));
  CUSTODY_ASSIGN(e.cgroups, string_array(j, "cgroups", 64));
  return e;
}

nlohmann::json to_json(const ProcessEvidence& e) {
  return {{"pid", e.pid},
          {"uid", e.uid},
          {"gid", e.gid},
          {"exe_path", e.exe_path},
          {"exe_sha256", e.exe_sha256},
          {"cmdline", e.cmdline},
          {"cgroups", e.cgroups}};
}

bool matches(const Selector& s, const ProcessEvidence& e) {
  std::int64_t n = -1;
  if (s.kind == "uid") return parse_id_number(s.value, n) && n == e.uid;
  if (s.kind == "gid") return parse_id_number(s.value, n) && n == e.gid;
  if (s.kind == "exe_path") return s.value == e.exe_path;
  if (s.kind == "exe_sha256") return s.value == e.exe_sha256;
  if (s.kind == "cgroup")
    return std::any_of(e.cgroups.begin(), e.cgroups.end(), [&](const std::string& c) {
      return c.compare(0, s.value.size(), s.value) == 0;
    });
  if (s.kind == "cmdline_arg")
    return std::find(e.cmdline.begin(), e.cmdline.end(), s.value) != e.cmdline.end();
  return false;  // unknown kinds never match (fail closed)
}

std::optional<Selector> first_mismatch(const std::vector<Selector>& selectors,
                                       const ProcessEvidence& e) {
  if (selectors.empty()) return Selector{"(none)", "a binding needs selectors"};
  for (const auto& s : selectors)
    if (!matches(s, e)) return s;
  return std::nullopt;
}

Result<Binding> allow(store::Tx& tx, const directory::OpContext& ctx, const std::string& device_id,
                      const std::string& identity, const std::vector<Selector>& selectors) {
  if (selectors.empty())
    return Error::invalid("at least one selector is required (e.g. uid:1000, exe_sha256:…)",
                          "selectors");
  if (selectors.size() > 16) return Error::invalid("at most 16 selectors", "selectors");
  CUSTODY_ASSIGN(auto d, find_device(tx, device_id));
  if (!d) return directory::access::not_found("device", device_id);
  if (d->revoked) return Error::unprocessable("device " + d->id + " is revoked", "device");
  CUSTODY_ASSIGN(auto id, directory::access::manageable_identity(tx, ctx, identity));
  if (id.kind == directory::Kind::kHuman)
    return Error::unprocessable("a human is not a workload; bind an agent, service or MCP server",
                                "identity");
  if (ctx.who.role == directory::Role::kOwner && ctx.who.human_id != d->owner_id)
    return Error::denied("device " + d->id + " belongs to another owner");
  nlohmann::json texts = nlohmann::json::array();
  for (const auto& s : selectors) texts.push_back(s.text());
  CUSTODY_TRY(tx.exec("DELETE FROM device_identities WHERE device_id = $1 AND identity_id = $2",
                      {device_id, identity}));
  CUSTODY_TRY(tx.exec("INSERT INTO device_identities (" + std::string(kBindingColumns) +
                          ") VALUES ($1, $2, $3, $4, $5)",
                      {device_id, identity, texts.dump(), ctx.who.actor(), ctx.now}));
  CUSTODY_TRY(directory::access::record(tx, ctx, "device.allow", device_id,
                                        {{"identity", identity}, {"selectors", texts}}));
  return Binding{device_id, identity, selectors, ctx.who.actor(), ctx.now};
}

Status disallow(store::Tx& tx, const directory::OpContext& ctx, const std::string& device_id,
                const std::string& identity) {
  CUSTODY_ASSIGN(auto id, directory::access::manageable_identity(tx, ctx, identity));
  CUSTODY_ASSIGN(auto removed,
                 tx.exec("DELETE FROM device_identities WHERE device_id = $1 AND identity_id = $2",
                         {device_id, id.id}));
  if (removed == 0) return Error::not_found(identity + " is not allowed on device " + device_id);
  CUSTODY_ASSIGN(auto revoked,
                 delegation::revoke_for_device(tx, device_id, id.id, ctx.now, ctx.who.actor(),
                                               "no longer allowed on device " + device_id));
  return directory::access::record(tx, ctx, "device.disallow", device_id,
                                   {{"identity", id.id}, {"revoked", revoked}});
}

Result<std::vector<Binding>> bindings_of_device(store::Tx& tx, const std::string& device_id) {
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT " + std::string(kBindingColumns) +
                                         " FROM device_identities WHERE device_id = $1 "
                                         "ORDER BY identity_id",
                                     {device_id}));
  std::vector<Binding> out;
  for (const auto& row : rows) {
    CUSTODY_ASSIGN(auto b, binding_from_row(row));
    out.push_back(std::move(b));
  }
  return out;
}

Result<std::optional<Binding>> find_binding(store::Tx& tx, const std::string& device_id,
                                            const std::string& identity) {
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT " + std::string(kBindingColumns) +
                                         " FROM device_identities WHERE device_id = $1 AND "
                                         "identity_id = $2",
                                     {device_id, identity}));
  if (rows.empty()) return std::optional<Binding>();
  CUSTODY_ASSIGN(auto b, binding_from_row(rows[0]));
  return std::optional<Binding>(std::move(b));
}

Result<bool> is_device_bound(store::Tx& tx, const std::string& identity) {
  CUSTODY_ASSIGN(
      auto rows,
      tx.query("SELECT 1 FROM device_identities WHERE identity_id = $1 LIMIT 1", {identity}));
  return !rows.empty();
}

nlohmann::json to_json(const Binding& b) {
  nlohmann::json selectors = nlohmann::json::array();
  for (const auto& s : b.selectors) selectors.push_back(s.text());
  return {{"device", b.device_id},
          {"identity", b.identity_id},
          {"selectors", selectors},
          {"created_by", b.created_by},
          {"created_at", format_rfc3339(b.created_at)}};
}

}  // namespace custody::device
