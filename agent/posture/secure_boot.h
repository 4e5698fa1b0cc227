// UEFI Secure Boot state from the SecureBoot EFI variable,
// <root>/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c: 4 bytes of
// attributes, then one byte, 1 when Secure Boot is enforcing. No <root>/sys/firmware/efi: a legacy
// BIOS boot (or a container without it), known=false. EFI without the variable: firmware without
// Secure Boot, known=true and disabled.
#pragma once

#include <string>
#include <vector>

#include "posture/posture.h"
#include "posture/root_files.h"

namespace custody::posture {

SecureBootInfo collect_secure_boot(const RootFiles& root, std::vector<std::string>* warnings);

}  // namespace custody::posture
