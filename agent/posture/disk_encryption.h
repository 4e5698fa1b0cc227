// Whether the root filesystem is encrypted: "/" in <root>/proc/self/mounts (fallback
// <root>/proc/mounts), its device resolved to a kernel block device (/dev/mapper/NAME through
// <root>/sys/class/block/*/dm/name, /dev/dm-N, /dev/sdaN ...), then the device-mapper stack walked
// down through <root>/sys/block/<dev>/slaves/ (LVM on LUKS, RAID under LUKS) to the dm-crypt
// devices, recognised by a dm/uuid starting with "CRYPT-".
//
// The root counts as encrypted when every path down from its device meets a dm-crypt device; the
// method is that of the first one met ("luks2", "luks1", or "dm-crypt" for plain, TrueCrypt and
// BitLocker mappings). A root on overlay, tmpfs or another pseudo filesystem (a container) or on a
// device sysfs does not describe is known=false with a warning. A device that does not resolve by
// its name (/dev/root when booted without an initramfs) is looked up by the major:minor of "/" in
// <root>/proc/self/mountinfo through <root>/sys/dev/block/MAJ:MIN.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "posture/posture.h"
#include "posture/root_files.h"

namespace custody::posture {

struct MountEntry {
  std::string device;
  std::string mount_point;
  std::string fs_type;
};

// The entry of the last line of a mounts table (fstab format, octal escapes such as \040
// decoded) whose mount point is "/"; the last one wins, as the later mount hides the earlier.
std::optional<MountEntry> find_root_mount(std::string_view mounts);

DiskEncryptionInfo collect_disk_encryption(const RootFiles& root,
                                           std::vector<std::string>* warnings);

}  // namespace custody::posture
