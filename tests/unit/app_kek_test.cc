#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "app/kek.h"

namespace custody::app {
namespace {

class KekTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custody-kek-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    config_.data_dir = dir_.string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  Config config_;
};

TEST_F(KekTest, CreatesAPrivateFileOnceAndReadsItBack) {
  auto first = load_kek(config_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->created);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "kek").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto wrapped = first->kek.wrap("kid-1", "secret");
  ASSERT_TRUE(wrapped.ok());

  auto second = load_kek(config_);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  auto plain = second->kek.unwrap("kid-1", *wrapped);
  ASSERT_TRUE(plain.ok()) << "the reloaded KEK must be the same key";
  EXPECT_EQ(*plain, "secret");
}

TEST_F(KekTest, TextWinsOverTheFileAndWritesNothing) {
  config_.kek = std::string(64, 'a');
  auto kek = load_kek(config_);
  ASSERT_TRUE(kek.ok()) << kek.error().message;
  EXPECT_FALSE(kek->created);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "kek"));
}

TEST_F(KekTest, RefusesMalformedText) {
  config_.kek = "not-a-key";
  auto kek = load_kek(config_);
  ASSERT_FALSE(kek.ok());
  EXPECT_EQ(kek.error().field, "kek");
}

TEST_F(KekTest, RefusesAFileOthersCanRead) {
  config_.kek_file = (dir_ / "shared.kek").string();
  {
    std::ofstream out(config_.kek_file);
    out << std::string(64, 'b') << "\n";
  }
  ::chmod(config_.kek_file.c_str(), 0644);
  auto kek = load_kek(config_);
  ASSERT_FALSE(kek.ok());
  EXPECT_EQ(kek.error().field, "kek_file");
  EXPECT_NE(kek.error().message.find("readable by others"), std::string::npos);
}

}  // namespace
}  // namespace custody::app
