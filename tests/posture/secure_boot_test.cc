// Secure Boot from the SecureBoot EFI variable.
#include "posture/secure_boot.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace custody::posture {
namespace {

using testing::fixture;
using testing::TempTree;

constexpr const char* kVar =
    "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";

TEST(SecureBoot, EnabledAndDisabled) {
  std::vector<std::string> w;
  auto on = collect_secure_boot(RootFiles(fixture("debian-luks-nft")), &w);
  EXPECT_TRUE(on.known);
  EXPECT_TRUE(on.enabled);
  auto off = collect_secure_boot(RootFiles(fixture("ubuntu-plain-iptables")), &w);
  EXPECT_TRUE(off.known);
  EXPECT_FALSE(off.enabled);
  EXPECT_TRUE(w.empty());
}

TEST(SecureBoot, LegacyBiosIsUnknown) {
  std::vector<std::string> w;
  auto s = collect_secure_boot(RootFiles(fixture("container-overlay")), &w);
  EXPECT_FALSE(s.known);
  EXPECT_FALSE(s.enabled);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("legacy BIOS"), std::string::npos);
}

TEST(SecureBoot, EfiWithoutTheVariableIsKnownDisabled) {
  TempTree t;
  t.write("/sys/firmware/efi/efivars/BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c",
          std::string("\x07\x00\x00\x00\x01\x00", 6));
  std::vector<std::string> w;
  auto s = collect_secure_boot(RootFiles(t.root()), &w);
  EXPECT_TRUE(s.known);
  EXPECT_FALSE(s.enabled);
}

TEST(SecureBoot, EfivarsNotMountedOrTruncatedIsUnknown) {
  TempTree t;
  t.mkdir("/sys/firmware/efi/efivars");
  std::vector<std::string> w;
  EXPECT_FALSE(collect_secure_boot(RootFiles(t.root()), &w).known);
  EXPECT_FALSE(collect_secure_boot(RootFiles(fixture("broken")), &w).known);  // 2 bytes
  EXPECT_EQ(w.size(), 2u);
}

TEST(SecureBoot, OnlyTheValueByteCounts) {
  TempTree t;
  t.write(kVar, std::string("\x06\x00\x00\x00\x02", 5));
  std::vector<std::string> w;
  auto s = collect_secure_boot(RootFiles(t.root()), &w);
  EXPECT_TRUE(s.known);
  EXPECT_FALSE(s.enabled);
}

}  // namespace
}  // namespace custody::posture
