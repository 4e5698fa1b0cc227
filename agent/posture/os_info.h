// The operating system and kernel sections: <root>/etc/os-release (fallback
// <root>/usr/lib/os-release) as os-release(5) defines it, and <root>/proc/sys/kernel/{osrelease,
// version}.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "posture/posture.h"
#include "posture/root_files.h"

namespace custody::posture {

// The KEY=value assignments of an os-release file: blank lines and '#' comments skipped, values
// unquoted ('...' literally, "..." with the shell escapes \\ \" \$ \`), lines that are not an
// assignment of a valid name ignored. Later assignments win.
std::map<std::string, std::string> parse_os_release(std::string_view text);

// Never fails: what cannot be read is known=false plus a warning appended to *warnings.
OsInfo collect_os(const RootFiles& root, std::vector<std::string>* warnings);
KernelInfo collect_kernel(const RootFiles& root, std::vector<std::string>* warnings);

}  // namespace custody::posture
