// Hands signed tree heads to an external witness: an HTTP POST of one JSON document. The witness
// keeps the heads where the custody operator cannot rewrite them; `custody audit verify
// --from-sth` then checks the store against them (docs/audit-integrity.md).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace custody::audit {

// POSTs `body` as application/json to `url` (http://host[:port]/path; https is not supported
// here, put a TLS proxy or a local relay in front). OK on a 2xx answer; kUnavailable otherwise,
// with the status or transport error.
Status post_json(std::string_view url, const std::string& body, std::chrono::milliseconds timeout);

}  // namespace custody::audit
