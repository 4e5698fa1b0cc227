// The report's JSON: its exact shape, the round trip, and the strict reader's refusals.
#include "posture/posture_json.h"

#include <gtest/gtest.h>

namespace custody::posture {
namespace {

using nlohmann::json;

Posture sample() {
  Posture p;
  p.collected_at = 1700000000;
  p.collection_ms = 12;
  p.os = {
      true, "debian", "12", "12 (bookworm)", "Debian GNU/Linux", "Debian GNU/Linux 12 (bookworm)"};
  p.kernel = {true, "6.1.0-18-amd64", "#1 SMP ..."};
  p.updates = {true, "apt", 4, 1};
  p.disk_encryption = {true, true, "luks2", "/dev/mapper/root"};
  p.firewall = {true, true, "nftables", 12};
  p.mdm = {true, false, ""};
  p.agent.version = "0.5.0";
  p.warnings = {"secure_boot: no /sys/firmware/efi (legacy BIOS boot?)"};
  return p;
}

TEST(PostureJson, ExactShape) {
  const json expected = json::parse(R"json({"collected_at":1700000000,"collection_ms":12,
 "os":{"known":true,"id":"debian","version_id":"12","version":"12 (bookworm)","name":"Debian GNU/Linux","pretty_name":"Debian GNU/Linux 12 (bookworm)"},
 "kernel":{"known":true,"release":"6.1.0-18-amd64","version":"#1 SMP ..."},
 "updates":{"known":true,"manager":"apt","pending":4,"pending_security":1},
 "disk_encryption":{"known":true,"root_encrypted":true,"method":"luks2","device":"/dev/mapper/root"},
 "firewall":{"known":true,"active":true,"backend":"nftables","rules":12},
 "secure_boot":{"known":false,"enabled":false},
 "screen_lock":{"known":false,"enabled":false},
 "mdm":{"known":true,"enrolled":false,"vendor":""},
 "agent":{"version":"0.5.0"},
 "ai_components":{"known":false,"count":0,"fingerprints":[]},
 "warnings":["secure_boot: no /sys/firmware/efi (legacy BIOS boot?)"]
})json");
  EXPECT_EQ(posture_to_json(sample()), expected) << posture_to_json(sample()).dump(1);
}

TEST(PostureJson, DefaultsHaveEveryKey) {
  json j = posture_to_json(Posture{});
  for (const char* k :
       {"collected_at", "collection_ms", "os", "kernel", "updates", "disk_encryption", "firewall",
        "secure_boot", "screen_lock", "mdm", "agent", "ai_components", "warnings"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["disk_encryption"]["method"], "none");
  EXPECT_EQ(j["firewall"]["backend"], "");
  EXPECT_EQ(j["ai_components"]["fingerprints"], json::array());
  EXPECT_EQ(j["warnings"], json::array());
}

TEST(PostureJson, RoundTrip) {
  Posture p = sample();
  p.ai_components = {true, 2, {"aa11", "bb22"}};
  p.screen_lock = {true, true};
  auto back = posture_from_json(posture_to_json(p));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(posture_to_json(*back), posture_to_json(p));
  EXPECT_EQ(back->ai_components.fingerprints, p.ai_components.fingerprints);
  EXPECT_EQ(back->updates.pending_security, 1);
  // And through text.
  auto reparsed = posture_from_json(json::parse(posture_to_json(p).dump()));
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(posture_to_json(*reparsed), posture_to_json(p));
}

TEST(PostureJson, InvalidUtf8FromTheDeviceStillSerialises) {
  Posture p;
  p.os.pretty_name = "bad \xff\xfe byte, overlong \xc0\xaf, cut \xe2\x82";
  p.kernel.release = std::string("nul\0in", 6);
  p.warnings = {"\xed\xa0\x80 surrogate"};
  json j = posture_to_json(p);
  std::string text;
  ASSERT_NO_THROW(text = j.dump());
  EXPECT_EQ(j["os"]["pretty_name"],
            "bad \xEF\xBF\xBD\xEF\xBF\xBD byte, overlong \xEF\xBF\xBD\xEF\xBF\xBD, cut "
            "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(posture_from_json(json::parse(text)).ok());
}

struct Refusal {
  const char* pointer;  // member to change, as a JSON pointer
  json value;           // new value; null json with erase=true removes it
  bool erase;
  const char* message;  // expected Error::message
};

TEST(PostureJson, StrictRefusals) {
  const std::vector<Refusal> cases = {
      {"/collected_at", nullptr, true, "collected_at: missing (expected a non-negative integer)"},
      {"/collected_at", "1700000000", false,
       "collected_at: expected a non-negative integer, got string"},
      {"/collected_at", 1.5, false, "collected_at: expected a non-negative integer, got number"},
      {"/collection_ms", -1, false,
       "collection_ms: expected a non-negative integer, got a negative one"},
      {"/os", nullptr, true, "os: missing (expected an object)"},
      {"/os", json::array(), false, "os: expected an object, got array"},
      {"/os/known", "true", false, "os.known: expected a boolean, got string"},
      {"/os/known", 1, false, "os.known: expected a boolean, got integer"},
      {"/os/pretty_name", nullptr, true, "os.pretty_name: missing (expected a string)"},
      {"/kernel/release", 6, false, "kernel.release: expected a string, got integer"},
      {"/updates/pending", "4", false,
       "updates.pending: expected a non-negative integer, got string"},
      {"/updates/pending_security", nullptr, false,
       "updates.pending_security: expected a non-negative integer, got null"},
      {"/disk_encryption/root_encrypted", "yes", false,
       "disk_encryption.root_encrypted: expected a boolean, got string"},
      {"/firewall/rules", true, false,
       "firewall.rules: expected a non-negative integer, got boolean"},
      {"/secure_boot/enabled", nullptr, true, "secure_boot.enabled: missing (expected a boolean)"},
      {"/screen_lock", "on", false, "screen_lock: expected an object, got string"},
      {"/mdm/vendor", json::object(), false, "mdm.vendor: expected a string, got object"},
      {"/agent/version", nullptr, true, "agent.version: missing (expected a string)"},
      {"/ai_components/fingerprints", "aa", false,
       "ai_components.fingerprints: expected an array of strings, got string"},
      {"/ai_components/fingerprints", json::array({"aa", 3}), false,
       "ai_components.fingerprints.1: expected a string, got integer"},
      {"/warnings", nullptr, true, "warnings: missing (expected an array of strings)"},
  };
  for (const auto& c : cases) {
    json j = posture_to_json(sample());
    json::json_pointer ptr(c.pointer);
    if (c.erase) {
      j[ptr.parent_pointer()].erase(ptr.back());
    } else {
      j[ptr] = c.value;
    }
    auto r = posture_from_json(j);
    ASSERT_FALSE(r.ok()) << c.pointer;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().message, c.message) << c.pointer;
    std::string field = c.pointer;
    if (std::string(c.message).find("fingerprints.1") != std::string::npos) {
      field += "/1";
    }
    EXPECT_EQ(r.error().field, field) << c.pointer;
  }
}

TEST(PostureJson, NotAnObjectAndUnknownMembers) {
  EXPECT_FALSE(posture_from_json(json::array()).ok());
  EXPECT_FALSE(posture_from_json(json("x")).ok());
  json j = posture_to_json(sample());
  j["future_section"] = {{"known", true}};
  j["os"]["build_id"] = "x";
  EXPECT_TRUE(posture_from_json(j).ok());
}

TEST(PostureText, OneLinePerSectionAndWarnings) {
  std::string t = posture_to_text(sample());
  EXPECT_NE(t.find("Debian GNU/Linux 12 (bookworm)"), std::string::npos);
  EXPECT_NE(t.find("4 pending (1 security) via apt"), std::string::npos);
  EXPECT_NE(t.find("root encrypted, luks2 (/dev/mapper/root)"), std::string::npos);
  EXPECT_NE(t.find("secure boot:     unknown"), std::string::npos);
  EXPECT_NE(t.find("warning: secure_boot"), std::string::npos);
}

TEST(PostureText, DeviceStringsCannotDriveTheTerminal) {
  Posture p = sample();
  p.kernel.release = "6.1\x1b[2J\x1b]0;owned\x07\xff";
  p.warnings = {"line\nbreak"};
  std::string t = posture_to_text(p);
  EXPECT_EQ(t.find('\x1b'), std::string::npos);
  EXPECT_EQ(t.find('\x07'), std::string::npos);
  EXPECT_NE(t.find("6.1?[2J?]0;owned?\xEF\xBF\xBD"), std::string::npos);
  EXPECT_NE(t.find("warning: line?break\n"), std::string::npos);
}

}  // namespace
}  // namespace custody::posture
