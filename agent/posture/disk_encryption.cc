#include "posture/disk_encryption.h"

#include <optional>
#include <set>
#include <sstream>

namespace custody::posture {

namespace {

constexpr int kMaxStackDepth = 16;

// fstab(5)/getmntent escapes: \040 space, \011 tab, \012 newline, \134 backslash.
std::string decode_octal(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      std::string_view d = s.substr(i + 1, 3);
      if (d.size() == 3 && d.find_first_not_of("01234567") == std::string_view::npos) {
        out += static_cast<char>(((d[0] - '0') << 6) | ((d[1] - '0') << 3) | (d[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

struct Crypt {
  bool all_encrypted = true;
  std::string method;  // of the first dm-crypt device met
};

std::string method_of(std::string_view uuid) {
  if (uuid.starts_with("CRYPT-LUKS2-")) return "luks2";
  if (uuid.starts_with("CRYPT-LUKS1-")) return "luks1";
  return "dm-crypt";
}

// sysfs directory of a block device: /sys/class/block/X has partitions too, /sys/block/X only
// whole devices (which dm devices are).
std::string sys_dir(const RootFiles& root, const std::string& name) {
  std::string p = "/sys/class/block/" + name;
  if (root.exists(p)) return p;
  p = "/sys/block/" + name;
  if (root.exists(p)) return p;
  return {};
}

// Walks down from `name`; false when sysfs does not describe a device on the way.
bool walk(const RootFiles& root, const std::string& name, int depth, std::set<std::string>& seen,
          Crypt& crypt, std::vector<std::string>* warnings) {
  if (depth > kMaxStackDepth || !seen.insert(name).second) {
    warnings->push_back("disk_encryption: device stack too deep or looping at " + name);
    return false;
  }
  const std::string dir = sys_dir(root, name);
  if (dir.empty()) {
    warnings->push_back("disk_encryption: no sysfs entry for block device " + name);
    return false;
  }
  auto uuid = root.read_line(dir + "/dm/uuid");
  if (uuid.ok() && uuid->starts_with("CRYPT-")) {
    if (crypt.method.empty()) crypt.method = method_of(*uuid);
    return true;
  }
  auto slaves = root.list(dir + "/slaves");
  if (!slaves.ok() || slaves->empty()) {
    crypt.all_encrypted = false;  // a disk or partition reached without a dm-crypt layer
    return true;
  }
  for (const auto& s : *slaves) {
    if (!walk(root, s, depth + 1, seen, crypt, warnings)) return false;
  }
  return true;
}

// The kernel name (dm-0, sda2) of a device path as mounts shows it; empty when unresolvable.
std::string kernel_name(const RootFiles& root, const std::string& device) {
  if (device.starts_with("/dev/mapper/")) {
    const std::string want = device.substr(12);
    auto names = root.list("/sys/class/block");
    if (!names.ok()) names = root.list("/sys/block");
    if (!names.ok()) return {};
    for (const auto& n : *names) {
      if (!n.starts_with("dm-")) continue;
      auto dm_name = root.read_line(sys_dir(root, n) + "/dm/name");
      if (dm_name.ok() && *dm_name == want) return n;
    }
    return {};
  }
  if (device.starts_with("/dev/") && device.find('/', 5) == std::string::npos) {
    return device.substr(5);
  }
  return {};
}

// The kernel name of the device behind "/" from mountinfo's major:minor and
// <root>/sys/dev/block/MAJ:MIN, for a mounts table that names it /dev/root (no initramfs) or by a
// path sysfs does not know. Empty when that does not resolve either; btrfs and other filesystems
// with anonymous device numbers (major 0) never do.
std::string kernel_name_from_mountinfo(const RootFiles& root) {
  auto info = root.read("/proc/self/mountinfo", 4 * 1024 * 1024);
  if (!info.ok()) return {};
  std::string dev;
  std::istringstream in(*info);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, majmin, fs_root, mount_point;
    if (!(f >> id >> parent >> majmin >> fs_root >> mount_point)) continue;
    if (decode_octal(mount_point) == "/") dev = majmin;
  }
  if (dev.empty() || dev.starts_with("0:") || dev.find('/') != std::string::npos) return {};
  auto target = root.read_link("/sys/dev/block/" + dev);
  if (!target.ok()) return {};
  auto slash = target->rfind('/');
  std::string name = slash == std::string::npos ? *target : target->substr(slash + 1);
  return name == "." || name == ".." ? std::string() : name;
}

bool pseudo_fs(std::string_view type) {
  static const std::set<std::string_view> kPseudo = {
      "overlay", "tmpfs",    "rootfs", "ramfs", "aufs", "fuse-overlayfs",
      "9p",      "virtiofs", "nfs",    "nfs4",  "cifs", "squashfs"};
  return kPseudo.count(type) > 0 || type.starts_with("fuse");
}

}  // namespace

std::optional<MountEntry> find_root_mount(std::string_view mounts) {
  std::optional<MountEntry> found;
  std::istringstream in{std::string(mounts)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string dev, mp, type;
    if (!(fields >> dev >> mp >> type)) continue;
    if (decode_octal(mp) != "/") continue;
    found = MountEntry{decode_octal(dev), "/", type};
  }
  return found;
}

DiskEncryptionInfo collect_disk_encryption(const RootFiles& root,
                                           std::vector<std::string>* warnings) {
  DiskEncryptionInfo info;
  auto mounts = root.read("/proc/self/mounts", 4 * 1024 * 1024);
  if (!mounts.ok()) mounts = root.read("/proc/mounts", 4 * 1024 * 1024);
  if (!mounts.ok()) {
    warnings->push_back("disk_encryption: " + mounts.error().message);
    return info;
  }
  auto mount = find_root_mount(*mounts);
  if (!mount) {
    warnings->push_back("disk_encryption: no mount of / in the mounts table");
    return info;
  }
  info.device = mount->device;
  if (pseudo_fs(mount->fs_type)) {
    warnings->push_back("disk_encryption: / is on " + mount->fs_type + " (" + mount->device +
                        "), not a local block device (a container?)");
    return info;
  }
  std::string name = kernel_name(root, mount->device);
  if (name.empty() || sys_dir(root, name).empty()) {
    if (std::string from_info = kernel_name_from_mountinfo(root); !from_info.empty()) {
      name = from_info;
    }
  }
  if (name.empty()) {
    warnings->push_back("disk_encryption: cannot resolve root device " + mount->device +
                        " to a block device");
    return info;
  }
  Crypt crypt;
  std::set<std::string> seen;
  if (!walk(root, name, 0, seen, crypt, warnings)) return info;
  info.known = true;
  info.root_encrypted = crypt.all_encrypted && !crypt.method.empty();
  info.method = info.root_encrypted ? crypt.method : "none";
  return info;
}

}  // namespace custody::posture
