// Encryption of private key material at rest: AES-256-GCM under a 32-byte key-encryption key
// (KEK) that lives outside the store (a file or CUSTODY_KEK), so a copy of the database alone
// does not yield signing keys.
//
// Format: base64url(nonce || ciphertext || tag), with a random 96-bit nonce per wrap and the
// 128-bit GCM tag. The key id is the additional authenticated data: a wrapped key moved to
// another key id's row fails to unwrap instead of becoming that key. Random nonces keep the
// collision risk negligible for far more than the few keys a KEK ever wraps (NIST SP 800-38D
// bounds it at 2^32 wraps per KEK).
//
// Errors: kInvalidArgument for a malformed KEK or wrapped text; kUnauthenticated when the GCM
// tag does not verify (wrong KEK, wrong key id, or tampered bytes — indistinguishable by
// design); kInternal when OpenSSL fails. Thread safety: a KeyEncryptionKey is immutable after
// construction and may be used from many threads at once.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"
#include "crypto/jwk.h"

namespace custody::crypto {

class KeyEncryptionKey {
 public:
  static constexpr std::size_t kBytes = 32;
  static constexpr std::size_t kNonceBytes = 12;
  static constexpr std::size_t kTagBytes = 16;

  // Exactly kBytes raw bytes.
  static Result<KeyEncryptionKey> from_bytes(std::string_view bytes);
  // The text form kept in a file or CUSTODY_KEK: 64 hex digits, or base64url/base64 of 32
  // bytes (43 characters, or 44 with '='). Surrounding whitespace (a file's final newline) is
  // ignored.
  static Result<KeyEncryptionKey> from_text(std::string_view text);
  // A new random KEK from the OpenSSL CSPRNG.
  static KeyEncryptionKey generate();

  KeyEncryptionKey(const KeyEncryptionKey&) = delete;
  KeyEncryptionKey& operator=(const KeyEncryptionKey&) = delete;
  // Moving copies the key and wipes the source.
  KeyEncryptionKey(KeyEncryptionKey&& other) noexcept;
  KeyEncryptionKey& operator=(KeyEncryptionKey&& other) noexcept;
  ~KeyEncryptionKey();  // wipes the key

  // Encrypts `plaintext` (at most 1 MiB) bound to `key_id`.
  Result<std::string> wrap(std::string_view key_id, std::string_view plaintext) const;
  // Decrypts what wrap() returned for the same key id. The plaintext is secret: the caller wipes
  // it when done.
  Result<std::string> unwrap(std::string_view key_id, std::string_view wrapped) const;

 private:
  KeyEncryptionKey() = default;
  std::array<unsigned char, kBytes> key_{};
};

// A private signing key wrapped under its kid (which must be set).
Result<std::string> wrap_private_jwk(const KeyEncryptionKey& kek, const Jwk& key);
// The reverse: unwraps, parses the private JWK and checks its kid is `kid`.
Result<Jwk> unwrap_private_jwk(const KeyEncryptionKey& kek, std::string_view kid,
                               std::string_view wrapped);

}  // namespace custody::crypto
