#include "posture/secure_boot.h"

namespace custody::posture {

namespace {
constexpr const char* kEfiDir = "/sys/firmware/efi";
constexpr const char* kEfivars = "/sys/firmware/efi/efivars";
constexpr const char* kSecureBootVar =
    "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
}  // namespace

SecureBootInfo collect_secure_boot(const RootFiles& root, std::vector<std::string>* warnings) {
  SecureBootInfo info;
  if (!root.is_directory(kEfiDir)) {
    warnings->push_back("secure_boot: no " + std::string(kEfiDir) + " (legacy BIOS boot?)");
    return info;
  }
  auto value = root.read(kSecureBootVar, 4096);
  if (!value.ok()) {
    auto vars = root.list(kEfivars);
    if (value.error().code == Code::kNotFound && vars.ok() && !vars->empty()) {
      info.known = true;  // efivars readable, no SecureBoot variable: firmware without it
      return info;
    }
    warnings->push_back("secure_boot: " + value.error().message);
    return info;
  }
  if (value->size() < 5) {
    warnings->push_back("secure_boot: SecureBoot variable is " + std::to_string(value->size()) +
                        " bytes, expected 5");
    return info;
  }
  info.known = true;
  info.enabled = (*value)[4] == 1;
  return info;
}

}  // namespace custody::posture
