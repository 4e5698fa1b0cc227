// Security Event Tokens (RFC 8417) as the OpenID Shared Signals Framework 1.0 and CAEP 1.0 profile
// them: the event type URIs custody knows, the claims of one SET, and signing.
//
// A custody SET has exactly the claims iss, iat, jti, aud, txn (when given), sub_id and events,
// with one event in events. It never has "sub" (SSF 1.0 forbids it: the subject is the RFC 9493
// subject identifier in "sub_id") nor "exp" (SETs are not access tokens and must not be mistaken
// for one). The JWS header is {"alg", "kid", "typ": "secevent+jwt"}.
//
// When to sign. The claims are fixed when an event is queued, so jti and iat never change; the
// signature is added at each delivery, with the OAuth key current at that moment. custody keeps an
// OAuth key in its JWKS only for as long as a token it signed can live (minutes), while a SET may
// wait in the outbox for hours (a paused stream, a receiver that is down): a signature made at
// enqueue time could then no longer be verified against jwks_uri. Signing at delivery also keeps
// the signing out of the writer's transaction, where a cascade may queue thousands of events.
// Receivers deduplicate by jti (RFC 8936 §2.4), so a second delivery of the same SET with a fresh
// signature is the same event.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/jwk.h"
#include "ssf/emitter.h"

namespace custody::ssf {

inline constexpr std::string_view kPushMethod = "urn:ietf:rfc:8935";
inline constexpr std::string_view kPollMethod = "urn:ietf:rfc:8936";
inline constexpr std::string_view kCaepPrefix =
    "https://schemas.openid.net/secevent/caep/event-type/";
inline constexpr std::string_view kSsfPrefix =
    "https://schemas.openid.net/secevent/ssf/event-type/";

// https://schemas.openid.net/secevent/caep/event-type/<name>
std::string caep_uri(std::string_view name);
// https://schemas.openid.net/secevent/ssf/event-type/<name> ("verification", "stream-updated")
std::string ssf_uri(std::string_view name);

// The CAEP event names custody emits (session-revoked, credential-change, token-claims-change,
// device-compliance-change).
const std::vector<std::string>& caep_events();
// Every event type URI a stream may ask for: the CAEP ones plus SSF verification and
// stream-updated, which every stream gets whether it asked or not (SSF 1.0 §8.1.4, §8.1.5).
const std::vector<std::string>& events_supported();
// True for the SSF control events (verification, stream-updated).
bool is_control_event(std::string_view uri);

// The event object of a CAEP event: event_timestamp (NumericDate, seconds), initiating_entity,
// reason_admin as {"en": text} (CAEP 1.0 §2: a localizable object), then `extra` merged in.
// Empty members are left out.
nlohmann::json caep_event_object(const CaepEvent& event);

struct SetClaims {
  std::string iss;
  nlohmann::json aud;  // a string or an array of strings
  std::string jti;
  Micros iat = 0;
  std::string txn;  // omitted when empty
  nlohmann::json sub_id;
  std::string event_uri;
  nlohmann::json event = nlohmann::json::object();
};

// The claims object of one SET (see the list at the top).
nlohmann::json set_claims(const SetClaims& set);

// Signs `claims` as a compact JWS with typ "secevent+jwt".
Result<std::string> sign_set(const nlohmann::json& claims, const crypto::Jwk& key);

}  // namespace custody::ssf
