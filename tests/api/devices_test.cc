// Device trust through the API (docs/devices.md): enrolment with a one-time token and proof of
// possession, signed posture reports assessed by the posture policies, workload bindings,
// device-attested assertions and the tokens bound to them, and what happens to those tokens when
// the device degrades, goes stale or is revoked. Every refusal is asserted with its reason and
// its audit event.
#include <gtest/gtest.h>

#include "common/ids.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

json healthy_posture() {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return {
      {"collected_at", now},
      {"collection_ms", 12},
      {"os",
       {{"known", true},
        {"id", "debian"},
        {"version_id", "12"},
        {"version", "12 (bookworm)"},
        {"name", "Debian GNU/Linux"},
        {"pretty_name", "Debian GNU/Linux 12 (bookworm)"}}},
      {"kernel", {{"known", true}, {"release", "6.1.0-18-amd64"}, {"version", "#1 SMP"}}},
      {"updates", {{"known", true}, {"manager", "apt"}, {"pending", 2}, {"pending_security", 0}}},
      {"disk_encryption",
       {{"known", true},
        {"root_encrypted", true},
        {"method", "luks2"},
        {"device", "/dev/mapper/root"}}},
      {"firewall", {{"known", true}, {"active", true}, {"backend", "nftables"}, {"rules", 12}}},
      {"secure_boot", {{"known", true}, {"enabled", true}}},
      {"screen_lock", {{"known", false}, {"enabled", false}}},
      {"mdm", {{"known", true}, {"enrolled", false}, {"vendor", ""}}},
      {"agent", {{"version", "0.5.0"}}},
      {"ai_components", {{"known", false}, {"count", 0}, {"fingerprints", json::array()}}},
      {"warnings", json::array()}};
}

struct TestDevice {
  std::string id;
  crypto::Jwk key;
};

class DevicesTest : public OAuthFixture {
 protected:
  crypto::Jwk new_key() { return crypto::Jwk::generate(crypto::KeyType::kEcP256).value(); }

  static std::string sign(const crypto::Jwk& key, const json& header, const json& claims) {
    auto jws = crypto::jws_sign(header, claims.dump(), key);
    EXPECT_TRUE(jws.ok());
    return jws.ok() ? *jws : std::string();
  }

  std::string enrolment_token(const std::string& owner, const json& extra = json::object()) {
    json body = {{"owner", owner}};
    body.update(extra);
    Response r = admin().post("/api/v1/devices/enrolment-tokens", body);
    EXPECT_EQ(r.status, 201) << r.describe();
    return r.json().value("token", "");
  }

  std::string enrol_proof(const crypto::Jwk& key, const std::string& token, std::int64_t iat = 0) {
    if (iat == 0) iat = unix_now();
    return sign(key, {{"typ", "custody-enrol+jwt"}, {"jwk", key.public_json()}},
                {{"aud", server().url()},
                 {"iat", iat},
                 {"exp", iat + 120},
                 {"jti", random_hex(8)},
                 {"enrolment_token", token},
                 {"hostname", "build-01"},
                 {"platform", "linux"}});
  }

  Response post_jwt(const std::string& path, const std::string& jwt) {
    Client c(server().port());
    return c.request_raw("POST", path, jwt, {{"Content-Type", "application/jwt"}});
  }

  TestDevice enrol(const std::string& owner) {
    TestDevice d{"", new_key()};
    Response r = post_jwt("/api/v1/devices/enrol", enrol_proof(d.key, enrolment_token(owner)));
    EXPECT_EQ(r.status, 201) << r.describe();
    d.id = r.json().value("device_id", "");
    return d;
  }

  std::string device_jwt(const TestDevice& d, std::string_view typ, json claims,
                         std::int64_t iat = 0) {
    if (iat == 0) iat = unix_now();
    json c = {{"iss", d.id},
              {"aud", server().url()},
              {"iat", iat},
              {"exp", iat + 60},
              {"jti", random_hex(8)}};
    c.update(claims);
    return sign(d.key, {{"typ", std::string(typ)}, {"kid", d.id}}, c);
  }

  Response report(const TestDevice& d, const json& posture) {
    return post_jwt("/api/v1/devices/" + d.id + "/posture",
                    device_jwt(d, "custody-posture+jwt", {{"posture", posture}}));
  }

  static json process(std::int64_t uid = 1000) {
    return {{"pid", 4242},
            {"uid", uid},
            {"gid", 1000},
            {"exe_path", "/usr/bin/python3"},
            {"exe_sha256", std::string(64, 'a')},
            {"cmdline", {"python3", "agent.py"}},
            {"cgroups", {"/user.slice/user-1000.slice/session-2.scope"}}};
  }

  Response assertion(const TestDevice& d, const std::string& identity,
                     const json& proc = process()) {
    return post_jwt("/api/v1/devices/" + d.id + "/assertions",
                    device_jwt(d, "custody-device+jwt",
                               {{"req", "assertion"}, {"identity", identity}, {"process", proc}}));
  }

  Response token_with_assertion(const std::string& client_id, const std::string& assertion,
                                const std::string& audience) {
    Client c(server().port());
    return c.request_raw(
        "POST", "/oauth2/token",
        form({{"grant_type", "client_credentials"},
              {"client_id", client_id},
              {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
              {"client_assertion", assertion},
              {"audience", audience}}),
        {{"Content-Type", "application/x-www-form-urlencoded"}});
  }

  // A device refusal: 401/403 problem whose detail names the reason, audited under `action`.
  ::testing::AssertionResult DeviceRefused(const Response& r, int status,
                                           std::string_view reason_part, std::string_view action) {
    if (r.status != status)
      return ::testing::AssertionFailure() << "expected " << status << ", got " << r.describe();
    if (r.json().value("detail", "").find(reason_part) == std::string::npos)
      return ::testing::AssertionFailure()
             << "detail lacks \"" << reason_part << "\": " << r.describe();
    std::string outcome = status == 401   ? "unauthenticated"
                          : status == 403 ? "permission_denied"
                          : status == 400 ? "invalid_argument"
                                          : "conflict";
    auto event = find_audit_event(admin(), r, outcome, action);
    if (!event) return ::testing::AssertionFailure() << "refusal not audited: " << r.describe();
    if ((*event)["details"].value("reason", "").find(reason_part) == std::string::npos)
      return ::testing::AssertionFailure() << "audited reason differs: " << event->dump();
    return ::testing::AssertionSuccess();
  }
};

TEST_F(DevicesTest, EnrolReportBindAndIssueThenDegradeRevokesTheToken) {
  TestDevice d = enrol(owner_);
  Response shown = admin().get("/api/v1/devices/" + d.id);
  ASSERT_EQ(shown.status, 200) << shown.describe();
  EXPECT_EQ(shown.json()["trust"], "unknown");
  EXPECT_EQ(shown.json()["owner"], owner_);
  EXPECT_EQ(shown.json()["key_thumbprint"], d.key.thumbprint());

  Response healthy = report(d, healthy_posture());
  ASSERT_EQ(healthy.status, 200) << healthy.describe();
  EXPECT_EQ(healthy.json()["trust"], "trusted") << healthy.describe();
  EXPECT_NE(healthy.json()["reasons"][0].get<std::string>().find("posture/baseline"),
            std::string::npos);

  Agent a = agent("device-bound-agent");
  entitle(a, "tickets:read", "https://tickets.example");
  Response allowed =
      admin().request("PUT", "/api/v1/devices/" + d.id + "/identities/" + a.id,
                      json{{"selectors", {"uid:1000", "exe_sha256:" + std::string(64, 'a')}}});
  ASSERT_EQ(allowed.status, 200) << allowed.describe();

  // A device-bound identity no longer authenticates with its secret.
  EXPECT_TRUE(Refused(client_credentials(a, "https://tickets.example"), 401, "invalid_client", "",
                      "bound to devices"));

  // The agent lists the bindings, then obtains an assertion for a matching process.
  Response workloads = post_jwt("/api/v1/devices/" + d.id + "/workloads",
                                device_jwt(d, "custody-device+jwt", {{"req", "workloads"}}));
  ASSERT_EQ(workloads.status, 200) << workloads.describe();
  ASSERT_EQ(workloads.json()["bindings"].size(), 1u);
  EXPECT_EQ(workloads.json()["bindings"][0]["identity"], a.id);

  Response minted = assertion(d, a.id);
  ASSERT_EQ(minted.status, 200) << minted.describe();
  std::string client_assertion = minted.json()["assertion"];
  Response issued = token_with_assertion(a.id, client_assertion, "https://tickets.example");
  ASSERT_EQ(issued.status, 200) << issued.describe();
  json claims = claims_of(token_of(issued));
  EXPECT_EQ(claims["device_id"], d.id);
  EXPECT_EQ(claims["sub"], a.id);

  // A process that does not match the selectors gets nothing.
  EXPECT_TRUE(DeviceRefused(assertion(d, a.id, process(0)), 403,
                            "selector uid:1000 of " + a.id + " does not match",
                            "device.assertion"));

  // A Shared Signals receiver that polls for device compliance changes.
  const std::string kCompliance =
      "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change";
  Response stream = admin().post(
      "/ssf/streams",
      json{{"delivery", {{"method", "urn:ietf:rfc:8936"}}}, {"events_requested", {kCompliance}}});
  ASSERT_EQ(stream.status, 201) << stream.describe();
  std::string stream_id = stream.json()["stream_id"];

  // The device degrades: pending security updates and no firewall → untrusted; the token dies.
  json bad = healthy_posture();
  bad["disk_encryption"]["root_encrypted"] = false;
  bad["firewall"]["active"] = false;
  Response degraded = report(d, bad);
  ASSERT_EQ(degraded.status, 200) << degraded.describe();
  EXPECT_EQ(degraded.json()["trust"], "untrusted") << degraded.describe();
  EXPECT_EQ(degraded.json()["revoked_tokens"], 1);

  Agent rs = agent("device-rs");
  entitle(rs, "custody:introspect", "custody");
  Response dead = post_form("/oauth2/introspect", rs, {{"token", token_of(issued)}});
  EXPECT_EQ(dead.json(), json({{"active", false}})) << dead.describe();
  Response polled = admin().post("/ssf/poll/" + stream_id, json{{"returnImmediately", true}});
  ASSERT_EQ(polled.status, 200) << polled.describe();
  ASSERT_EQ(polled.json()["sets"].size(), 1u) << polled.body;
  json set = claims_of(polled.json()["sets"].begin().value());
  const json& event = set["events"][kCompliance];
  EXPECT_EQ(event["previous_status"], "compliant") << set.dump();
  EXPECT_EQ(event["current_status"], "not-compliant") << set.dump();
  EXPECT_EQ(set["sub_id"]["device"]["id"], d.id) << set.dump();
  EXPECT_EQ(set["sub_id"]["user"]["id"], owner_) << set.dump();
  auto trust_events = audit_events(admin(), "target=" + d.id + "&action=device.trust");
  ASSERT_FALSE(trust_events.empty());
  EXPECT_EQ(trust_events[0]["details"]["after"], "untrusted");

  // New assertions are refused, and so is the assertion minted while the device was trusted.
  EXPECT_TRUE(DeviceRefused(assertion(d, a.id), 403, "is untrusted", "device.assertion"));
  Response again = token_with_assertion(a.id, client_assertion, "https://tickets.example");
  EXPECT_TRUE(Refused(again, 401, "invalid_client", "", "is untrusted"));

  // Healthy again: trusted, and a new token is issued.
  ASSERT_EQ(report(d, healthy_posture()).json()["trust"], "trusted");
  Response fresh = assertion(d, a.id);
  ASSERT_EQ(fresh.status, 200) << fresh.describe();
  EXPECT_EQ(token_with_assertion(a.id, fresh.json()["assertion"], "https://tickets.example").status,
            200);
}

TEST_F(DevicesTest, PendingSecurityUpdatesDegradeWithoutRevoking) {
  TestDevice d = enrol(owner_);
  json p = healthy_posture();
  p["updates"]["pending_security"] = 3;
  Response r = report(d, p);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["trust"], "degraded");
  std::string reasons = r.json()["reasons"].dump();
  EXPECT_NE(reasons.find("posture/security-updates-pending"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("posture/tolerate-encrypted"), std::string::npos) << reasons;
}

TEST_F(DevicesTest, EnrolmentRefusals) {
  std::string token = enrolment_token(owner_);
  crypto::Jwk key = new_key();
  std::string proof = enrol_proof(key, token);
  ASSERT_EQ(post_jwt("/api/v1/devices/enrol", proof).status, 201);
  // The same proof again, and a new proof with the spent token.
  EXPECT_TRUE(
      DeviceRefused(post_jwt("/api/v1/devices/enrol", proof), 401, "already used", "device.enrol"));
  EXPECT_TRUE(DeviceRefused(post_jwt("/api/v1/devices/enrol", enrol_proof(new_key(), token)), 401,
                            "already used", "device.enrol"));
  // An unknown token; a proof signed by another key than the one in its header.
  EXPECT_TRUE(DeviceRefused(post_jwt("/api/v1/devices/enrol", enrol_proof(new_key(), "cdet_x")),
                            401, "not valid", "device.enrol"));
  crypto::Jwk other = new_key();
  std::string forged = sign(other, {{"typ", "custody-enrol+jwt"}, {"jwk", key.public_json()}},
                            {{"aud", server().url()},
                             {"iat", unix_now()},
                             {"exp", unix_now() + 60},
                             {"jti", "x"},
                             {"enrolment_token", enrolment_token(owner_)},
                             {"hostname", "h"},
                             {"platform", "linux"}});
  EXPECT_TRUE(DeviceRefused(post_jwt("/api/v1/devices/enrol", forged), 401,
                            "does not verify with the key in its header", "device.enrol"));
  // A clock far ahead.
  EXPECT_TRUE(
      DeviceRefused(post_jwt("/api/v1/devices/enrol",
                             enrol_proof(new_key(), enrolment_token(owner_), unix_now() + 3600)),
                    401, "clock", "device.enrol"));
  // Garbage.
  EXPECT_TRUE(
      DeviceRefused(post_jwt("/api/v1/devices/enrol", "not a jwt"), 401, "", "device.enrol"));
  // Enrolment tokens only for active humans.
  Response bad_owner =
      admin().post("/api/v1/devices/enrolment-tokens", json{{"owner", "usr_nobody"}});
  EXPECT_TRUE(IsProblem(bad_owner, 422, "unprocessable", "owner"));
}

TEST_F(DevicesTest, ReportRefusals) {
  TestDevice d = enrol(owner_);
  TestDevice other = enrol(owner_);
  std::string jwt = device_jwt(d, "custody-posture+jwt", {{"posture", healthy_posture()}});
  ASSERT_EQ(post_jwt("/api/v1/devices/" + d.id + "/posture", jwt).status, 200);
  EXPECT_TRUE(DeviceRefused(post_jwt("/api/v1/devices/" + d.id + "/posture", jwt), 401,
                            "already used", "device.posture"));
  // Signed by another device's key but naming this device.
  TestDevice impostor{d.id, other.key};
  EXPECT_TRUE(DeviceRefused(report(impostor, healthy_posture()), 401,
                            "does not verify with the key of device", "device.posture"));
  // A clock far behind (iat an hour ago, exp still ahead is impossible: lifetime too long).
  EXPECT_TRUE(
      DeviceRefused(post_jwt("/api/v1/devices/" + d.id + "/posture",
                             device_jwt(d, "custody-posture+jwt", {{"posture", healthy_posture()}},
                                        unix_now() - 3600)),
                    401, "expired", "device.posture"));
  // Wrong purpose; malformed posture.
  EXPECT_TRUE(
      DeviceRefused(post_jwt("/api/v1/devices/" + d.id + "/posture",
                             device_jwt(d, "custody-device+jwt", {{"posture", healthy_posture()}})),
                    401, "typ", "device.posture"));
  json broken = healthy_posture();
  broken["firewall"]["active"] = "yes";
  EXPECT_TRUE(DeviceRefused(report(d, broken), 400, "posture.firewall.active", "device.posture"));

  // A revoked device's key is refused everywhere, and its tokens died with it.
  Response revoked =
      admin().post("/api/v1/devices/" + d.id + "/revoke", json{{"reason", "laptop stolen"}});
  ASSERT_EQ(revoked.status, 200) << revoked.describe();
  EXPECT_EQ(revoked.json()["state"], "revoked");
  EXPECT_TRUE(DeviceRefused(report(d, healthy_posture()), 401, "is revoked", "device.posture"));
  EXPECT_TRUE(DeviceRefused(post_jwt("/api/v1/devices/" + d.id + "/workloads",
                                     device_jwt(d, "custody-device+jwt", {{"req", "workloads"}})),
                            401, "is revoked", "device.workloads"));
}

TEST_F(DevicesTest, ReEnrolmentGivesTheDeviceANewKeyAndRefusesTheOldOne) {
  TestDevice d = enrol(owner_);
  ASSERT_EQ(report(d, healthy_posture()).json()["trust"], "trusted");
  std::string token = enrolment_token(owner_, {{"device", d.id}});
  TestDevice rekeyed{d.id, new_key()};
  Response r = post_jwt("/api/v1/devices/enrol", enrol_proof(rekeyed.key, token));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["device_id"], d.id);
  EXPECT_EQ(r.json()["reenrolled"], true);
  EXPECT_EQ(r.json()["trust"], "unknown");
  EXPECT_EQ(r.json()["key_thumbprint"], rekeyed.key.thumbprint());
  EXPECT_TRUE(DeviceRefused(report(d, healthy_posture()), 401,
                            "does not verify with the key of device", "device.posture"));
  EXPECT_EQ(report(rekeyed, healthy_posture()).json()["trust"], "trusted");
  // Re-enrolment tokens only for the device's own owner, and never for a revoked device.
  std::string other_owner = create_human(admin())["id"];
  EXPECT_TRUE(IsProblem(admin().post("/api/v1/devices/enrolment-tokens",
                                     json{{"owner", other_owner}, {"device", d.id}}),
                        422, "unprocessable", "device"));
}

TEST_F(DevicesTest, ARevokedDeviceInvalidatesAnAssertionMintedBefore) {
  TestDevice d = enrol(owner_);
  ASSERT_EQ(report(d, healthy_posture()).json()["trust"], "trusted");
  Agent a = agent("revoked-device-agent");
  entitle(a, "tickets:read", "https://tickets.example");
  ASSERT_EQ(admin()
                .request("PUT", "/api/v1/devices/" + d.id + "/identities/" + a.id,
                         json{{"selectors", {"uid:1000"}}})
                .status,
            200);
  Response minted = assertion(d, a.id);
  ASSERT_EQ(minted.status, 200) << minted.describe();
  Response issued =
      token_with_assertion(a.id, minted.json()["assertion"], "https://tickets.example");
  ASSERT_EQ(issued.status, 200) << issued.describe();
  Response unused = assertion(d, a.id);
  ASSERT_EQ(unused.status, 200) << unused.describe();
  Response revoked = admin().post("/api/v1/devices/" + d.id + "/revoke", json::object());
  ASSERT_EQ(revoked.status, 200) << revoked.describe();
  EXPECT_EQ(revoked.json()["revoked_tokens"].size(), 1u) << revoked.describe();
  Response again = assertion(d, a.id);
  EXPECT_TRUE(DeviceRefused(again, 401, "is revoked", "device.assertion"));
  Response late = token_with_assertion(a.id, unused.json()["assertion"], "https://tickets.example");
  EXPECT_TRUE(Refused(late, 401, "invalid_client", "", "is revoked"));
  EXPECT_TRUE(IsProblem(admin().post("/api/v1/devices/" + d.id + "/revoke", json::object()), 409,
                        "conflict"));
  auto events = audit_events(admin(), "target=" + d.id + "&action=device.revoke&outcome=success");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["details"]["after"], "untrusted");
}

TEST_F(DevicesTest, ADeviceAttestedAssertionServesAsAnActorToken) {
  TestDevice d = enrol(owner_);
  ASSERT_EQ(report(d, healthy_posture()).json()["trust"], "trusted");
  // A hands its authority for B's audience on; B runs on the device; S requests the exchange.
  Agent a = agent("actor-a"), b = agent("actor-b"), c = agent("actor-c"), svc = agent("actor-s");
  entitle(a, "read", b.id);
  entitle(a, "read", c.id);
  entitle(b, "read", c.id);
  ASSERT_EQ(admin()
                .request("PUT", "/api/v1/devices/" + d.id + "/identities/" + b.id,
                         json{{"selectors", {"uid:1000"}}})
                .status,
            200);
  std::string subject = token_of(client_credentials(a, b.id, "read"));
  ASSERT_FALSE(subject.empty());
  auto exchange_as_b = [&](const std::string& actor_assertion) {
    return exchange(svc, subject,
                    {{"actor_token", actor_assertion},
                     {"actor_token_type", "urn:ietf:params:oauth:token-type:jwt"},
                     {"audience", c.id}});
  };
  std::string actor = assertion(d, b.id).json()["assertion"];
  Response r = exchange_as_b(actor);
  ASSERT_EQ(r.status, 200) << r.describe();
  json claims = claims_of(token_of(r));
  EXPECT_EQ(claims["sub"], a.id);
  EXPECT_EQ(claims["act"]["sub"], b.id);
  EXPECT_EQ(claims["device_id"], d.id);
  // The assertion is spent.
  EXPECT_TRUE(Refused(exchange_as_b(actor), 401, "invalid_client", "", "already used"));
  // The device degrades: an assertion minted before is refused as an actor token too.
  std::string unused = assertion(d, b.id).json()["assertion"];
  json bad = healthy_posture();
  bad["disk_encryption"]["root_encrypted"] = false;
  ASSERT_EQ(report(d, bad).json()["trust"], "untrusted");
  EXPECT_TRUE(Refused(exchange_as_b(unused), 400, "invalid_request", "actor", "is untrusted"));
}

TEST_F(DevicesTest, WorkloadRefusalsReportedByTheAgentAreAudited) {
  TestDevice d = enrol(owner_);
  Response r = post_jwt("/api/v1/devices/" + d.id + "/events",
                        device_jwt(d, "custody-device+jwt",
                                   {{"req", "event"},
                                    {"event", "workload.refused"},
                                    {"reason", "no identity on this device matches the process"},
                                    {"process", process()}}));
  ASSERT_EQ(r.status, 202) << r.describe();
  auto events = audit_events(admin(), "action=device.workload.refused&actor=" + d.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["details"]["reason"], "no identity on this device matches the process");
  // The process's arguments never reach the audit log; an unbounded reason is refused.
  EXPECT_FALSE(events[0]["details"]["process"].contains("cmdline")) << events[0].dump();
  EXPECT_EQ(events[0]["details"]["process"]["args"], 2);
  Response huge = post_jwt(
      "/api/v1/devices/" + d.id + "/events",
      device_jwt(
          d, "custody-device+jwt",
          {{"req", "event"}, {"event", "workload.refused"}, {"reason", std::string(5000, 'x')}}));
  EXPECT_TRUE(DeviceRefused(huge, 400, "at most 2000 bytes", "device.event"));
}

TEST(DevicesStale, AStaleReportMakesTheDeviceUntrusted) {
  Custodyd server(
      {{"CUSTODY_DEVICE_POSTURE_MAX_AGE_SECONDS", "10"}, {"CUSTODY_DEVICE_STALE_CHECK_MS", "200"}});
  CUSTODY_START_OR_SKIP(server);
  auto admin = server.admin();
  std::string owner = create_human(*admin)["id"];
  Response t = admin->post("/api/v1/devices/enrolment-tokens", json{{"owner", owner}});
  ASSERT_EQ(t.status, 201) << t.describe();
  crypto::Jwk key = crypto::Jwk::generate(crypto::KeyType::kEcP256).value();
  auto now = unix_now();
  auto proof = crypto::jws_sign({{"typ", "custody-enrol+jwt"}, {"jwk", key.public_json()}},
                                json{{"aud", server.url()},
                                     {"iat", now},
                                     {"exp", now + 60},
                                     {"jti", "1"},
                                     {"enrolment_token", t.json()["token"]},
                                     {"hostname", "h"},
                                     {"platform", "linux"}}
                                    .dump(),
                                key);
  Client c(server.port());
  Response e =
      c.request_raw("POST", "/api/v1/devices/enrol", *proof, {{"Content-Type", "application/jwt"}});
  ASSERT_EQ(e.status, 201) << e.describe();
  std::string id = e.json()["device_id"];
  auto report = crypto::jws_sign({{"typ", "custody-posture+jwt"}, {"kid", id}},
                                 json{{"iss", id},
                                      {"aud", server.url()},
                                      {"iat", now},
                                      {"exp", now + 60},
                                      {"jti", "2"},
                                      {"posture", healthy_posture()}}
                                     .dump(),
                                 key);
  Response r = c.request_raw("POST", "/api/v1/devices/" + id + "/posture", *report,
                             {{"Content-Type", "application/jwt"}});
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(r.json()["trust"], "trusted");
  // No further report: within max age + a check period it is untrusted, with the reason.
  json shown;
  for (int i = 0; i < 60; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    shown = admin->get("/api/v1/devices/" + id).json();
    if (shown["trust"] == "untrusted") break;
  }
  EXPECT_EQ(shown["trust"], "untrusted") << shown.dump();
  EXPECT_NE(shown["trust_reasons"].dump().find("stale"), std::string::npos) << shown.dump();
}

}  // namespace
}  // namespace custody::apitest
