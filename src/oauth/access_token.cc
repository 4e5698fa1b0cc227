#include "oauth/access_token.h"

#include "common/jcs.h"
#include "common/words.h"
#include "crypto/jose_encoding.h"

namespace custody::oauth {

std::vector<std::string> split_scopes(const std::string& scope) {
  return split_words(scope);
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  return join_words(scopes);
}

nlohmann::json access_token_claims(const delegation::Record& r, const std::string& issuer,
                                   const nlohmann::json& act, const nlohmann::json& may_act) {
  nlohmann::json c = {{"iss", issuer},
                      {"sub", r.subject},
                      {"exp", r.expires_at / kMicrosPerSecond},
                      {"iat", r.issued_at / kMicrosPerSecond},
                      {"nbf", r.issued_at / kMicrosPerSecond},
                      {"jti", r.id},
                      {"client_id", r.client_id},
                      {"scope", join_scopes(r.scopes)}};
  if (r.audience.size() == 1)
    c["aud"] = r.audience.front();
  else
    c["aud"] = r.audience;
  if (!act.is_null()) c["act"] = act;
  if (!may_act.is_null()) c["may_act"] = may_act;
  if (r.cnf_jkt) c["cnf"] = {{"jkt", *r.cnf_jkt}};
  if (r.max_hops) c["max_hops"] = *r.max_hops;
  // Issued for a process on an enrolled device (docs/devices.md); revoked when the device stops
  // being trusted.
  if (r.device_id) c["device_id"] = *r.device_id;
  c["custody"] = {{"delegation_id", r.id}, {"root_delegation_id", r.root_id}, {"depth", r.depth}};
  // A token a human approved (CIBA) names the approval it is bound to.
  if (r.policy.is_object() && r.policy.contains("approval"))
    c["custody"]["approval_id"] = r.policy["approval"];
  return c;
}

Result<std::string> access_token_payload(const delegation::Record& r, const std::string& issuer,
                                         const nlohmann::json& act, const nlohmann::json& may_act) {
  // Members in name order, as nlohmann::json (a std::map) dumps them.
  std::string out;
  out.reserve(512);
  char sep = '{';
  auto name = [&](std::string_view n) {
    out += sep;
    sep = ',';
    out += '"';
    out += n;
    out += "\":";
  };
  auto string = [&](std::string_view n, std::string_view v) {
    name(n);
    return jcs::append_string(v, out);
  };
  auto integer = [&](std::string_view n, std::int64_t v) {
    name(n);
    return jcs::append_integer(v, out);
  };
  // Nested values (act, may_act: possibly from a trusted external issuer's token) exactly as
  // nlohmann dumps them, whatever numbers they hold.
  auto value = [&](const nlohmann::json& v) -> Status {
    auto text = crypto::dump_compact(v);
    if (!text) return Error::invalid("token claims are not valid UTF-8", "claims");
    out += *text;
    return ok_status();
  };
  if (!act.is_null()) {
    name("act");
    CUSTODY_TRY(value(act));
  }
  if (r.audience.size() == 1) {
    CUSTODY_TRY(string("aud", r.audience.front()));
  } else {
    name("aud");
    out += '[';
    for (std::size_t i = 0; i < r.audience.size(); ++i) {
      if (i > 0) out += ',';
      CUSTODY_TRY(jcs::append_string(r.audience[i], out));
    }
    out += ']';
  }
  CUSTODY_TRY(string("client_id", r.client_id));
  if (r.cnf_jkt) {
    name("cnf");
    out += "{\"jkt\":";
    CUSTODY_TRY(jcs::append_string(*r.cnf_jkt, out));
    out += '}';
  }
  name("custody");
  out += '{';
  // A token a human approved (CIBA) names the approval it is bound to.
  if (r.policy.is_object())
    if (auto it = r.policy.find("approval"); it != r.policy.end()) {
      out += "\"approval_id\":";
      CUSTODY_TRY(value(*it));
      out += ',';
    }
  out += "\"delegation_id\":";
  CUSTODY_TRY(jcs::append_string(r.id, out));
  out += ",\"depth\":";
  CUSTODY_TRY(jcs::append_integer(r.depth, out));
  out += ",\"root_delegation_id\":";
  CUSTODY_TRY(jcs::append_string(r.root_id, out));
  out += '}';
  if (r.device_id) CUSTODY_TRY(string("device_id", *r.device_id));
  CUSTODY_TRY(integer("exp", r.expires_at / kMicrosPerSecond));
  CUSTODY_TRY(integer("iat", r.issued_at / kMicrosPerSecond));
  CUSTODY_TRY(string("iss", issuer));
  CUSTODY_TRY(string("jti", r.id));
  if (r.max_hops) CUSTODY_TRY(integer("max_hops", *r.max_hops));
  if (!may_act.is_null()) {
    name("may_act");
    CUSTODY_TRY(value(may_act));
  }
  CUSTODY_TRY(integer("nbf", r.issued_at / kMicrosPerSecond));
  CUSTODY_TRY(string("scope", join_scopes(r.scopes)));
  CUSTODY_TRY(string("sub", r.subject));
  out += '}';
  return out;
}

Result<int> act_depth(const nlohmann::json& act, int limit) {
  int depth = 0;
  const nlohmann::json* at = &act;
  while (at->is_object()) {
    if (++depth > limit)
      return Error::unauthenticated("act nests deeper than " + std::to_string(limit));
    if (!at->contains("sub") || !(*at)["sub"].is_string())
      return Error::unauthenticated("every act needs a sub");
    auto it = at->find("act");
    if (it == at->end()) break;
    at = &*it;
  }
  if (!at->is_object() && !at->is_null()) return Error::unauthenticated("act must be an object");
  return depth;
}

Result<PresentedToken> presented_token(const nlohmann::json& c) {
  PresentedToken t;
  auto str = [&](const char* name, std::string& out, bool required) -> Status {
    auto it = c.find(name);
    if (it == c.end()) {
      if (required) return Error::unauthenticated(std::string("token has no ") + name);
      return ok_status();
    }
    if (!it->is_string()) return Error::unauthenticated(std::string(name) + " must be a string");
    out = it->get<std::string>();
    return ok_status();
  };
  CUSTODY_TRY(str("iss", t.issuer, true));
  CUSTODY_TRY(str("sub", t.subject, true));
  CUSTODY_TRY(str("jti", t.jti, false));
  CUSTODY_TRY(str("client_id", t.client_id, false));
  if (auto it = c.find("aud"); it != c.end()) {
    if (it->is_string()) {
      t.audience.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& a : *it) {
        if (!a.is_string()) return Error::unauthenticated("aud must hold strings");
        t.audience.push_back(a.get<std::string>());
      }
    } else {
      return Error::unauthenticated("aud must be a string or an array");
    }
  }
  std::string scope;
  CUSTODY_TRY(str("scope", scope, false));
  t.scopes = split_scopes(scope);
  if (auto it = c.find("exp"); it != c.end() && it->is_number_integer())
    t.expires_at = it->get<std::int64_t>() * kMicrosPerSecond;
  else
    return Error::unauthenticated("token has no exp");
  if (auto it = c.find("act"); it != c.end()) t.act = *it;
  if (auto it = c.find("may_act"); it != c.end()) {
    if (!it->is_object() || !it->contains("sub") || !(*it)["sub"].is_string())
      return Error::unauthenticated("may_act must be an object with a sub");
    t.may_act = *it;
  }
  if (auto it = c.find("cnf");
      it != c.end() && it->is_object() && it->contains("jkt") && (*it)["jkt"].is_string())
    t.cnf_jkt = (*it)["jkt"].get<std::string>();
  if (auto it = c.find("max_hops"); it != c.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 1000)
      return Error::unauthenticated("max_hops must be an integer in [0, 1000]");
    t.max_hops = static_cast<int>(it->get<std::int64_t>());
  }
  CUSTODY_ASSIGN(t.depth, act_depth(t.act, 64));
  t.claims = c;
  return t;
}

}  // namespace custody::oauth
