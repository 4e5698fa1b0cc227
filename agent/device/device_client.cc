#include "device/device_client.h"

#include "common/clock.h"
#include "common/encoding.h"
#include "common/random.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"

namespace custody::agent {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string new_jti() {
  return base64url_encode(random_bytes(18));
}

// The answer of custodyd as JSON, or an error carrying the problem's detail (or OAuth error).
Result<nlohmann::json> answer(const Result<net::HttpResponse>& r, const std::string& what) {
  if (!r.ok())
    return Error::unavailable("cannot reach custodyd for " + what + ": " + r.error().message);
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status >= 200 && r->status < 300) {
    if (!body.is_object()) return Error::internal(what + ": custodyd answered no JSON object");
    return body;
  }
  std::string detail = body.is_object()
                           ? body.value("detail", body.value("error_description", r->body))
                           : r->body.substr(0, 200);
  std::string message = what + " refused (" + std::to_string(r->status) + "): " + detail;
  if (r->status == 401) return Error::unauthenticated(message);
  if (r->status == 403) return Error::denied(message);
  if (r->status >= 500) return Error::unavailable(message);
  return Error::invalid(message);
}

}  // namespace

Result<std::string> fetch_issuer(const net::HttpClient& http) {
  net::HttpRequest req;
  req.target = "/.well-known/oauth-authorization-server";
  CUSTODY_ASSIGN(auto meta, answer(http.send(req), "reading the server metadata"));
  if (!meta.contains("issuer") || !meta["issuer"].is_string())
    return Error::internal("the server metadata has no issuer");
  return meta["issuer"].get<std::string>();
}

Result<DeviceState> enrol_device(const std::string& server_url, const std::string& token,
                                 const std::string& state_dir, const std::string& hostname,
                                 const std::string& platform) {
  CUSTODY_ASSIGN(auto url, net::parse_server_url(server_url));
  net::HttpClientOptions options = agent_http_options();
  options.user_agent = "custody-agent";
  net::HttpClient http(url, options);
  CUSTODY_ASSIGN(auto issuer, fetch_issuer(http));
  CUSTODY_ASSIGN(auto key, crypto::Jwk::generate(crypto::KeyType::kEcP256));
  std::int64_t now = unix_now();
  nlohmann::json claims = {{"aud", issuer},
                           {"iat", now},
                           {"exp", now + 60},
                           {"jti", new_jti()},
                           {"enrolment_token", token},
                           {"hostname", hostname},
                           {"platform", platform}};
  CUSTODY_ASSIGN(auto proof,
                 crypto::jws_sign({{"typ", "custody-enrol+jwt"}, {"jwk", key.public_json()}},
                                  claims.dump(), key));
  net::HttpRequest req;
  req.method = net::Method::kPost;
  req.target = "/api/v1/devices/enrol";
  req.body = proof;
  req.content_type = "application/jwt";
  CUSTODY_ASSIGN(auto enrolled, answer(http.send(req), "enrolment"));
  DeviceState state;
  state.server = url.str();
  state.issuer = issuer;
  state.device_id = enrolled.value("device_id", "");
  state.owner = enrolled.value("owner", "");
  state.enrolled_at = enrolled.value("enrolled_at", "");
  state.key = key;
  if (state.device_id.empty()) return Error::internal("enrolment answered no device_id");
  CUSTODY_TRY(save_state(state_dir, state));
  return state;
}

DeviceClient::DeviceClient(DeviceState state, net::HttpClientOptions options)
    : state_(std::move(state)), http_(net::parse_server_url(state_.server).value(), [&] {
        options.user_agent = "custody-agent";
        return options;
      }()) {}

Result<std::string> DeviceClient::sign(std::string_view typ, nlohmann::json claims) const {
  std::int64_t now = unix_now();
  claims["iss"] = state_.device_id;
  claims["aud"] = state_.issuer;
  claims["iat"] = now;
  claims["exp"] = now + lifetime_.count();
  claims["jti"] = new_jti();
  return crypto::jws_sign({{"typ", std::string(typ)}, {"kid", state_.device_id}}, claims.dump(),
                          *state_.key);
}

Result<nlohmann::json> DeviceClient::post_signed(const std::string& path,
                                                 const std::string& jwt) const {
  net::HttpRequest req;
  req.method = net::Method::kPost;
  req.target = path;
  req.body = jwt;
  req.content_type = "application/jwt";
  return answer(http_.send(req), path);
}

Result<nlohmann::json> DeviceClient::report_posture(const nlohmann::json& posture) const {
  CUSTODY_ASSIGN(auto jwt, sign("custody-posture+jwt", {{"posture", posture}}));
  return post_signed("/api/v1/devices/" + state_.device_id + "/posture", jwt);
}

Result<nlohmann::json> DeviceClient::workloads() const {
  CUSTODY_ASSIGN(auto jwt, sign("custody-device+jwt", {{"req", "workloads"}}));
  return post_signed("/api/v1/devices/" + state_.device_id + "/workloads", jwt);
}

Result<nlohmann::json> DeviceClient::assertion(const std::string& identity,
                                               const nlohmann::json& process,
                                               const std::optional<std::string>& dpop_jkt) const {
  nlohmann::json claims = {{"req", "assertion"}, {"identity", identity}, {"process", process}};
  if (dpop_jkt) claims["dpop_jkt"] = *dpop_jkt;
  CUSTODY_ASSIGN(auto jwt, sign("custody-device+jwt", claims));
  return post_signed("/api/v1/devices/" + state_.device_id + "/assertions", jwt);
}

Result<nlohmann::json> DeviceClient::event(const nlohmann::json& claims) const {
  nlohmann::json c = claims;
  c["req"] = "event";
  CUSTODY_ASSIGN(auto jwt, sign("custody-device+jwt", c));
  return post_signed("/api/v1/devices/" + state_.device_id + "/events", jwt);
}

Result<nlohmann::json> DeviceClient::token(
    const std::string& token_endpoint, const std::string& client_id, const std::string& assertion,
    const std::vector<std::pair<std::string, std::string>>& params) const {
  // The token endpoint is custody's own: send to its path on the configured server (the issuer's
  // host may be a name this host resolves differently).
  std::string path = "/oauth2/token";
  if (auto at = token_endpoint.find("/oauth2/"); at != std::string::npos)
    path = token_endpoint.substr(at);
  std::string form = "grant_type=client_credentials&client_id=" + net::percent_encode(client_id) +
                     "&client_assertion_type=" +
                     net::percent_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
                     "&client_assertion=" + net::percent_encode(assertion);
  for (const auto& [k, v] : params)
    form += "&" + net::percent_encode(k) + "=" + net::percent_encode(v);
  net::HttpRequest req;
  req.method = net::Method::kPost;
  req.target = path;
  req.body = form;
  req.content_type = "application/x-www-form-urlencoded";
  return answer(http_.send(req), "the token request");
}

}  // namespace custody::agent
