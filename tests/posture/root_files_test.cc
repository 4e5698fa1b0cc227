// Bounded reads of the scanned tree: FIFOs, huge files, directories, unreadable files.
#include "posture/root_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"

namespace custody::posture {
namespace {

using testing::TempTree;

TEST(RootFiles, HostPaths) {
  EXPECT_EQ(RootFiles("/").host_path("/etc/os-release"), "/etc/os-release");
  EXPECT_TRUE(RootFiles("/").is_real_root());
  EXPECT_TRUE(RootFiles("///").is_real_root());
  EXPECT_EQ(RootFiles("/tmp/fx/").host_path("/etc/os-release"), "/tmp/fx/etc/os-release");
  EXPECT_FALSE(RootFiles("/tmp/fx").is_real_root());
}

TEST(RootFiles, ReadsAndTrimsLines) {
  TempTree t;
  t.write("/a", "value\n\n");
  RootFiles r(t.root());
  EXPECT_EQ(*r.read("/a"), "value\n\n");
  EXPECT_EQ(*r.read_line("/a"), "value");
  EXPECT_EQ(r.read("/missing").error().code, Code::kNotFound);
  EXPECT_EQ(r.read("/a/below-a-file").error().code, Code::kNotFound);
}

TEST(RootFiles, AFifoIsRefusedWithoutBlocking) {
  TempTree t;
  ASSERT_EQ(::mkfifo(t.path("/fifo").c_str(), 0600), 0);
  auto r = RootFiles(t.root()).read("/fifo");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
}

TEST(RootFiles, AHugeFileIsRefused) {
  TempTree t;
  t.write("/huge", std::string(2 * 1024 * 1024, 'x'));
  auto r = RootFiles(t.root()).read("/huge");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kTooLarge);
  EXPECT_TRUE(RootFiles(t.root()).read("/huge", 4 * 1024 * 1024).ok());
}

TEST(RootFiles, ADirectoryIsNotAFile) {
  TempTree t;
  t.mkdir("/d/x");
  RootFiles r(t.root());
  EXPECT_EQ(r.read("/d").error().code, Code::kInvalidArgument);
  auto names = r.list("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"x"});
  EXPECT_EQ(r.list("/nope").error().code, Code::kNotFound);
  EXPECT_TRUE(r.is_directory("/d"));
  EXPECT_FALSE(r.is_directory("/nope"));
}

TEST(RootFiles, AnUnreadableFileIsUnavailable) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  TempTree t;
  t.write("/secret", "x");
  ::chmod(t.path("/secret").c_str(), 0);
  auto r = RootFiles(t.root()).read("/secret");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kUnavailable);
}

TEST(RootFiles, ProcFilesReportingSizeZeroAreReadToTheEnd) {
  auto r = RootFiles("/").read("/proc/self/status");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->find("Pid:"), std::string::npos);
}

}  // namespace
}  // namespace custody::posture
