// custody's access tokens: JWTs with typ "at+jwt" (RFC 9068) signed by the current signing key.
//
// Claims: iss, sub (the identity that initiated the chain), aud (one string, or an array when
// several), exp, iat, nbf, jti (= the delegation record id), client_id, scope (space-delimited),
// act (RFC 8693 §4.1: the current actor, with every earlier actor nested inside), may_act (when
// the requester named who may exchange it next), device_id (issued on an enrolled device,
// docs/devices.md), cnf.jkt (DPoP-bound tokens, RFC 9449 §6), and
// "custody": {"delegation_id", "root_delegation_id", "depth"} for tracing.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/jwk.h"
#include "delegation/record.h"

namespace custody::oauth {

// A verified token (custody's own or a trusted external issuer's), reduced to what delegation
// needs.
struct PresentedToken {
  std::string issuer;
  std::string subject;
  std::string jti;  // "" when the token has none (external tokens may lack it)
  std::string client_id;
  std::vector<std::string> audience;
  std::vector<std::string> scopes;
  Micros expires_at = 0;
  nlohmann::json act;      // null when absent
  nlohmann::json may_act;  // null when absent
  std::optional<std::string> cnf_jkt;
  int depth = 0;                // number of nested "act" levels
  std::optional<int> max_hops;  // "max_hops": further exchanges allowed; nullopt when absent
  nlohmann::json claims;
  // A device-attested client assertion (device/assertion.h) presented as an actor token: the
  // device it was attested on. The grant checks the device and the binding again.
  std::optional<std::string> device_id;
};

// The claims of the token a delegation record stands for.
nlohmann::json access_token_claims(const delegation::Record& record, const std::string& issuer,
                                   const nlohmann::json& act, const nlohmann::json& may_act);
// The same claims serialised as one JSON object (what access_token_claims(...).dump() gives,
// byte for byte), written member by member without building a JSON value: the token endpoint
// signs it with crypto::jwt_sign_serialized. kInvalidArgument for a string that is not UTF-8.
Result<std::string> access_token_payload(const delegation::Record& record,
                                         const std::string& issuer, const nlohmann::json& act,
                                         const nlohmann::json& may_act);

// Reads the reduced form out of verified claims; kUnauthenticated for malformed members.
Result<PresentedToken> presented_token(const nlohmann::json& claims);

// Counts nested "act" objects; kUnauthenticated beyond `limit` or for a non-object act.
Result<int> act_depth(const nlohmann::json& act, int limit);

std::vector<std::string> split_scopes(const std::string& scope);
std::string join_scopes(const std::vector<std::string>& scopes);

}  // namespace custody::oauth
