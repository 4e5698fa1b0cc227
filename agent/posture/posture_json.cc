#include "posture/posture_json.h"

#include <sstream>

namespace custody::posture {

namespace {

using nlohmann::json;

// Valid UTF-8 in, same out; each byte that does not start or continue a valid sequence becomes
// U+FFFD. Overlong forms and surrogates are refused as nlohmann's dump() refuses them.
std::string utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    }
    if (ok && len > 1) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (len == 2) ok = c >= 0xC2;
      if (len == 3) ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
      if (len == 4) ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// utf8() and no control characters: what a terminal shows is what the device said, nothing it
// would interpret.
std::string printable(std::string_view s) {
  std::string out = utf8(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string type_of(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

// Reads members of one object, the first error kept; `path` is the JSON pointer of the object.
class Reader {
 public:
  Reader(const json& obj, std::string path, std::optional<Error>* err)
      : obj_(obj), path_(std::move(path)), err_(err) {}

  const json* member(const char* key, const char* expected) {
    if (*err_) return nullptr;
    auto it = obj_.find(key);
    if (it == obj_.end()) {
      fail(key, "missing (expected " + std::string(expected) + ")");
      return nullptr;
    }
    return &*it;
  }
  bool boolean(const char* key) {
    const json* v = member(key, "a boolean");
    if (v == nullptr) return false;
    if (!v->is_boolean()) return fail(key, "expected a boolean, got " + type_of(*v)), false;
    return v->get<bool>();
  }
  std::int64_t integer(const char* key) {
    const json* v = member(key, "a non-negative integer");
    if (v == nullptr) return 0;
    if (v->is_number_unsigned() && v->get<std::uint64_t>() <= INT64_MAX) {
      return static_cast<std::int64_t>(v->get<std::uint64_t>());
    }
    if (v->is_number_integer() && v->get<std::int64_t>() >= 0) return v->get<std::int64_t>();
    fail(key, "expected a non-negative integer, got " +
                  (v->is_number_integer() ? std::string("a negative one") : type_of(*v)));
    return 0;
  }
  std::string string(const char* key) {
    const json* v = member(key, "a string");
    if (v == nullptr) return {};
    if (!v->is_string()) return fail(key, "expected a string, got " + type_of(*v)), std::string();
    return v->get<std::string>();
  }
  std::vector<std::string> strings(const char* key) {
    std::vector<std::string> out;
    const json* v = member(key, "an array of strings");
    if (v == nullptr) return out;
    if (!v->is_array()) return fail(key, "expected an array of strings, got " + type_of(*v)), out;
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) {
        fail((std::string(key) + "/" + std::to_string(i)).c_str(),
             "expected a string, got " + type_of((*v)[i]));
        return {};
      }
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }
  // A nested object's reader; on a missing or non-object member, a reader of an empty object
  // whose reads do nothing (the error is already set).
  Reader object(const char* key) {
    static const json kEmpty = json::object();
    const json* v = member(key, "an object");
    if (v != nullptr && !v->is_object()) fail(key, "expected an object, got " + type_of(*v));
    return Reader(v != nullptr && v->is_object() ? *v : kEmpty, path_ + "/" + key, err_);
  }

 private:
  void fail(const std::string& key, const std::string& why) {
    if (*err_) return;
    std::string pointer = path_ + "/" + key;
    std::string dotted = pointer.substr(1);
    for (char& c : dotted) {
      if (c == '/') c = '.';
    }
    *err_ = Error::invalid(dotted + ": " + why, pointer);
  }

  const json& obj_;
  std::string path_;
  std::optional<Error>* err_;
};

}  // namespace

json posture_to_json(const Posture& p) {
  json fingerprints = json::array();
  for (const auto& f : p.ai_components.fingerprints) fingerprints.push_back(utf8(f));
  json warnings = json::array();
  for (const auto& w : p.warnings) warnings.push_back(utf8(w));
  return json{
      {"collected_at", p.collected_at},
      {"collection_ms", p.collection_ms},
      {"os",
       {{"known", p.os.known},
        {"id", utf8(p.os.id)},
        {"version_id", utf8(p.os.version_id)},
        {"version", utf8(p.os.version)},
        {"name", utf8(p.os.name)},
        {"pretty_name", utf8(p.os.pretty_name)}}},
      {"kernel",
       {{"known", p.kernel.known},
        {"release", utf8(p.kernel.release)},
        {"version", utf8(p.kernel.version)}}},
      {"updates",
       {{"known", p.updates.known},
        {"manager", utf8(p.updates.manager)},
        {"pending", p.updates.pending},
        {"pending_security", p.updates.pending_security}}},
      {"disk_encryption",
       {{"known", p.disk_encryption.known},
        {"root_encrypted", p.disk_encryption.root_encrypted},
        {"method", utf8(p.disk_encryption.method)},
        {"device", utf8(p.disk_encryption.device)}}},
      {"firewall",
       {{"known", p.firewall.known},
        {"active", p.firewall.active},
        {"backend", utf8(p.firewall.backend)},
        {"rules", p.firewall.rules}}},
      {"secure_boot", {{"known", p.secure_boot.known}, {"enabled", p.secure_boot.enabled}}},
      {"screen_lock", {{"known", p.screen_lock.known}, {"enabled", p.screen_lock.enabled}}},
      {"mdm",
       {{"known", p.mdm.known}, {"enrolled", p.mdm.enrolled}, {"vendor", utf8(p.mdm.vendor)}}},
      {"agent", {{"version", utf8(p.agent.version)}}},
      {"ai_components",
       {{"known", p.ai_components.known},
        {"count", p.ai_components.count},
        {"fingerprints", std::move(fingerprints)}}},
      {"warnings", std::move(warnings)},
  };
}

Result<Posture> posture_from_json(const json& j) {
  if (!j.is_object())
    return Error::invalid("posture report: expected an object, got " + type_of(j));
  std::optional<Error> err;
  Reader r(j, "", &err);
  Posture p;
  p.collected_at = r.integer("collected_at");
  p.collection_ms = r.integer("collection_ms");
  {
    Reader o = r.object("os");
    p.os.known = o.boolean("known");
    p.os.id = o.string("id");
    p.os.version_id = o.string("version_id");
    p.os.version = o.string("version");
    p.os.name = o.string("name");
    p.os.pretty_name = o.string("pretty_name");
  }
  {
    Reader k = r.object("kernel");
    p.kernel.known = k.boolean("known");
    p.kernel.release = k.string("release");
    p.kernel.version = k.string("version");
  }
  {
    Reader u = r.object("updates");
    p.updates.known = u.boolean("known");
    p.updates.manager = u.string("manager");
    p.updates.pending = u.integer("pending");
    p.updates.pending_security = u.integer("pending_security");
  }
  {
    Reader d = r.object("disk_encryption");
    p.disk_encryption.known = d.boolean("known");
    p.disk_encryption.root_encrypted = d.boolean("root_encrypted");
    p.disk_encryption.method = d.string("method");
    p.disk_encryption.device = d.string("device");
  }
  {
    Reader f = r.object("firewall");
    p.firewall.known = f.boolean("known");
    p.firewall.active = f.boolean("active");
    p.firewall.backend = f.string("backend");
    p.firewall.rules = f.integer("rules");
  }
  {
    Reader s = r.object("secure_boot");
    p.secure_boot.known = s.boolean("known");
    p.secure_boot.enabled = s.boolean("enabled");
  }
  {
    Reader s = r.object("screen_lock");
    p.screen_lock.known = s.boolean("known");
    p.screen_lock.enabled = s.boolean("enabled");
  }
  {
    Reader m = r.object("mdm");
    p.mdm.known = m.boolean("known");
    p.mdm.enrolled = m.boolean("enrolled");
    p.mdm.vendor = m.string("vendor");
  }
  {
    Reader a = r.object("agent");
    p.agent.version = a.string("version");
  }
  {
    Reader a = r.object("ai_components");
    p.ai_components.known = a.boolean("known");
    p.ai_components.count = a.integer("count");
    p.ai_components.fingerprints = a.strings("fingerprints");
  }
  p.warnings = r.strings("warnings");
  if (err) return std::move(*err);
  return p;
}

std::string posture_to_text(const Posture& p) {
  auto known = [](bool k, const std::string& text) {
    return k ? printable(text) : std::string("unknown");
  };
  auto yes = [](bool b) { return std::string(b ? "yes" : "no"); };
  std::ostringstream out;
  out << "os:              " << known(p.os.known, p.os.pretty_name) << "\n";
  out << "kernel:          " << known(p.kernel.known, p.kernel.release) << "\n";
  out << "updates:         "
      << known(p.updates.known, std::to_string(p.updates.pending) + " pending (" +
                                    std::to_string(p.updates.pending_security) + " security) via " +
                                    p.updates.manager)
      << "\n";
  out << "disk encryption: "
      << known(p.disk_encryption.known,
               (p.disk_encryption.root_encrypted ? "root encrypted, " : "root not encrypted, ") +
                   p.disk_encryption.method + " (" + p.disk_encryption.device + ")")
      << "\n";
  out << "firewall:        "
      << known(p.firewall.known, (p.firewall.active ? "active, " : "inactive, ") +
                                     p.firewall.backend + ", " + std::to_string(p.firewall.rules) +
                                     " rules")
      << "\n";
  out << "secure boot:     " << known(p.secure_boot.known, yes(p.secure_boot.enabled)) << "\n";
  out << "screen lock:     " << known(p.screen_lock.known, yes(p.screen_lock.enabled)) << "\n";
  out << "mdm:             "
      << known(p.mdm.known, p.mdm.enrolled ? "enrolled (" + p.mdm.vendor + ")" : "not enrolled")
      << "\n";
  out << "agent:           " << printable(p.agent.version) << "\n";
  out << "ai components:   "
      << known(p.ai_components.known, std::to_string(p.ai_components.count) + " found") << "\n";
  out << "collected in " << p.collection_ms << " ms\n";
  for (const auto& w : p.warnings) out << "warning: " << printable(w) << "\n";
  return out.str();
}

}  // namespace custody::posture
