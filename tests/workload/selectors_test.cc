// Selectors: parsing with precise errors, matching, and choosing among the device's bindings.
#include "workload/selectors.h"

#include <gtest/gtest.h>

#include <string>

namespace custody::workload {
namespace {

const std::string kSha(64, 'a');

PeerInfo python_agent() {
  PeerInfo p;
  p.pid = 77;
  p.uid = 1000;
  p.gid = 1000;
  p.exe_path = "/usr/bin/python3";
  p.exe_sha256 = kSha;
  p.args = {"/usr/bin/python3", "-m", "agent.main"};
  p.cgroups = {"/user.slice/user-1000.slice/app.slice/agent.service"};
  return p;
}

Selector sel(std::string_view text) {
  auto s = parse_selector(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.error().message;
  return s.ok() ? s.value() : Selector{};
}

std::string parse_error(std::string_view text) {
  auto s = parse_selector(text);
  EXPECT_FALSE(s.ok()) << text;
  return s.ok() ? "" : s.error().message;
}

TEST(SelectorParse, EveryKind) {
  EXPECT_EQ(sel("uid:1000").number, 1000u);
  EXPECT_EQ(sel("gid:0").number, 0u);
  EXPECT_EQ(sel("exe_path:/usr/bin/python3").value, "/usr/bin/python3");
  EXPECT_EQ(sel("exe_sha256:" + std::string(64, 'A')).value, kSha);  // normalised
  EXPECT_EQ(sel("cgroup:/user.slice").kind, SelectorKind::kCgroup);
  EXPECT_EQ(sel("cmdline_arg:--profile=a:b").value, "--profile=a:b");  // first ':' only
  for (std::string_view t : {"uid:1000", "exe_path:/x", "cmdline_arg:a b", "cgroup:/"}) {
    EXPECT_EQ(sel(t).to_string(), t);
  }
}

TEST(SelectorParse, PreciseErrors) {
  EXPECT_NE(parse_error("pid:12").find("unknown selector kind 'pid'"), std::string::npos);
  EXPECT_NE(parse_error("uid1000").find("missing ':'"), std::string::npos);
  EXPECT_NE(parse_error("uid:10x").find("bad number '10x' for uid"), std::string::npos);
  EXPECT_NE(parse_error("uid:-1").find("bad number"), std::string::npos);
  EXPECT_NE(parse_error("gid:4294967296").find("bad number"), std::string::npos);
  EXPECT_NE(parse_error("exe_sha256:abc").find("64 hex digits"), std::string::npos);
  EXPECT_NE(parse_error("exe_sha256:" + std::string(63, 'a') + "g").find("64 hex digits"),
            std::string::npos);
  EXPECT_NE(parse_error("exe_path:").find("empty value"), std::string::npos);
  auto all = parse_selectors({"uid:1", "bogus:2"});
  ASSERT_FALSE(all.ok());
  EXPECT_NE(all.error().message.find("selector 1:"), std::string::npos);
}

TEST(SelectorMatch, EachKind) {
  const PeerInfo p = python_agent();
  EXPECT_TRUE(sel("uid:1000").matches(p));
  EXPECT_FALSE(sel("uid:1001").matches(p));
  EXPECT_TRUE(sel("gid:1000").matches(p));
  EXPECT_TRUE(sel("exe_path:/usr/bin/python3").matches(p));
  EXPECT_FALSE(sel("exe_path:/usr/bin/python").matches(p));  // exact, not a prefix
  EXPECT_TRUE(sel("exe_sha256:" + kSha).matches(p));
  EXPECT_FALSE(sel("exe_sha256:" + std::string(64, 'b')).matches(p));
  EXPECT_TRUE(sel("cgroup:/user.slice/user-1000.slice").matches(p));
  EXPECT_FALSE(sel("cgroup:/system.slice").matches(p));
  EXPECT_TRUE(sel("cmdline_arg:agent.main").matches(p));
  EXPECT_FALSE(sel("cmdline_arg:agent").matches(p));  // whole element
  PeerInfo unknown;                                   // nothing obtained: nothing matches
  EXPECT_FALSE(sel("uid:0").matches(unknown));
}

WorkloadBinding binding(std::string id, std::vector<std::string> selectors) {
  auto parsed = parse_selectors(selectors);
  EXPECT_TRUE(parsed.ok());
  return {id, "client-" + id, parsed.ok() ? parsed.value() : std::vector<Selector>{}};
}

TEST(Binding, AllSelectorsMustMatchAndNoneIsNever) {
  const PeerInfo p = python_agent();
  EXPECT_TRUE(binding("a", {"uid:1000", "exe_sha256:" + kSha}).matches(p));
  EXPECT_FALSE(binding("a", {"uid:1000", "exe_sha256:" + std::string(64, 'c')}).matches(p));
  EXPECT_FALSE(binding("a", {}).matches(p));
}

TEST(SelectBinding, ExactlyOne) {
  std::vector<WorkloadBinding> all = {binding("tickets", {"uid:1000", "exe_sha256:" + kSha}),
                                      binding("other", {"uid:2000"})};
  auto b = select_binding(all, python_agent(), std::nullopt);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->identity, "tickets");
  EXPECT_TRUE(select_binding(all, python_agent(), "tickets").ok());
  auto wrong = select_binding(all, python_agent(), "other");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().details.at("error"), kNoMatch);
}

TEST(SelectBinding, NoneNamesTheProcess) {
  std::vector<WorkloadBinding> all = {binding("other", {"uid:2000"})};
  auto b = select_binding(all, python_agent(), std::nullopt);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, Code::kPermissionDenied);
  EXPECT_EQ(b.error().details.at("error"), kNoMatch);
  EXPECT_EQ(b.error().message,
            "no identity on this device matches the process (pid 77, uid 1000, exe "
            "/usr/bin/python3 sha256 " +
                kSha + ")");
  EXPECT_FALSE(select_binding({}, python_agent(), std::nullopt).ok());
}

TEST(SelectBinding, SeveralNeedTheIdentityNamed) {
  std::vector<WorkloadBinding> all = {binding("a", {"uid:1000"}),
                                      binding("b", {"exe_path:/usr/bin/python3"})};
  auto none = select_binding(all, python_agent(), std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().details.at("error"), kAmbiguous);
  EXPECT_NE(none.error().message.find("ambiguous"), std::string::npos);
  EXPECT_NE(none.error().message.find("a, b"), std::string::npos);
  auto named = select_binding(all, python_agent(), "b");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->identity, "b");
  auto stranger = select_binding(all, python_agent(), "c");
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().details.at("error"), kNoMatch);
}

}  // namespace
}  // namespace custody::workload
