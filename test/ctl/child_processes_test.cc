#include "ctl/child_processes.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace strait::ctl {
namespace {

namespace fs = std::filesystem;

class ChildProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("child-processes-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
};

TEST_F(ChildProcessesTest, OutputGoesToTheLogAndAnExitIsReported) {
  ChildProcesses children;
  auto pid = children.start("echo", {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"},
                            dir_ / "echo.log");
  ASSERT_TRUE(pid) << pid.error();
  std::optional<std::string> exited;
  for (int i = 0; i < 200 && !exited; ++i) {
    exited = children.reap_exited();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(exited);
  EXPECT_EQ(*exited, "echo exited with status 3");
  EXPECT_EQ(children.size(), 0u);
  EXPECT_EQ(read(dir_ / "echo.log"), "out\nerr\n");
}

TEST_F(ChildProcessesTest, StopAllEndsEveryChildEvenOneThatIgnoresSigterm) {
  ChildProcesses children;
  auto polite = children.start("polite", {"/bin/sleep", "30"}, dir_ / "polite.log");
  auto stubborn =
      children.start("stubborn", {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"},
                     dir_ / "stubborn.log");
  ASSERT_TRUE(polite && stubborn);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the trap is set
  EXPECT_EQ(children.reap_exited(), std::nullopt);
  const auto started = std::chrono::steady_clock::now();
  children.stop_all(std::chrono::milliseconds(300));
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(300));
  EXPECT_EQ(children.size(), 0u);
  EXPECT_FALSE(alive(*polite));
  EXPECT_FALSE(alive(*stubborn));
}

TEST_F(ChildProcessesTest, AMissingProgramExitsWith127AndALogThatSaysSo) {
  ChildProcesses children;
  auto pid = children.start("ghost", {"/nonexistent/strait-ghost"}, dir_ / "ghost.log");
  ASSERT_TRUE(pid);
  std::optional<std::string> exited;
  for (int i = 0; i < 200 && !exited; ++i) {
    exited = children.reap_exited();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(exited, "ghost exited with status 127");
  EXPECT_EQ(read(dir_ / "ghost.log"), "straitctl demo: exec failed\n");
}

TEST_F(ChildProcessesTest, AnUnwritableLogIsRefusedBeforeStarting) {
  ChildProcesses children;
  auto pid = children.start("x", {"/bin/true"}, dir_ / "no-such-dir" / "x.log");
  ASSERT_FALSE(pid);
  EXPECT_NE(pid.error().find("no-such-dir/x.log: No such file or directory"), std::string::npos)
      << pid.error();
  EXPECT_EQ(children.size(), 0u);
}

}  // namespace
}  // namespace strait::ctl
