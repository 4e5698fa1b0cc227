#include "discovery/fingerprint.h"

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "crypto/keyed_hash.h"

namespace custody::discovery {

std::string launch_definition(const Finding& f) {
  // nlohmann's object is a std::map: keys serialise sorted, so dump() is canonical.
  nlohmann::json d = {
      {"transport", std::string(transport_name(f.transport))},
      {"command", f.command},
      {"args", f.args},
      {"url", f.url},
      {"env", f.env_names},
      {"headers", f.header_names},
  };
  return d.dump();
}

std::string fingerprint_of(const Finding& f, std::string_view device_id) {
  std::string input(device_id);
  input += '\n';
  input += launch_definition(f);
  return hex_encode(crypto::sha256(input));
}

}  // namespace custody::discovery
