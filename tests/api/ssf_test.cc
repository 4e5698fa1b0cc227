// The OpenID Shared Signals transmitter against a real custodyd (docs/ssf.md): metadata, stream
// management and ownership, verification and stream-updated events, poll delivery with acks and
// setErrs (RFC 8936), and push delivery (RFC 8935) to a receiver on loopback started by the test:
// the signed SET verified against /.well-known/jwks.json, a 400 that stops retries, a receiver
// that is down being retried later with the stream's order kept.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>

#include "../common/self_signed_cert.h"
#include "common/encoding.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "harness.h"
#include "loopback_receiver.h"
#include "net/url.h"

namespace custody::apitest {
namespace {

constexpr const char* kVerification =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
constexpr const char* kStreamUpdated =
    "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";
constexpr const char* kSessionRevoked =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
constexpr const char* kTokenClaimsChange =
    "https://schemas.openid.net/secevent/caep/event-type/token-claims-change";
constexpr const char* kPush = "urn:ietf:rfc:8935";
constexpr const char* kPoll = "urn:ietf:rfc:8936";

// An RFC 8935 receiver: answers 202 unless told otherwise.
class Receiver : public LoopbackReceiver {
 public:
  explicit Receiver(std::uint16_t port = 0) : LoopbackReceiver("/events", port, 202) {}
};

using custody::test_support::write_self_signed;

// An https receiver on 127.0.0.1 with the certificate in `dir`: answers 202 to every request and
// keeps the bodies.
class TlsReceiver {
 public:
  explicit TlsReceiver(const std::filesystem::path& dir)
      : ctx_(boost::asio::ssl::context::tls_server), acceptor_(ioc_) {
    ctx_.use_certificate_chain_file((dir / "tls.crt").string());
    ctx_.use_private_key_file((dir / "tls.key").string(), boost::asio::ssl::context::pem);
    using tcp = boost::asio::ip::tcp;
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsReceiver() {
    stop_ = true;
    thread_.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/tls"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  bool wait_for(std::size_t n) {
    for (int i = 0; i < 500 && bodies().size() < n; ++i) std::this_thread::sleep_for(Millis(20));
    return bodies().size() >= n;
  }

 private:
  void serve() {
    namespace beast = boost::beast;
    while (!stop_) {
      pollfd p{acceptor_.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      beast::error_code ec;
      boost::asio::ip::tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec) continue;
      timeval tv{5, 0};
      ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(std::move(socket), ctx_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;
      beast::flat_buffer buffer;
      beast::http::request<beast::http::string_body> request;
      beast::http::read(stream, buffer, request, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(request.body());
      }
      beast::http::response<beast::http::string_body> response{beast::http::status::accepted, 11};
      response.set(beast::http::field::connection, "close");
      response.prepare_payload();
      beast::http::write(stream, response, ec);
      stream.shutdown(ec);
    }
  }

  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

class SsfTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(Custodyd::Env extra) {
    Custodyd::Env env = {{"CUSTODY_SSF_PUSH_RETRY_BASE_MS", "100"},
                         {"CUSTODY_SSF_PUSH_RETRY_MAX_MS", "200"},
                         {"CUSTODY_SSF_PUSH_SCAN_MS", "50"}};
    env.insert(env.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Custodyd>(env);
    CUSTODY_START_OR_SKIP(*server_);
    admin_ = server_->admin();
  }

  Client& admin() { return *admin_; }

  json create_stream(const json& body, Client* client = nullptr) {
    Response r = (client ? *client : admin()).post("/ssf/streams", body);
    EXPECT_EQ(r.status, 201) << r.describe();
    return r.json();
  }

  Response poll(const std::string& id, const json& body) {
    return admin().post("/ssf/poll/" + id, body);
  }

  // The SET's claims after verifying its signature against the published JWKS and its header.
  json verify_set(const std::string& set) {
    Response jwks = admin().get("/.well-known/jwks.json");
    EXPECT_EQ(jwks.status, 200);
    auto keys = crypto::JwkSet::parse(jwks.json());
    EXPECT_TRUE(keys.ok());
    if (!keys.ok()) return {};
    crypto::VerifyPolicy policy;
    policy.algorithms = {crypto::Alg::kES256, crypto::Alg::kEdDSA, crypto::Alg::kRS256};
    auto verified = crypto::jws_verify(set, *keys, policy);
    EXPECT_TRUE(verified.ok()) << (verified.ok() ? "" : verified.error().message);
    if (!verified.ok()) return {};
    EXPECT_EQ(verified->header.value("typ", ""), "secevent+jwt");
    json claims = json::parse(verified->payload);
    EXPECT_EQ(claims.value("iss", ""), server_->url());
    EXPECT_FALSE(claims.contains("sub"));
    EXPECT_FALSE(claims.contains("exp"));
    EXPECT_TRUE(claims.contains("iat"));
    EXPECT_TRUE(claims.contains("jti"));
    EXPECT_EQ(claims["events"].size(), 1u);
    return claims;
  }

  std::unique_ptr<Custodyd> server_;
  std::unique_ptr<Client> admin_;
};

TEST_F(SsfTest, MetadataNamesTheEndpoints) {
  Client anonymous(server_->port());
  Response r = anonymous.get("/.well-known/ssf-configuration");
  ASSERT_EQ(r.status, 200) << r.describe();
  json m = r.json();
  std::string issuer = server_->url();
  EXPECT_EQ(m["issuer"], issuer);
  EXPECT_EQ(m["spec_version"], "1_0");
  EXPECT_EQ(m["jwks_uri"], issuer + "/.well-known/jwks.json");
  EXPECT_EQ(m["delivery_methods_supported"], json({kPush, kPoll}));
  EXPECT_EQ(m["configuration_endpoint"], issuer + "/ssf/streams");
  EXPECT_EQ(m["status_endpoint"], issuer + "/ssf/status");
  EXPECT_EQ(m["verification_endpoint"], issuer + "/ssf/verify");
}

TEST_F(SsfTest, PollStreamVerificationAcksAndSetErrs) {
  json stream = create_stream({{"delivery", {{"method", kPoll}}},
                               {"events_requested", {kSessionRevoked, "urn:example:other"}},
                               {"description", "poll test"}});
  std::string id = stream.value("stream_id", "");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(stream["iss"], server_->url());
  EXPECT_EQ(stream["delivery"]["endpoint_url"], server_->url() + "/ssf/poll/" + id);
  EXPECT_EQ(stream["events_delivered"], json({kSessionRevoked}));
  EXPECT_EQ(stream["description"], "poll test");

  Response got = admin().get("/ssf/streams?stream_id=" + id);
  ASSERT_EQ(got.status, 200) << got.describe();
  EXPECT_EQ(got.json(), stream);

  // Nothing queued yet.
  Response r = poll(id, json::object());
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["sets"], json::object());
  EXPECT_EQ(r.json()["moreAvailable"], false);

  Response v = admin().post("/ssf/verify", {{"stream_id", id}, {"state", "s-1"}});
  ASSERT_EQ(v.status, 204) << v.describe();
  r = poll(id, {{"returnImmediately", true}});
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(r.json()["sets"].size(), 1u) << r.body;
  std::string jti = r.json()["sets"].begin().key();
  json claims = verify_set(r.json()["sets"].begin().value());
  EXPECT_EQ(claims["jti"], jti);
  EXPECT_EQ(claims["events"][kVerification], json({{"state", "s-1"}}));
  EXPECT_EQ(claims["sub_id"], json({{"format", "opaque"}, {"id", id}}));

  // Unacknowledged: handed out again (same jti). Acknowledged: never again.
  r = poll(id, json::object());
  ASSERT_EQ(r.json()["sets"].size(), 1u);
  EXPECT_TRUE(r.json()["sets"].contains(jti));
  r = poll(id, {{"ack", {jti}}});
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["sets"], json::object());

  // Three events; maxEvents pages them; setErrs settles one as failed.
  for (const char* state : {"a", "b", "c"})
    ASSERT_EQ(admin().post("/ssf/verify", {{"stream_id", id}, {"state", state}}).status, 204);
  r = poll(id, {{"maxEvents", 1}});
  ASSERT_EQ(r.json()["sets"].size(), 1u);
  EXPECT_EQ(r.json()["moreAvailable"], true);
  std::string first = r.json()["sets"].begin().key();
  EXPECT_EQ(verify_set(r.json()["sets"].begin().value())["events"][kVerification]["state"], "a");
  r = poll(id, {{"setErrs", {{first, {{"err", "invalid_key"}, {"description", "test"}}}}},
                {"maxEvents", 10}});
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(r.json()["sets"].size(), 2u);
  EXPECT_FALSE(r.json()["sets"].contains(first));
  EXPECT_EQ(r.json()["moreAvailable"], false);

  // Malformed polls get RFC 8936 errors, audited.
  Response bad = poll(id, {{"maxEvents", "many"}});
  EXPECT_EQ(bad.status, 400) << bad.describe();
  EXPECT_EQ(bad.json().value("err", ""), "invalid_request");
  EXPECT_FALSE(bad.json().value("description", "").empty());
  EXPECT_TRUE(find_audit_event(admin(), bad, "invalid_argument", "ssf.poll").has_value());

  // The stream's changes are audited.
  EXPECT_FALSE(audit_events(admin(), "action=ssf.stream.create&target=" + id).empty());
  EXPECT_FALSE(audit_events(admin(), "action=ssf.stream.verify&target=" + id).empty());
}

// Continuous revocation is signalled: suspending an identity sends CAEP session-revoked, revoking
// an entitlement token-claims-change, each in the transaction of the change.
TEST_F(SsfTest, SuspensionsAndRevokedEntitlementsAreSignalled) {
  json stream = create_stream({{"delivery", {{"method", kPoll}}},
                               {"events_requested", {kSessionRevoked, kTokenClaimsChange}}});
  std::string id = stream["stream_id"];
  std::string human = create_human(admin())["id"];
  std::string agent = create_agent(admin(), human)["id"];
  ASSERT_EQ(admin().post("/api/v1/identities/" + agent + "/activate", json::object()).status, 200);
  Response ent = admin().post("/api/v1/identities/" + agent + "/entitlements",
                              json{{"scope", "read"},
                                   {"resource", "https://api.example.com"},
                                   {"justification", "ssf test"}});
  ASSERT_EQ(ent.status, 201) << ent.describe();
  ASSERT_EQ(admin().del("/api/v1/entitlements/" + ent.json()["id"].get<std::string>()).status, 200);
  Response s = admin().post("/api/v1/identities/" + agent + "/suspend", json{{"reason", "test"}});
  ASSERT_EQ(s.status, 200) << s.describe();

  Response r = poll(id, {{"maxEvents", 10}});
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(r.json()["sets"].size(), 2u) << r.body;
  std::map<std::string, json> by_type;
  const json sets = r.json()["sets"];
  for (const auto& [jti, set] : sets.items()) {
    json claims = verify_set(set);
    EXPECT_EQ(claims["sub_id"], json({{"format", "opaque"}, {"id", agent}}));
    by_type[claims["events"].begin().key()] = claims["events"].begin().value();
  }
  ASSERT_TRUE(by_type.count(kSessionRevoked)) << r.body;
  EXPECT_EQ(by_type[kSessionRevoked]["initiating_entity"], "admin");
  EXPECT_NE(by_type[kSessionRevoked]["reason_admin"].value("en", "").find("identity.suspend"),
            std::string::npos);
  ASSERT_TRUE(by_type.count(kTokenClaimsChange)) << r.body;
  EXPECT_EQ(by_type[kTokenClaimsChange]["claims"]["custody_entitlement_revoked"]["scope"], "read");
}

TEST_F(SsfTest, StatusChangesHoldDropAndAnnounce) {
  json stream = create_stream({{"events_requested", {kSessionRevoked}}});
  std::string id = stream["stream_id"];
  Response s = admin().get("/ssf/status?stream_id=" + id);
  ASSERT_EQ(s.status, 200) << s.describe();
  EXPECT_EQ(s.json(), json({{"stream_id", id}, {"status", "enabled"}}));

  Response p = admin().post("/ssf/status",
                            {{"stream_id", id}, {"status", "paused"}, {"reason", "maintenance"}});
  ASSERT_EQ(p.status, 200) << p.describe();
  EXPECT_EQ(p.json()["status"], "paused");
  ASSERT_EQ(admin().post("/ssf/verify", {{"stream_id", id}, {"state", "held"}}).status, 204);
  // Paused: held, not handed out.
  EXPECT_EQ(poll(id, json::object()).json()["sets"], json::object());

  ASSERT_EQ(admin().post("/ssf/status", {{"stream_id", id}, {"status", "enabled"}}).status, 200);
  Response r = poll(id, {{"maxEvents", 10}});
  json sets = r.json()["sets"];
  ASSERT_EQ(sets.size(), 3u) << r.body;  // stream-updated paused, verification, stream-updated
  std::vector<std::string> statuses;
  bool held = false;
  for (const auto& [jti, set] : sets.items()) {
    json claims = verify_set(set);
    if (claims["events"].contains(kStreamUpdated))
      statuses.push_back(claims["events"][kStreamUpdated]["status"].get<std::string>());
    if (claims["events"].contains(kVerification))
      held = claims["events"][kVerification]["state"] == "held";
  }
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<std::string>{"enabled", "paused"}));
  EXPECT_TRUE(held);

  // Disabled: what was pending is dropped and nothing more is queued.
  ASSERT_EQ(admin().post("/ssf/status", {{"stream_id", id}, {"status", "disabled"}}).status, 200);
  EXPECT_EQ(admin().post("/ssf/verify", {{"stream_id", id}}).status, 409);
  ASSERT_EQ(admin().post("/ssf/status", {{"stream_id", id}, {"status", "enabled"}}).status, 200);
  r = poll(id, {{"maxEvents", 10}});
  ASSERT_EQ(r.json()["sets"].size(), 1u) << r.body;  // only stream-updated "enabled"

  Response bad = admin().post("/ssf/status", {{"stream_id", id}, {"status", "sleeping"}});
  EXPECT_TRUE(IsProblem(bad, 400, "invalid_argument", "status"));
  EXPECT_FALSE(audit_events(admin(), "action=ssf.stream.status&target=" + id).empty());
}

TEST_F(SsfTest, StreamsBelongToTheirReceivers) {
  // A receiver authenticates with a custody access token carrying the custody:ssf scope.
  std::string issuer = server_->url();
  std::string human = create_human(admin())["id"].get<std::string>();
  auto receiver_token = [&](const std::string& scope) {
    std::string id = create_identity(admin(), owned_body("service", human, "RP"))["id"];
    EXPECT_EQ(admin().post("/api/v1/identities/" + id + "/activate", json::object()).status, 200);
    Response e = admin().post("/api/v1/identities/" + id + "/entitlements",
                              {{"scope", scope}, {"resource", issuer}, {"justification", "ssf"}});
    EXPECT_EQ(e.status, 201) << e.describe();
    Response cred =
        admin().post("/api/v1/identities/" + id + "/credentials", json{{"type", "client_secret"}});
    EXPECT_EQ(cred.status, 201) << cred.describe();
    std::string basic =
        "Basic " + base64_encode(id + ":" + net::percent_encode(cred.json().value("secret", "")));
    Client c(server_->port());
    Response t = c.request_raw(
        "POST", "/oauth2/token",
        "grant_type=client_credentials&audience=" + net::percent_encode(issuer) + "&scope=" + scope,
        {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", basic}});
    EXPECT_EQ(t.status, 200) << t.describe();
    return std::make_pair(id, t.json().value("access_token", std::string()));
  };
  auto [rp1, token1] = receiver_token("custody:ssf");
  auto [rp2, token2] = receiver_token("custody:ssf");
  auto [rp3, token3] = receiver_token("other");
  Client one(server_->port(), token1), two(server_->port(), token2), three(server_->port(), token3);

  json stream = create_stream({{"events_requested", {kSessionRevoked}}}, &one);
  std::string id = stream["stream_id"];
  EXPECT_EQ(stream["aud"], rp1);
  EXPECT_EQ(one.get("/ssf/streams?stream_id=" + id).status, 200);
  Response theirs = two.get("/ssf/streams?stream_id=" + id);
  EXPECT_TRUE(IsProblem(theirs, 404, "not_found"));
  EXPECT_TRUE(IsProblem(two.post("/ssf/poll/" + id, json::object()), 404, "not_found"));
  Response list = two.get("/ssf/streams");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json(), json::array());
  EXPECT_TRUE(IsProblem(three.get("/ssf/streams"), 403, "permission_denied"));
  Client anonymous(server_->port());
  Response anon = anonymous.get("/ssf/streams");
  EXPECT_TRUE(IsProblem(anon, 401, "unauthenticated"));
  EXPECT_TRUE(RefusalAudited(admin(), anon, "unauthenticated", "ssf.stream.read"));

  // The owner polls its own stream; admins see every stream.
  ASSERT_EQ(one.post("/ssf/verify", {{"stream_id", id}}).status, 204);
  Response r = one.post("/ssf/poll/" + id, json::object());
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["sets"].size(), 1u);
  EXPECT_EQ(verify_set(r.json()["sets"].begin().value())["aud"], rp1);
  Response all = admin().get("/ssf/streams");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.json().size(), 1u);

  // PATCH changes what is given, PUT replaces, DELETE removes.
  Response patched = one.patch("/ssf/streams", {{"stream_id", id}, {"description", "mine"}});
  ASSERT_EQ(patched.status, 200) << patched.describe();
  EXPECT_EQ(patched.json()["description"], "mine");
  EXPECT_EQ(patched.json()["events_delivered"], json({kSessionRevoked}));
  Response put = one.request("PUT", "/ssf/streams", json{{"stream_id", id}});
  ASSERT_EQ(put.status, 200) << put.describe();
  EXPECT_EQ(put.json()["description"], "");
  EXPECT_EQ(put.json()["events_delivered"], json::array());
  EXPECT_TRUE(IsProblem(two.del("/ssf/streams?stream_id=" + id), 404, "not_found"));
  EXPECT_EQ(one.del("/ssf/streams?stream_id=" + id).status, 204);
  EXPECT_TRUE(IsProblem(one.get("/ssf/streams?stream_id=" + id), 404, "not_found"));
  EXPECT_FALSE(audit_events(admin(), "action=ssf.stream.delete&target=" + id).empty());
}

TEST_F(SsfTest, PushDeliversSignedSetsToTheReceiver) {
  Receiver receiver;
  json stream = create_stream({{"delivery",
                                {{"method", kPush},
                                 {"endpoint_url", receiver.url()},
                                 {"authorization_header", "Bearer receiver-secret"}}},
                               {"events_requested", {kSessionRevoked}}});
  std::string id = stream["stream_id"];
  EXPECT_EQ(stream["delivery"]["endpoint_url"], receiver.url());
  EXPECT_FALSE(stream["delivery"].contains("authorization_header"));

  ASSERT_EQ(admin().post("/ssf/verify", {{"stream_id", id}, {"state", "push-1"}}).status, 204);
  ASSERT_TRUE(receiver.wait_for(1));
  auto got = receiver.received();
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/events");
  EXPECT_EQ(got[0].header("Content-Type"), "application/secevent+jwt");
  EXPECT_EQ(got[0].header("Authorization"), "Bearer receiver-secret");
  json claims = verify_set(got[0].body);
  EXPECT_EQ(claims["events"][kVerification]["state"], "push-1");
  EXPECT_EQ(claims["aud"], stream["aud"]);

  // A 400 with an RFC 8935 error settles the SET as failed: no retry, audited.
  receiver.script(400, R"({"err":"invalid_key","description":"unknown kid"})");
  ASSERT_EQ(admin().post("/ssf/verify", {{"stream_id", id}, {"state", "refused"}}).status, 204);
  ASSERT_TRUE(receiver.wait_for(2));
  std::this_thread::sleep_for(Millis(800));  // several retry periods (100-200 ms)
  EXPECT_EQ(receiver.received().size(), 2u);
  auto failed = audit_events(admin(), "action=ssf.set.failed&target=" + id);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0]["details"].value("error", "").find("invalid_key"), std::string::npos);

  // A 5xx is retried until accepted.
  receiver.script(503);
  ASSERT_EQ(admin().post("/ssf/verify", {{"stream_id", id}, {"state", "retried"}}).status, 204);
  ASSERT_TRUE(receiver.wait_for(4));
  got = receiver.received();
  EXPECT_EQ(verify_set(got[2].body)["jti"], verify_set(got[3].body)["jti"]);
  EXPECT_EQ(verify_set(got[3].body)["events"][kVerification]["state"], "retried");
}

TEST_F(SsfTest, ReceiverDownIsRetriedInOrder) {
  auto receiver = std::make_unique<Receiver>();
  std::uint16_t port = receiver->port();
  std::string url = receiver->url();
  receiver->stop();  // down: connections are refused

  json stream = create_stream({{"delivery", {{"method", kPush}, {"endpoint_url", url}}}});
  std::string id = stream["stream_id"];
  for (const char* state : {"first", "second", "third"})
    ASSERT_EQ(admin().post("/ssf/verify", {{"stream_id", id}, {"state", state}}).status, 204);
  std::this_thread::sleep_for(Millis(500));  // a few failed attempts

  receiver = std::make_unique<Receiver>(port);
  ASSERT_TRUE(receiver->wait_for(3));
  auto got = receiver->received();
  std::vector<std::string> states;
  for (const auto& r : got)
    states.push_back(verify_set(r.body)["events"][kVerification]["state"].get<std::string>());
  EXPECT_EQ(states, (std::vector<std::string>{"first", "second", "third"}));
}

TEST_F(SsfTest, PushOverHttpsVerifiesTheReceiver) {
  char tmpl[] = "/tmp/custody-ssf-tls-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::filesystem::path dir = tmpl;
  ASSERT_TRUE(write_self_signed(dir));
  // custodyd trusts exactly the receiver's certificate (OpenSSL's SSL_CERT_FILE). The harness
  // passes this process's environment first, and getenv takes the first entry, so the variable
  // is replaced here for the launch rather than added.
  const char* before = std::getenv("SSL_CERT_FILE");
  std::optional<std::string> saved = before ? std::optional<std::string>(before) : std::nullopt;
  ::setenv("SSL_CERT_FILE", (dir / "tls.crt").c_str(), 1);
  start({});
  if (saved) {
    ::setenv("SSL_CERT_FILE", saved->c_str(), 1);
  } else {
    ::unsetenv("SSL_CERT_FILE");
  }
  if (IsSkipped() || HasFatalFailure()) return;
  TlsReceiver receiver(dir);
  json stream =
      create_stream({{"delivery", {{"method", kPush}, {"endpoint_url", receiver.url()}}}});
  std::string id = stream["stream_id"];
  ASSERT_EQ(admin().post("/ssf/verify", {{"stream_id", id}, {"state", "tls"}}).status, 204);
  ASSERT_TRUE(receiver.wait_for(1))
      << server_->logs().substr(server_->logs().size() > 2000 ? server_->logs().size() - 2000 : 0);
  EXPECT_EQ(verify_set(receiver.bodies()[0])["events"][kVerification]["state"], "tls");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace custody::apitest
