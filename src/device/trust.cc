#include "device/trust.h"

#include <charconv>

#include "policy/directory_entities.h"
#include "policy/pdp.h"

namespace custody::device {
namespace {

enum class Type { kBool, kString, kLong };

struct Field {
  const char* name;
  Type type;
};

struct Section {
  const char* name;
  std::vector<Field> fields;
};

// docs/posture.md: the sections and keys custody-agent always sends.
const std::vector<Section>& sections() {
  static const std::vector<Section> s = {
      {"os",
       {{"known", Type::kBool},
        {"id", Type::kString},
        {"version_id", Type::kString},
        {"name", Type::kString},
        {"pretty_name", Type::kString}}},
      {"kernel", {{"known", Type::kBool}, {"release", Type::kString}}},
      {"updates",
       {{"known", Type::kBool},
        {"manager", Type::kString},
        {"pending", Type::kLong},
        {"pending_security", Type::kLong}}},
      {"disk_encryption",
       {{"known", Type::kBool}, {"root_encrypted", Type::kBool}, {"method", Type::kString}}},
      {"firewall",
       {{"known", Type::kBool},
        {"active", Type::kBool},
        {"backend", Type::kString},
        {"rules", Type::kLong}}},
      {"secure_boot", {{"known", Type::kBool}, {"enabled", Type::kBool}}},
      {"screen_lock", {{"known", Type::kBool}, {"enabled", Type::kBool}}},
      {"mdm", {{"known", Type::kBool}, {"enrolled", Type::kBool}, {"vendor", Type::kString}}},
      {"agent", {{"version", Type::kString}}},
      {"ai_components", {{"known", Type::kBool}, {"count", Type::kLong}}},
  };
  return s;
}

bool has_type(const nlohmann::json& v, Type t) {
  switch (t) {
    case Type::kBool:
      return v.is_boolean();
    case Type::kString:
      return v.is_string() && v.get<std::string>().size() <= 1024;
    case Type::kLong:
      return v.is_number_integer() && v.get<std::int64_t>() >= 0;
  }
  return false;
}

// "22.04.3" → (22, 4); "6.1.0-18-amd64" → (6, 1); unparsable parts are 0.
std::pair<std::int64_t, std::int64_t> major_minor(const std::string& version) {
  std::int64_t parts[2] = {0, 0};
  const char* p = version.data();
  const char* end = p + version.size();
  for (int i = 0; i < 2 && p < end; ++i) {
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc()) break;
    p = next;
    if (p < end && *p == '.')
      ++p;
    else
      break;
  }
  return {parts[0], parts[1]};
}

std::string join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

}  // namespace

Result<PostureAttributes> posture_attributes(const nlohmann::json& posture) {
  if (!posture.is_object()) return Error::invalid("posture must be an object", "posture");
  PostureAttributes out;
  if (!posture.contains("collected_at") || !posture["collected_at"].is_number_integer())
    return Error::invalid("posture.collected_at must be Unix seconds", "posture.collected_at");
  out.collected_at = posture["collected_at"].get<std::int64_t>() * kMicrosPerSecond;
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto& section : sections()) {
    std::string where = std::string("posture.") + section.name;
    if (!posture.contains(section.name) || !posture[section.name].is_object())
      return Error::invalid(where + " must be an object", where);
    const auto& in = posture[section.name];
    nlohmann::json& a = attrs[section.name] = nlohmann::json::object();
    for (const auto& f : section.fields) {
      if (!in.contains(f.name) || !has_type(in[f.name], f.type))
        return Error::invalid(where + "." + f.name + " is missing or of the wrong type",
                              where + "." + f.name);
      a[f.name] = in[f.name];
    }
  }
  auto [os_major, os_minor] = major_minor(attrs["os"]["version_id"].get<std::string>());
  attrs["os"]["version_major"] = os_major;
  attrs["os"]["version_minor"] = os_minor;
  auto [k_major, k_minor] = major_minor(attrs["kernel"]["release"].get<std::string>());
  attrs["kernel"]["major"] = k_major;
  attrs["kernel"]["minor"] = k_minor;
  auto [a_major, a_minor] = major_minor(attrs["agent"]["version"].get<std::string>());
  attrs["agent"]["version_major"] = a_major;
  attrs["agent"]["version_minor"] = a_minor;
  out.attributes = std::move(attrs);
  return out;
}

Verdict assess(store::Tx& tx, const policy::Pdp& pdp, const AssessInput& in) {
  Verdict v;
  auto snapshot = pdp.snapshot();
  v.policy_version = snapshot->policy_version;
  if (in.now - in.received_at > in.max_age) {
    v.reasons = {"the posture report is stale (older than " +
                 std::to_string(in.max_age / kMicrosPerSecond) + " s)"};
    return v;
  }
  nlohmann::json props = in.attributes;
  props["owner"] = in.device.owner_id;
  props["hostname"] = in.device.hostname;
  props["platform"] = in.device.platform;
  props["report_age_seconds"] = std::max<Micros>(0, in.now - in.received_at) / kMicrosPerSecond;
  props["collected_age_seconds"] = std::max<Micros>(0, in.now - in.collected_at) / kMicrosPerSecond;
  policy::EntityRef self{"Device", in.device.id, props};
  std::vector<policy::Question> questions(2);
  questions[0].subject = self;
  questions[0].action = "trust_device";
  questions[0].resource = {"Device", in.device.id, nlohmann::json::object()};
  questions[1] = questions[0];
  questions[1].action = "tolerate_device";
  policy::DirectoryEntities directory(tx, in.now);
  auto decisions = pdp.decide(*snapshot, directory, questions);
  if (!decisions.ok()) {
    v.reasons = {"the posture policies could not be evaluated: " + decisions.error().message};
    return v;
  }
  const auto& trust = (*decisions)[0];
  const auto& tolerate = (*decisions)[1];
  auto version = " (policy version " + std::to_string(v.policy_version) + ")";
  for (const auto& [id, message] : trust.errors)
    v.reasons.push_back("policy " + id + " failed on this report: " + message);
  if (trust.allow) {
    v.trust = Trust::kTrusted;
    v.reasons.insert(v.reasons.begin(), "trusted by " + join(trust.reasons) + version);
    return v;
  }
  v.reasons.push_back(trust.reasons.empty()
                          ? "no posture policy trusts this device" + version
                          : "trust forbidden by " + join(trust.reasons) + version);
  if (tolerate.allow) {
    v.trust = Trust::kDegraded;
    v.reasons.push_back("tolerated by " + join(tolerate.reasons));
  } else {
    v.reasons.push_back(tolerate.reasons.empty() ? "no posture policy tolerates it"
                                                 : "forbidden by " + join(tolerate.reasons));
  }
  return v;
}

}  // namespace custody::device
