// The real ProcessCommandRunner: output, exit status, timeout (a real sleep killed), output cap.
#include "posture/command_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>

namespace custody::posture {
namespace {

using std::chrono::milliseconds;

CommandOptions limits(milliseconds timeout, std::size_t max_output = 1 << 20) {
  CommandOptions l;
  l.timeout = timeout;
  l.max_output = max_output;
  return l;
}

TEST(ProcessCommandRunner, CapturesStdoutAndExitStatus) {
  ProcessCommandRunner r;
  auto out = r.run({"echo", "hello", "world"}, {}, limits(milliseconds(5000)));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->out, "hello world\n");
  EXPECT_EQ(out->exit_status, 0);
  auto f = r.run({"false"}, {}, limits(milliseconds(5000)));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->exit_status, 1);
}

TEST(ProcessCommandRunner, NoShellAndAControlledEnvironment) {
  ProcessCommandRunner r;
  auto out = r.run({"echo", "$HOME", ";", "id"}, {}, limits(milliseconds(5000)));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->out, "$HOME ; id\n");
  auto env = r.run({"env"}, {{"HOME", "/home/alice"}}, limits(milliseconds(5000)));
  ASSERT_TRUE(env.ok());
  EXPECT_NE(env->out.find("HOME=/home/alice\n"), std::string::npos);
  EXPECT_NE(env->out.find("LC_ALL=C\n"), std::string::npos);
}

TEST(ProcessCommandRunner, MissingProgramIsNotFound) {
  ProcessCommandRunner r;
  auto out = r.run({"custody-no-such-program-xyz"}, {}, limits(milliseconds(5000)));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Code::kNotFound);
  EXPECT_FALSE(r.run({}, {}, limits(milliseconds(5000))).ok());
}

TEST(ProcessCommandRunner, ASleepingChildIsKilledAtTheTimeout) {
  ProcessCommandRunner r;
  const auto start = std::chrono::steady_clock::now();
  auto out = r.run({"sleep", "30"}, {}, limits(milliseconds(200)));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Code::kUnavailable);
  EXPECT_NE(out.error().message.find("timed out"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_GE(took, milliseconds(190));
}

TEST(ProcessCommandRunner, AGrandchildHoldingStdoutDoesNotHang) {
  // sh is the program here, not a shell around it: its background sleep keeps the pipe open.
  ProcessCommandRunner r;
  const auto start = std::chrono::steady_clock::now();
  auto out = r.run({"sh", "-c", "sleep 30 & echo started"}, {}, limits(milliseconds(300)));
  EXPECT_FALSE(out.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ProcessCommandRunner, OutputCapKillsTheProgram) {
  ProcessCommandRunner r;
  auto out = r.run({"yes"}, {}, limits(milliseconds(5000), 64 * 1024));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Code::kTooLarge);
}

TEST(ProcessCommandRunner, RunsAsAnotherUserWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  ProcessCommandRunner r;
  CommandOptions o = limits(milliseconds(5000));
  o.run_as_uid = 65534;
  o.run_as_gid = 65534;
  auto out = r.run({"id", "-u"}, {}, o);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->out, "65534\n");
  auto groups = r.run({"id", "-G"}, {}, o);
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(groups->out, "65534\n");  // supplementary groups dropped
}

TEST(ProcessCommandRunner, DeathBySignalIsAnError) {
  ProcessCommandRunner r;
  auto out = r.run({"sh", "-c", "kill -9 $$"}, {}, limits(milliseconds(5000)));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("signal"), std::string::npos);
}

}  // namespace
}  // namespace custody::posture
