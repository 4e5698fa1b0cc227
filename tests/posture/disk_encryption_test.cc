// Root filesystem encryption: the mounts table, device resolution and the dm stack walk.
#include "posture/disk_encryption.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace custody::posture {
namespace {

using testing::fixture;
using testing::TempTree;

DiskEncryptionInfo collect(const std::string& root, std::vector<std::string>* w) {
  return collect_disk_encryption(RootFiles(root), w);
}

// A dm device dm-N named `name` with `uuid`, stacked on `slaves`, laid out as sysfs does.
void dm(const TempTree& t, int n, const std::string& name, const std::string& uuid,
        const std::vector<std::string>& slaves) {
  const std::string dev = "dm-" + std::to_string(n);
  const std::string dir = "/sys/devices/virtual/block/" + dev;
  t.write(dir + "/dm/name", name + "\n");
  t.write(dir + "/dm/uuid", uuid + "\n");
  t.mkdir(dir + "/slaves");
  for (const auto& s : slaves) t.symlink("../../" + s, dir + "/slaves/" + s);
  t.symlink("../../devices/virtual/block/" + dev, "/sys/class/block/" + dev);
}

void partition(const TempTree& t, const std::string& name) {
  t.write("/sys/devices/virtual/block/" + name + "/partition", "1\n");
  t.symlink("../../devices/virtual/block/" + name, "/sys/class/block/" + name);
}

TEST(RootMount, LastMountOfSlashWinsAndEscapesAreDecoded) {
  auto m = find_root_mount(
      "/dev/sda1 / ext4 rw 0 0\n"
      "/dev/sdb1 /mnt ext4 rw 0 0\n"
      "/dev/mapper/my\\040vol / btrfs rw 0 0\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->device, "/dev/mapper/my vol");
  EXPECT_EQ(m->fs_type, "btrfs");
  EXPECT_FALSE(find_root_mount("/dev/sda1 /home ext4 rw 0 0\n"));
  EXPECT_FALSE(find_root_mount(""));
}

TEST(DiskEncryption, LvmOnLuks2) {
  std::vector<std::string> w;
  auto d = collect(fixture("debian-luks-nft"), &w);
  EXPECT_TRUE(d.known);
  EXPECT_TRUE(d.root_encrypted);
  EXPECT_EQ(d.method, "luks2");
  EXPECT_EQ(d.device, "/dev/mapper/vg0-root");
  EXPECT_TRUE(w.empty()) << w[0];
}

TEST(DiskEncryption, PlainPartitionFromProcMounts) {
  std::vector<std::string> w;
  auto d = collect(fixture("ubuntu-plain-iptables"), &w);  // no proc/self: proc/mounts
  EXPECT_TRUE(d.known);
  EXPECT_FALSE(d.root_encrypted);
  EXPECT_EQ(d.method, "none");
  EXPECT_EQ(d.device, "/dev/nvme0n1p2");
}

TEST(DiskEncryption, OverlayInAContainerIsUnknown) {
  std::vector<std::string> w;
  auto d = collect(fixture("container-overlay"), &w);
  EXPECT_FALSE(d.known);
  EXPECT_FALSE(d.root_encrypted);
  EXPECT_EQ(d.method, "none");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("overlay"), std::string::npos);
}

TEST(DiskEncryption, Luks1DirectlyByDmName) {
  TempTree t;
  t.write("/proc/self/mounts", "/dev/dm-0 / xfs rw 0 0\n");
  dm(t, 0, "cryptroot", "CRYPT-LUKS1-0123456789abcdef-cryptroot", {"sda2"});
  partition(t, "sda2");
  std::vector<std::string> w;
  auto d = collect(t.root(), &w);
  EXPECT_TRUE(d.known);
  EXPECT_TRUE(d.root_encrypted);
  EXPECT_EQ(d.method, "luks1");
  EXPECT_EQ(d.device, "/dev/dm-0");
}

TEST(DiskEncryption, PlainDmCryptAndLvmWithoutCrypt) {
  TempTree t;
  t.write("/proc/self/mounts", "/dev/mapper/secret / ext4 rw 0 0\n");
  dm(t, 3, "secret", "CRYPT-PLAIN-secret", {"sda1"});
  partition(t, "sda1");
  std::vector<std::string> w;
  auto d = collect(t.root(), &w);
  EXPECT_TRUE(d.root_encrypted);
  EXPECT_EQ(d.method, "dm-crypt");

  TempTree lvm;
  lvm.write("/proc/self/mounts", "/dev/mapper/vg-root / ext4 rw 0 0\n");
  dm(lvm, 0, "vg-root", "LVM-abc", {"sda3"});
  partition(lvm, "sda3");
  d = collect(lvm.root(), &w);
  EXPECT_TRUE(d.known);
  EXPECT_FALSE(d.root_encrypted);
  EXPECT_EQ(d.method, "none");
}

TEST(DiskEncryption, AVolumeSpanningAnUnencryptedDiskIsNotEncrypted) {
  TempTree t;
  t.write("/proc/self/mounts", "/dev/mapper/vg-root / ext4 rw 0 0\n");
  dm(t, 2, "vg-root", "LVM-abc", {"dm-0", "sdb1"});
  dm(t, 0, "luks-a", "CRYPT-LUKS2-aaaa-luks-a", {"sda1"});
  partition(t, "sda1");
  partition(t, "sdb1");
  std::vector<std::string> w;
  auto d = collect(t.root(), &w);
  EXPECT_TRUE(d.known);
  EXPECT_FALSE(d.root_encrypted);
  EXPECT_EQ(d.method, "none");
}

TEST(DiskEncryption, UnresolvableDevicesAreUnknown) {
  TempTree t;
  t.write("/proc/self/mounts", "/dev/mapper/gone / ext4 rw 0 0\n");
  t.mkdir("/sys/class/block");
  std::vector<std::string> w;
  EXPECT_FALSE(collect(t.root(), &w).known);

  TempTree r;
  r.write("/proc/self/mounts", "/dev/root / ext4 rw 0 0\n");  // no sysfs entry for "root"
  EXPECT_FALSE(collect(r.root(), &w).known);

  TempTree z;
  z.write("/proc/self/mounts", "rpool/ROOT/ubuntu / zfs rw 0 0\n");
  EXPECT_FALSE(collect(z.root(), &w).known);

  TempTree none;
  EXPECT_FALSE(collect(none.root(), &w).known);
  EXPECT_EQ(w.size(), 4u);
}

TEST(DiskEncryption, DevRootResolvedThroughMountinfo) {
  TempTree t;
  t.write("/proc/self/mounts", "/dev/root / ext4 rw 0 0\n");
  t.write("/proc/self/mountinfo",
          "22 1 0:21 / /proc rw - proc proc rw\n"
          "1 0 254:3 / / rw,relatime shared:1 - ext4 /dev/root rw\n");
  dm(t, 3, "cryptroot", "CRYPT-LUKS2-abcd-cryptroot", {"vda2"});
  partition(t, "vda2");
  t.symlink("../../devices/virtual/block/dm-3", "/sys/dev/block/254:3");
  std::vector<std::string> w;
  auto d = collect(t.root(), &w);
  EXPECT_TRUE(d.known);
  EXPECT_TRUE(d.root_encrypted);
  EXPECT_EQ(d.method, "luks2");
  EXPECT_EQ(d.device, "/dev/root");

  TempTree btrfs;  // anonymous device number: not resolvable that way
  btrfs.write("/proc/self/mounts", "/dev/root / btrfs rw 0 0\n");
  btrfs.write("/proc/self/mountinfo", "1 0 0:31 /@ / rw - btrfs /dev/root rw\n");
  EXPECT_FALSE(collect(btrfs.root(), &w).known);
}

TEST(DiskEncryption, ALoopingStackStops) {
  std::vector<std::string> w;
  auto d = collect(fixture("broken"), &w);  // dm-0's slave is dm-0
  EXPECT_FALSE(d.known);
  ASSERT_FALSE(w.empty());
  EXPECT_NE(w.back().find("looping"), std::string::npos);
}

}  // namespace
}  // namespace custody::posture
