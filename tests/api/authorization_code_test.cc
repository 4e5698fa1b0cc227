// OAuth 2.1 authorization code with PKCE against a real custodyd (docs/oauth.md, "Authorization
// code with PKCE"): the consent page, the human's approval with an owner-role token, the code
// redeemed at the token endpoint (sub = the human, act = the client), and every refusal with its
// reason: those shown as a page (never redirected to an unvalidated URI), those redirected to the
// client, those of the token endpoint, each audited.
#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <regex>

#include "common/encoding.h"
#include "common/random.h"
#include "crypto/keyed_hash.h"
#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kRedirect = "http://127.0.0.1:9/callback";
constexpr std::string_view kResource = "https://mcp.example.com/mcp";

struct Pkce {
  std::string verifier, challenge;
};

Pkce new_pkce() {
  std::string verifier = base64url_encode(random_bytes(32));
  return {verifier, base64url_encode(crypto::sha256(verifier))};
}

void set(Params& p, const std::string& key, const std::string& value) {
  for (auto& [k, v] : p)
    if (k == key) {
      v = value;
      return;
    }
  p.emplace_back(key, value);
}

void drop(Params& p, const std::string& key) {
  std::erase_if(p, [&](const auto& kv) { return kv.first == key; });
}

std::string html_unescape(std::string s) {
  const std::pair<std::string, std::string> entities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities)
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  return s;
}

// The hidden fields of the consent form, in order.
Params hidden_fields(const std::string& html) {
  Params out;
  std::regex input(R"re(<input type="hidden" name="([^"]*)" value="([^"]*)">)re");
  for (std::sregex_iterator it(html.begin(), html.end(), input), end; it != end; ++it)
    out.emplace_back(html_unescape((*it)[1]), html_unescape((*it)[2]));
  return out;
}

// The query parameters of a redirect's Location.
std::map<std::string, std::string> query_of(const std::string& location) {
  std::map<std::string, std::string> out;
  auto q = location.find('?');
  if (q == std::string::npos) return out;
  std::string rest = location.substr(q + 1);
  for (std::size_t start = 0; start <= rest.size();) {
    auto amp = rest.find('&', start);
    std::string pair =
        rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    auto eq = pair.find('=');
    if (eq != std::string::npos)
      out[*form_decode(pair.substr(0, eq))] = form_decode(pair.substr(eq + 1)).value_or("?");
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

class AuthorizationCodeTest : public OAuthFixture {
 protected:
  void SetUp() override {
    OAuthFixture::SetUp();
    if (IsSkipped()) return;
    human_ = create_human(admin(), "Ada Lovelace")["id"].get<std::string>();
    human_token_ = token_for(human_);
    entitle_identity(human_, "tools:read", std::string(kResource));
    entitle_identity(human_, "tools:call", std::string(kResource));
  }

  // A client registered for the code flow (label custody.dev/redirect-uris).
  Agent code_client(const std::string& name,
                    const std::string& redirect_uris = std::string(kRedirect),
                    bool is_public = false) {
    json body = owned_body("agent", owner_, name);
    body["labels"] = {{"custody.dev/redirect-uris", redirect_uris}};
    if (is_public) body["labels"]["custody.dev/public-client"] = "true";
    return activated_with_secret(create_identity(admin(), body)["id"].get<std::string>());
  }
  std::string token_for(const std::string& human, const std::string& role = "owner") {
    json body = {{"role", role}, {"description", "authorization code test"}};
    if (!human.empty()) body["identity_id"] = human;
    Response r = admin().post("/api/v1/tokens", body);
    EXPECT_EQ(r.status, 201) << r.describe();
    return r.json().value("token", "");
  }
  void entitle_identity(const std::string& id, const std::string& scope,
                        const std::string& resource) {
    Response r = admin().post("/api/v1/identities/" + id + "/entitlements",
                              json{{"scope", scope},
                                   {"resource", resource},
                                   {"justification", "authorization code test"}});
    EXPECT_EQ(r.status, 201) << r.describe();
  }

  Params request_params(const Agent& c, const Pkce& p) {
    return {{"response_type", "code"},
            {"client_id", c.id},
            {"redirect_uri", std::string(kRedirect)},
            {"code_challenge", p.challenge},
            {"code_challenge_method", "S256"},
            {"scope", "tools:read"},
            {"state", "st-" + random_hex(4)},
            {"resource", std::string(kResource)}};
  }
  Response get_page(const Params& p) {
    Client c(server().port());
    return c.get("/oauth2/authorize?" + form(p));
  }
  Response post_consent(const Params& p) {
    Client c(server().port());
    return c.request_raw("POST", "/oauth2/authorize", form(p),
                         {{"Content-Type", "application/x-www-form-urlencoded"}});
  }
  // The consent page's form, answered with `decision` and `token`.
  Response answer(const Response& page, const std::string& token,
                  const std::string& decision = "approve") {
    Params p = hidden_fields(page.body);
    EXPECT_FALSE(p.empty()) << page.describe();
    if (!token.empty()) p.emplace_back("token", token);
    p.emplace_back("decision", decision);
    return post_consent(p);
  }
  // GET, approve with the human's owner token, and the code from the redirect.
  std::string obtain_code(const Params& p) {
    Response page = get_page(p);
    EXPECT_EQ(page.status, 200) << page.describe();
    Response done = answer(page, human_token_);
    EXPECT_EQ(done.status, 303) << done.describe();
    auto q = query_of(done.header("Location"));
    EXPECT_TRUE(q.count("code")) << done.header("Location");
    return q["code"];
  }
  Response redeem(const Agent& c, const std::string& code, const std::string& verifier,
                  const std::string& redirect = std::string(kRedirect)) {
    return post_form("/oauth2/token", c,
                     {{"grant_type", "authorization_code"},
                      {"code", code},
                      {"redirect_uri", redirect},
                      {"code_verifier", verifier}});
  }

  // A refusal shown as a page: no redirect anywhere, the reason on the page, audited.
  ::testing::AssertionResult ShownRefusal(const Response& r, std::string_view error,
                                          std::string_view reason) {
    if (r.status != 400 || r.has_header("Location"))
      return ::testing::AssertionFailure() << "expected a 400 page, got " << r.describe();
    if (r.body.find(std::string(error)) == std::string::npos ||
        r.body.find(std::string(reason)) == std::string::npos)
      return ::testing::AssertionFailure()
             << "page lacks " << error << "/" << reason << ": " << r.body;
    if (r.header("X-Frame-Options") != "DENY" || r.header("Cache-Control") != "no-store")
      return ::testing::AssertionFailure() << "page lacks its security headers";
    if (!find_audit_event(admin(), r, error, "oauth.authorize"))
      return ::testing::AssertionFailure() << "refusal not audited";
    return ::testing::AssertionSuccess();
  }
  // A refusal redirected to the client: error, description, state and iss, audited.
  ::testing::AssertionResult RedirectedRefusal(const Response& r, const Params& sent,
                                               std::string_view error, std::string_view reason) {
    if (r.status != 303)
      return ::testing::AssertionFailure() << "expected 303, got " << r.describe();
    std::string location = r.header("Location");
    if (location.rfind(std::string(kRedirect) + "?", 0) != 0)
      return ::testing::AssertionFailure() << "redirected elsewhere: " << location;
    auto q = query_of(location);
    if (q["error"] != error || q["error_description"].find(reason) == std::string::npos)
      return ::testing::AssertionFailure() << "wrong error in " << location;
    if (q.count("code")) return ::testing::AssertionFailure() << "a code with an error";
    std::string state;
    for (const auto& [k, v] : sent)
      if (k == "state") state = v;
    if (q["state"] != state || q["iss"] != server().url())
      return ::testing::AssertionFailure() << "state or iss missing: " << location;
    if (!find_audit_event(admin(), r, error, "oauth.authorize"))
      return ::testing::AssertionFailure() << "refusal not audited";
    return ::testing::AssertionSuccess();
  }
  // The consent page again, with the sign-in refusal's reason, audited.
  ::testing::AssertionResult SignInRefused(const Response& r, int status, std::string_view outcome,
                                           std::string_view reason) {
    if (r.status != status || r.has_header("Location"))
      return ::testing::AssertionFailure() << "expected " << status << ", got " << r.describe();
    if (r.body.find(std::string(reason)) == std::string::npos ||
        r.body.find("name=\"binding\"") == std::string::npos)
      return ::testing::AssertionFailure() << "not the consent page with the reason: " << r.body;
    if (!find_audit_event(admin(), r, outcome, "oauth.authorize"))
      return ::testing::AssertionFailure() << "refusal not audited";
    return ::testing::AssertionSuccess();
  }

  std::string human_, human_token_;
};

TEST_F(AuthorizationCodeTest, MetadataAdvertisesTheCodeFlowWithS256) {
  Client anonymous(server().port());
  for (std::string path :
       {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}) {
    json m = anonymous.get(path).json();
    EXPECT_EQ(m["authorization_endpoint"], server().url() + "/oauth2/authorize");
    EXPECT_EQ(m["response_types_supported"], json({"code"}));
    EXPECT_EQ(m["code_challenge_methods_supported"], json({"S256"}));
    EXPECT_EQ(m["authorization_response_iss_parameter_supported"], true);
    auto grants = m["grant_types_supported"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(grants.begin(), grants.end(), "authorization_code"), grants.end());
  }
}

TEST_F(AuthorizationCodeTest, HumanApprovesAndTheClientActsForTheHuman) {
  Agent c = code_client("Claude <Desktop> & \"friends\"");
  Pkce pkce = new_pkce();
  Params p = request_params(c, pkce);
  Response page = get_page(p);
  ASSERT_EQ(page.status, 200) << page.describe();
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(
      page.header("Content-Security-Policy").rfind("default-src 'none'; form-action 'self'", 0), 0u)
      << page.header("Content-Security-Policy");
  EXPECT_NE(page.header("Content-Security-Policy").find("http://127.0.0.1:9"), std::string::npos);
  EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(page.header("Cache-Control"), "no-store");
  // The client's chosen name is escaped, never markup.
  EXPECT_EQ(page.body.find("<Desktop>"), std::string::npos);
  EXPECT_NE(page.body.find("Claude &lt;Desktop&gt; &amp; &quot;friends&quot;"), std::string::npos);
  EXPECT_NE(page.body.find("tools:read"), std::string::npos);
  EXPECT_NE(page.body.find(std::string(kResource)), std::string::npos);

  Response done = answer(page, human_token_);
  ASSERT_EQ(done.status, 303) << done.describe();
  std::string location = done.header("Location");
  ASSERT_EQ(location.rfind(std::string(kRedirect) + "?code=", 0), 0u) << location;
  auto q = query_of(location);
  EXPECT_EQ(q["code"].size(), 43u);
  EXPECT_EQ(q["state"], p[6].second);
  EXPECT_EQ(q["iss"], server().url());
  auto approved = find_audit_event(admin(), done, "success", "oauth.authorize");
  ASSERT_TRUE(approved);
  EXPECT_EQ((*approved)["actor"], human_);
  EXPECT_EQ((*approved)["target"], c.id);
  EXPECT_EQ((*approved)["details"]["scope"], "tools:read");
  EXPECT_EQ(approved->dump().find(q["code"]), std::string::npos) << "the code was audited";

  Response token = redeem(c, q["code"], pkce.verifier);
  ASSERT_EQ(token.status, 200) << token.describe();
  EXPECT_EQ(token.header("Cache-Control"), "no-store");
  EXPECT_EQ(token.json()["token_type"], "Bearer");
  EXPECT_EQ(token.json()["scope"], "tools:read");
  EXPECT_FALSE(token.json().contains("refresh_token"));
  json claims = claims_of(token_of(token));
  EXPECT_EQ(claims["sub"], human_);
  EXPECT_EQ(claims["client_id"], c.id);
  EXPECT_EQ(claims["act"], json({{"sub", c.id}}));
  EXPECT_EQ(claims["aud"], std::string(kResource));
  EXPECT_EQ(claims["scope"], "tools:read");
  EXPECT_EQ(claims["custody"]["depth"], 1);
  Response record = admin().get("/api/v1/delegations/" + claims["jti"].get<std::string>());
  ASSERT_EQ(record.status, 200) << record.describe();
  EXPECT_EQ(record.json()["grant_type"], "authorization_code");
  EXPECT_EQ(record.json()["subject"], human_);
  EXPECT_EQ(record.json()["actor"], c.id);
  auto issued =
      audit_events(admin(), "target=" + claims["jti"].get<std::string>() + "&action=oauth.token");
  ASSERT_EQ(issued.size(), 1u);
  EXPECT_EQ(issued[0]["details"]["approved_by"], human_);

  // The resource server's view: an active token for the human, acted on by the client.
  Response seen = post_form("/oauth2/introspect", c, {{"token", token_of(token)}});
  EXPECT_EQ(seen.json()["active"], true) << seen.describe();
  EXPECT_EQ(seen.json()["sub"], human_);
}

TEST_F(AuthorizationCodeTest, WithoutScopeOrResourceTheHumansEntitlementsDecide) {
  Agent c = code_client("defaults");
  Pkce pkce = new_pkce();
  Params p = request_params(c, pkce);
  drop(p, "scope");
  drop(p, "resource");
  std::string code = obtain_code(p);
  Response token = redeem(c, code, pkce.verifier);
  ASSERT_EQ(token.status, 200) << token.describe();
  json claims = claims_of(token_of(token));
  EXPECT_EQ(claims["aud"], std::string(kResource));
  EXPECT_EQ(claims["scope"], "tools:call tools:read");
}

TEST_F(AuthorizationCodeTest, PublicClientRedeemsWithItsIdAloneConfidentialOnesCannot) {
  Agent pub = code_client("public", std::string(kRedirect), true);
  Pkce pkce = new_pkce();
  std::string code = obtain_code(request_params(pub, pkce));
  Client plain(server().port());
  auto redeem_public = [&](const Agent& c, const std::string& code_value) {
    return plain.request_raw("POST", "/oauth2/token",
                             form({{"grant_type", "authorization_code"},
                                   {"client_id", c.id},
                                   {"code", code_value},
                                   {"redirect_uri", std::string(kRedirect)},
                                   {"code_verifier", pkce.verifier}}),
                             {{"Content-Type", "application/x-www-form-urlencoded"}});
  };
  Response token = redeem_public(pub, code);
  ASSERT_EQ(token.status, 200) << token.describe();
  EXPECT_EQ(claims_of(token_of(token))["client_id"], pub.id);

  Agent confidential = code_client("confidential");
  std::string code2 = obtain_code(request_params(confidential, pkce));
  EXPECT_TRUE(
      Refused(redeem_public(confidential, code2), 401, "invalid_client", "", "must authenticate"));
}

// Refusals before the redirect URI is validated: a page, never a redirect.
TEST_F(AuthorizationCodeTest, BadOrMissingRedirectUriIsShownNeverRedirected) {
  Agent c = code_client("redirects");
  Pkce pkce = new_pkce();
  Params p = request_params(c, pkce);
  drop(p, "redirect_uri");
  EXPECT_TRUE(ShownRefusal(get_page(p), "invalid_request", "redirect_uri is required"));
  set(p, "redirect_uri", "https://attacker.example/cb");
  EXPECT_TRUE(ShownRefusal(get_page(p), "invalid_request", "not registered"));
  // Near misses do not match: exact comparison only.
  set(p, "redirect_uri", std::string(kRedirect) + "/");
  EXPECT_TRUE(ShownRefusal(get_page(p), "invalid_request", "not registered"));
  set(p, "redirect_uri", std::string(kRedirect) + "?x=1");
  EXPECT_TRUE(ShownRefusal(get_page(p), "invalid_request", "not registered"));
  // Unknown client, and a client without registered redirect URIs.
  Params unknown = request_params(Agent{"agt_01JUNKNOWN0000000000000000", ""}, pkce);
  EXPECT_TRUE(ShownRefusal(get_page(unknown), "invalid_request", "not registered"));
  Agent plain = agent("no-redirects");
  EXPECT_TRUE(ShownRefusal(get_page(request_params(plain, pkce)), "unauthorized_client",
                           "no registered redirect URI"));
}

TEST_F(AuthorizationCodeTest, RegisteredRedirectUrisMustBeHttpsOrLoopback) {
  Pkce pkce = new_pkce();
  for (std::string bad : {"http://example.com/cb", "https://app.example/cb#frag",
                          "ftp://127.0.0.1/cb", "http://127.0.0.2/cb"}) {
    Agent c = code_client("bad-redirect", bad);
    Params p = request_params(c, pkce);
    set(p, "redirect_uri", bad);
    EXPECT_TRUE(ShownRefusal(get_page(p), "unauthorized_client", "cannot use the authorization"))
        << bad;
  }
  for (std::string good : {"https://app.example/cb?tenant=1", "http://localhost:8765/callback",
                           "http://[::1]:8765/cb"}) {
    Agent c = code_client("good-redirect", good);
    Params p = request_params(c, pkce);
    set(p, "redirect_uri", good);
    EXPECT_EQ(get_page(p).status, 200) << good;
  }
}

TEST_F(AuthorizationCodeTest, PkceIsRequiredAndOnlyS256) {
  Agent c = code_client("pkce");
  Pkce pkce = new_pkce();
  Params p = request_params(c, pkce);
  drop(p, "code_challenge");
  drop(p, "code_challenge_method");
  EXPECT_TRUE(RedirectedRefusal(get_page(p), p, "invalid_request", "code_challenge is required"));
  p = request_params(c, pkce);
  drop(p, "code_challenge_method");
  EXPECT_TRUE(RedirectedRefusal(get_page(p), p, "invalid_request", "S256 is required"));
  p = request_params(c, pkce);
  set(p, "code_challenge_method", "plain");
  set(p, "code_challenge", pkce.verifier);
  EXPECT_TRUE(RedirectedRefusal(get_page(p), p, "invalid_request", "plain is refused"));
  p = request_params(c, pkce);
  set(p, "response_type", "token");
  EXPECT_TRUE(RedirectedRefusal(get_page(p), p, "unsupported_response_type", "code"));
}

TEST_F(AuthorizationCodeTest, WrongVerifierIsInvalidGrant) {
  Agent c = code_client("verifier");
  Pkce pkce = new_pkce();
  std::string code = obtain_code(request_params(c, pkce));
  EXPECT_TRUE(Refused(redeem(c, code, new_pkce().verifier), 400, "invalid_grant", "",
                      "code_verifier does not match"));
  EXPECT_TRUE(Refused(redeem(c, code, "short"), 400, "invalid_request", "", "43 to 128"));
  // The code survives failed attempts by its client: the right verifier still redeems it.
  EXPECT_EQ(redeem(c, code, pkce.verifier).status, 200);
}

TEST_F(AuthorizationCodeTest, ReplayedCodeIsRefusedAndRevokesItsToken) {
  Agent c = code_client("replay");
  Pkce pkce = new_pkce();
  std::string code = obtain_code(request_params(c, pkce));
  Response first = redeem(c, code, pkce.verifier);
  ASSERT_EQ(first.status, 200) << first.describe();
  std::string jti = claims_of(token_of(first))["jti"];
  Response again = redeem(c, code, pkce.verifier);
  EXPECT_TRUE(Refused(again, 400, "invalid_grant", "code_reuse", "already used"));
  Response record = admin().get("/api/v1/delegations/" + jti);
  EXPECT_EQ(record.json()["revoked"], true) << record.describe();
  Response seen = post_form("/oauth2/introspect", c, {{"token", token_of(first)}});
  EXPECT_EQ(seen.json()["active"], false);
}

TEST_F(AuthorizationCodeTest, ExpiredCodeIsInvalidGrant) {
  Agent c = code_client("expired");
  Pkce pkce = new_pkce();
  std::string code = obtain_code(request_params(c, pkce));
  // 60 s is the code's lifetime; move its expiry into the past instead of waiting.
  ASSERT_EQ(run_sql(server(), "UPDATE authorization_codes SET expires_at = 1 WHERE client_id = '" +
                                  c.id + "'"),
            "");
  EXPECT_TRUE(Refused(redeem(c, code, pkce.verifier), 400, "invalid_grant", "", "expired"));
}

TEST_F(AuthorizationCodeTest, AnotherClientsCodeAndAnotherRedirectUriAreRefused) {
  Agent c = code_client("owner-of-code");
  Agent other = code_client("thief");
  Pkce pkce = new_pkce();
  std::string code = obtain_code(request_params(c, pkce));
  EXPECT_TRUE(Refused(redeem(other, code, pkce.verifier), 400, "invalid_grant", "",
                      "issued to another client"));
  EXPECT_TRUE(Refused(redeem(c, code, pkce.verifier, "http://127.0.0.1:9/other"), 400,
                      "invalid_grant", "", "redirect_uri differs"));
  EXPECT_TRUE(
      Refused(redeem(c, "not-a-code", pkce.verifier), 400, "invalid_grant", "", "not valid"));
}

TEST_F(AuthorizationCodeTest, TamperedFormBindingIsRefused) {
  Agent c = code_client("tamper");
  Pkce pkce = new_pkce();
  Response page = get_page(request_params(c, pkce));
  ASSERT_EQ(page.status, 200);
  Params fields = hidden_fields(page.body);
  Params wider = fields;
  set(wider, "scope", "tools:read tools:call");
  wider.emplace_back("token", human_token_);
  wider.emplace_back("decision", "approve");
  EXPECT_TRUE(ShownRefusal(post_consent(wider), "invalid_request", "binding does not verify"));
  Params elsewhere = fields;
  set(elsewhere, "redirect_uri", "https://attacker.example/cb");
  elsewhere.emplace_back("token", human_token_);
  elsewhere.emplace_back("decision", "approve");
  EXPECT_TRUE(ShownRefusal(post_consent(elsewhere), "invalid_request", "binding does not verify"));
  Params later = fields;
  set(later, "expires", std::to_string(std::time(nullptr) + 86400));
  later.emplace_back("token", human_token_);
  later.emplace_back("decision", "approve");
  EXPECT_TRUE(ShownRefusal(post_consent(later), "invalid_request", "binding does not verify"));
}

TEST_F(AuthorizationCodeTest, OnlyAnOwnerTokenOfAnActiveHumanApproves) {
  Agent c = code_client("sign-in");
  Pkce pkce = new_pkce();
  Response page = get_page(request_params(c, pkce));
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(SignInRefused(answer(page, server().admin_token()), 403, "permission_denied",
                            "an admin token acts for no human"));
  EXPECT_TRUE(SignInRefused(answer(page, token_for("", "auditor")), 403, "permission_denied",
                            "an auditor token is read-only"));
  EXPECT_TRUE(SignInRefused(answer(page, "cst_not-a-token"), 401, "unauthenticated",
                            "the token is not valid"));
  EXPECT_TRUE(SignInRefused(answer(page, ""), 401, "unauthenticated", "sign in"));

  std::string suspended = create_human(admin(), "Suspended")["id"].get<std::string>();
  entitle_identity(suspended, "tools:read", std::string(kResource));
  std::string suspended_token = token_for(suspended);
  ASSERT_EQ(admin().post("/api/v1/identities/" + suspended + "/suspend", json::object()).status,
            200);
  EXPECT_TRUE(SignInRefused(answer(page, suspended_token), 401, "unauthenticated",
                            "its human is not active"));
}

TEST_F(AuthorizationCodeTest, ScopeNotCoveredByTheHumansEntitlementsIsRedirected) {
  Agent c = code_client("coverage");
  Pkce pkce = new_pkce();
  Params p = request_params(c, pkce);
  set(p, "scope", "tools:admin");
  Response page = get_page(p);
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(RedirectedRefusal(answer(page, human_token_), p, "invalid_scope",
                                "not entitled to scope 'tools:admin'"));
  p = request_params(c, pkce);
  set(p, "resource", "https://other.example.com/mcp");
  page = get_page(p);
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(RedirectedRefusal(answer(page, human_token_), p, "invalid_scope", "not entitled"));
}

TEST_F(AuthorizationCodeTest, DenyRedirectsAccessDenied) {
  Agent c = code_client("deny");
  Pkce pkce = new_pkce();
  Params p = request_params(c, pkce);
  Response page = get_page(p);
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(RedirectedRefusal(answer(page, "", "deny"), p, "access_denied", "denied"));
}

TEST_F(AuthorizationCodeTest, WithdrawingTheHumansAuthorityRevokesTheToken) {
  Agent c = code_client("continuous");
  Pkce pkce = new_pkce();
  Response token = redeem(c, obtain_code(request_params(c, pkce)), pkce.verifier);
  ASSERT_EQ(token.status, 200) << token.describe();
  Response ents = admin().get("/api/v1/identities/" + human_ + "/entitlements?active=true");
  std::string read_id;
  // json() is a temporary: keep it alive for the loop.
  const json listed = ents.json();
  for (const auto& e : listed["items"])
    if (e["scope"] == "tools:read") read_id = e["id"];
  ASSERT_FALSE(read_id.empty()) << ents.describe();
  ASSERT_EQ(admin().del("/api/v1/entitlements/" + read_id).status, 200);
  Response seen = post_form("/oauth2/introspect", c, {{"token", token_of(token)}});
  EXPECT_EQ(seen.json()["active"], false) << seen.describe();

  // And a code approved before the entitlement went is worth nothing after.
  entitle_identity(human_, "tools:read", std::string(kResource));
  std::string code = obtain_code(request_params(c, pkce));
  Response again = admin().get("/api/v1/identities/" + human_ + "/entitlements?active=true");
  const json relisted = again.json();
  for (const auto& e : relisted["items"]) {
    if (e["scope"] == "tools:read") {
      ASSERT_EQ(admin().del("/api/v1/entitlements/" + e["id"].get<std::string>()).status, 200);
    }
  }
  EXPECT_TRUE(Refused(redeem(c, code, pkce.verifier), 400, "invalid_scope", "entitlement",
                      "no longer cover"));
}

TEST_F(AuthorizationCodeTest, SuspendedClientGetsNoPage) {
  Agent c = code_client("suspended-client");
  ASSERT_EQ(admin().post("/api/v1/identities/" + c.id + "/suspend", json::object()).status, 200);
  EXPECT_TRUE(
      ShownRefusal(get_page(request_params(c, new_pkce())), "unauthorized_client", "suspended"));
}

}  // namespace
}  // namespace custody::apitest
