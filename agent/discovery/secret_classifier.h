// Classifies the value of a credential-holding field without keeping it: literal or reference,
// what the literal looks like, its length and a keyed hash. The value is read once, here, and only
// the classification leaves. DISCOVERY.md §4 lists the fields and the reference syntaxes.
#pragma once

#include <string>
#include <string_view>

#include "discovery/finding.h"

namespace custody::discovery {

// Hashes literal values for the report: HMAC-SHA-256 under a key that is either configured (so
// that reports of one deployment can show the same secret reused across devices) or random per
// run (reuse visible within one report only). The key never appears in the report.
class SecretClassifier {
 public:
  explicit SecretClassifier(std::string hash_key) : key_(std::move(hash_key)) {}

  // The flag for `value` found at `field`. References (`${VAR}`, `${VAR:-d}`, `$VAR`, `%VAR%`,
  // `${env:VAR}`, `{env:VAR}`, `${input:id}`, `${file:/p}`, `${{ secrets.NAME }}`, also after a
  // "Bearer " prefix) are kReference with the referenced name; "" is kEmpty; anything else is
  // kLiteral with a pattern name and an HMAC.
  SecretFlag classify(std::string field, std::string_view value) const;

  // The pattern a value matches, or "" when it looks like no known credential: github-token,
  // anthropic-key, openai-key, slack-token, aws-access-key, google-api-key, gitlab-token, jwt,
  // bearer-literal, basic-literal, high-entropy; "oversized" for values over 2 KiB (not matched).
  static std::string pattern_of(std::string_view value);

  // True when `name` (an env variable, header or flag name) suggests a credential: TOKEN, SECRET,
  // KEY, PASSWORD, AUTH, CREDENTIAL, COOKIE, PAT, ... (case-insensitive).
  static bool secret_like_name(std::string_view name);

  // False for values that a credential-like name does not make a credential: numbers, booleans,
  // absolute or home-relative paths (GOOGLE_APPLICATION_CREDENTIALS=/path, SSH_AUTH_SOCK,
  // --key ./key.pem: the file may hold a secret, its name is not one). References and values
  // that match a credential pattern are always plausible.
  static bool plausible_credential(std::string_view value);

  // True when the whole value is one reference (optionally after a scheme word like "Bearer").
  static bool is_reference(std::string_view value, std::string* name = nullptr);

 private:
  std::string key_;
};

}  // namespace custody::discovery
