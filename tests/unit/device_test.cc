// The pure parts of device trust (src/device): workload selectors and their matching, the strict
// reading of posture reports into Cedar attributes, and enrolment proofs.
#include <gtest/gtest.h>

#include "crypto/jws.h"
#include "device/device_jwt.h"
#include "device/trust.h"
#include "device/workloads.h"

namespace custody::device {
namespace {

ProcessEvidence python_agent() {
  ProcessEvidence e;
  e.pid = 4242;
  e.uid = 1000;
  e.gid = 100;
  e.exe_path = "/usr/bin/python3.11";
  e.exe_sha256 = std::string(64, 'c');
  e.cmdline = {"python3", "-m", "triage.main"};
  e.cgroups = {"/user.slice/user-1000.slice/user@1000.service/app.slice/triage.service"};
  return e;
}

TEST(Selectors, ParseEveryKindAndRefuseMalformedOnes) {
  for (const char* ok :
       {"uid:0", "gid:4294967295", "exe_path:/usr/bin/python3",
        "exe_sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "cgroup:/user.slice", "cmdline_arg:--serve"})
    EXPECT_TRUE(parse_selector(ok).ok()) << ok;
  struct Bad {
    const char* text;
    const char* why;
  };
  for (const auto& [text, why] : std::vector<Bad>{{"uid", "expected kind:value"},
                                                  {"uid:", "1..4096 bytes"},
                                                  {"uid:-1", "non-negative number"},
                                                  {"uid:1x", "non-negative number"},
                                                  {"uid:4294967296", "non-negative number"},
                                                  {"exe_path:python3", "absolute path"},
                                                  {"exe_sha256:ABCD", "64 lowercase hex"},
                                                  {"cgroup:user.slice", "starting with /"},
                                                  {"pid:1", "unknown kind"}}) {
    auto s = parse_selector(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().field, "selectors");
  }
}

TEST(Selectors, AllMustMatch) {
  auto e = python_agent();
  auto sel = [](const char* t) { return parse_selector(t).value(); };
  EXPECT_TRUE(matches(sel("uid:1000"), e));
  EXPECT_FALSE(matches(sel("uid:0"), e));
  EXPECT_TRUE(matches(sel("gid:100"), e));
  EXPECT_TRUE(matches(sel("exe_path:/usr/bin/python3.11"), e));
  EXPECT_FALSE(matches(sel("exe_path:/usr/bin/python3"), e));
  EXPECT_TRUE(matches(sel("cgroup:/user.slice/user-1000.slice"), e));
  EXPECT_FALSE(matches(sel("cgroup:/system.slice"), e));
  EXPECT_TRUE(matches(sel("cmdline_arg:triage.main"), e));
  EXPECT_FALSE(matches(sel("cmdline_arg:triage"), e));  // whole arguments only
  std::vector<Selector> all = {sel("uid:1000"), sel("cmdline_arg:triage.main")};
  EXPECT_FALSE(first_mismatch(all, e).has_value());
  all.push_back(sel(("exe_sha256:" + std::string(64, 'd')).c_str()));
  auto miss = first_mismatch(all, e);
  ASSERT_TRUE(miss.has_value());
  EXPECT_EQ(miss->kind, "exe_sha256");
  // No selectors never match: a binding must say who it is for.
  EXPECT_TRUE(first_mismatch({}, e).has_value());
}

TEST(Selectors, EvidenceIsReadStrictly) {
  nlohmann::json j = to_json(python_agent());
  auto back = evidence_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->cmdline, python_agent().cmdline);
  j["uid"] = "1000";
  EXPECT_FALSE(evidence_from_json(j).ok());
  j = to_json(python_agent());
  j["cmdline"] = nlohmann::json::array({1});
  EXPECT_FALSE(evidence_from_json(j).ok());
  EXPECT_FALSE(evidence_from_json(nlohmann::json::array()).ok());
}

nlohmann::json report() {
  return {{"collected_at", 1700000000},
          {"os",
           {{"known", true},
            {"id", "ubuntu"},
            {"version_id", "22.04"},
            {"name", "Ubuntu"},
            {"pretty_name", "Ubuntu 22.04.3 LTS"}}},
          {"kernel", {{"known", true}, {"release", "6.5.0-14-generic"}}},
          {"updates", {{"known", false}, {"manager", ""}, {"pending", 0}, {"pending_security", 0}}},
          {"disk_encryption", {{"known", true}, {"root_encrypted", true}, {"method", "luks2"}}},
          {"firewall", {{"known", true}, {"active", true}, {"backend", "nftables"}, {"rules", 3}}},
          {"secure_boot", {{"known", false}, {"enabled", false}}},
          {"screen_lock", {{"known", false}, {"enabled", false}}},
          {"mdm", {{"known", true}, {"enrolled", false}, {"vendor", ""}}},
          {"agent", {{"version", "1.12.3"}}},
          {"ai_components", {{"known", true}, {"count", 2}}},
          {"a_future_section", {{"anything", 1}}}};
}

TEST(PostureAttributes, VersionsBecomeNumbersAndUnknownSectionsAreIgnored) {
  auto a = posture_attributes(report());
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->collected_at, 1700000000LL * kMicrosPerSecond);
  EXPECT_EQ(a->attributes["os"]["version_major"], 22);
  EXPECT_EQ(a->attributes["os"]["version_minor"], 4);
  EXPECT_EQ(a->attributes["kernel"]["major"], 6);
  EXPECT_EQ(a->attributes["kernel"]["minor"], 5);
  EXPECT_EQ(a->attributes["agent"]["version_major"], 1);
  EXPECT_EQ(a->attributes["agent"]["version_minor"], 12);
  EXPECT_FALSE(a->attributes.contains("a_future_section"));
}

TEST(PostureAttributes, AWrongShapeIsRefusedNamingTheField) {
  auto check = [](nlohmann::json r, const std::string& field) {
    auto a = posture_attributes(r);
    ASSERT_FALSE(a.ok()) << field;
    EXPECT_EQ(a.error().field, field) << a.error().message;
  };
  auto r = report();
  r["firewall"]["active"] = "yes";
  check(r, "posture.firewall.active");
  r = report();
  r.erase("disk_encryption");
  check(r, "posture.disk_encryption");
  r = report();
  r["updates"]["pending"] = -1;
  check(r, "posture.updates.pending");
  r = report();
  r["collected_at"] = "yesterday";
  check(r, "posture.collected_at");
  check(nlohmann::json::array(), "posture");
}

TEST(EnrolmentProof, PossessionOfTheKeyInTheHeader) {
  auto key = crypto::Jwk::generate(crypto::KeyType::kEcP256).value();
  auto other = crypto::Jwk::generate(crypto::KeyType::kEcP256).value();
  DeviceJwtPolicy policy;
  policy.audience = "https://custody.example";
  Micros now = 1700000000LL * kMicrosPerSecond;
  nlohmann::json claims = {{"aud", policy.audience},      {"iat", 1700000000},
                           {"exp", 1700000060},           {"jti", "j1"},
                           {"enrolment_token", "cdet_x"}, {"hostname", "h"},
                           {"platform", "linux-x86_64"}};
  auto sign = [&](const crypto::Jwk& signer, nlohmann::json header, const nlohmann::json& c) {
    return crypto::jws_sign(header, c.dump(), signer).value();
  };
  nlohmann::json header = {{"typ", "custody-enrol+jwt"}, {"jwk", key.public_json()}};
  auto ok = verify_enrolment_proof(sign(key, header, claims), policy, now);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->key.thumbprint(), key.thumbprint());

  auto refused = [&](const std::string& token, const std::string& why) {
    auto r = verify_enrolment_proof(token, policy, now);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  };
  refused(sign(other, header, claims), "does not verify with the key in its header");
  refused(sign(key, {{"typ", "custody-enrol+jwt"}}, claims), "must carry the new public key");
  refused(sign(key, {{"typ", "JWT"}, {"jwk", key.public_json()}}, claims), "typ");
  auto late = claims;
  late["iat"] = 1700003600;
  late["exp"] = 1700003660;
  refused(sign(key, header, late), "clock");
  auto long_lived = claims;
  long_lived["exp"] = 1700086400;
  refused(sign(key, header, long_lived), "lifetime");
  auto no_host = claims;
  no_host.erase("hostname");
  refused(sign(key, header, no_host), "hostname");
  auto wrong_aud = claims;
  wrong_aud["aud"] = "https://elsewhere.example";
  refused(sign(key, header, wrong_aud), "aud");
  // RSA keys are not device keys.
  auto rsa = crypto::Jwk::generate(crypto::KeyType::kRsa).value();
  refused(sign(rsa, {{"typ", "custody-enrol+jwt"}, {"jwk", rsa.public_json()}}, claims), "alg");
}

}  // namespace
}  // namespace custody::device
