// Byte encodings: base64url without padding (RFC 4648 §5), standard base64, and lowercase hex.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace custody {

std::string base64url_encode(std::string_view bytes);
// Accepts input with or without '=' padding; nullopt on any other character.
std::optional<std::string> base64url_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view text);
// application/x-www-form-urlencoded decoding of one name or value: '+' → space, %XX → byte;
// nullopt on a malformed escape.
std::optional<std::string> form_decode(std::string_view text);

}  // namespace custody
