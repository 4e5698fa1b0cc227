// Only the OpenSSL 3 API: deprecated low-level calls must not compile here.
#define OPENSSL_NO_DEPRECATED
#include "crypto/key_wrap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <cstring>

#include "common/encoding.h"
#include "common/random.h"
#include "crypto/jose_encoding.h"
#include "crypto/openssl_util.h"

namespace custody::crypto {
namespace {

constexpr std::size_t kMaxPlaintext = 1 << 20;

unsigned char* ubytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}
const unsigned char* ubytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

Result<KeyEncryptionKey> KeyEncryptionKey::from_bytes(std::string_view bytes) {
  if (bytes.size() != kBytes) return Error::invalid("a key-encryption key must be 32 bytes", "kek");
  KeyEncryptionKey kek;
  std::memcpy(kek.key_.data(), bytes.data(), kBytes);
  return kek;
}

Result<KeyEncryptionKey> KeyEncryptionKey::from_text(std::string_view text) {
  text = trim(text);
  std::optional<std::string> bytes;
  if (text.size() == 2 * kBytes) {
    bytes = hex_decode(text);
  } else if (text.size() == 43 || text.size() == 44) {
    bytes = text.find_first_of("+/") == std::string_view::npos ? base64url_decode(text)
                                                               : base64_decode(text);
  }
  if (!bytes || bytes->size() != kBytes) {
    if (bytes) ossl::wipe(*bytes);
    return Error::invalid("a key-encryption key must be 64 hex digits or the base64url of 32 bytes",
                          "kek");
  }
  auto kek = from_bytes(*bytes);
  ossl::wipe(*bytes);
  return kek;
}

KeyEncryptionKey KeyEncryptionKey::generate() {
  KeyEncryptionKey kek;
  random_bytes(kek.key_.data(), kBytes);
  return kek;
}

KeyEncryptionKey::KeyEncryptionKey(KeyEncryptionKey&& other) noexcept : key_(other.key_) {
  OPENSSL_cleanse(other.key_.data(), kBytes);
}

KeyEncryptionKey& KeyEncryptionKey::operator=(KeyEncryptionKey&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    OPENSSL_cleanse(other.key_.data(), kBytes);
  }
  return *this;
}

KeyEncryptionKey::~KeyEncryptionKey() {
  OPENSSL_cleanse(key_.data(), kBytes);
}

Result<std::string> KeyEncryptionKey::wrap(std::string_view key_id,
                                           std::string_view plaintext) const {
  if (plaintext.size() > kMaxPlaintext) return Error::invalid("too much to wrap", "plaintext");
  if (key_id.size() > INT_MAX) return Error::invalid("key id too long", "key_id");
  std::string out = random_bytes(kNonceBytes);
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  unsigned char* nonce = ubytes(out);
  unsigned char* ct = nonce + kNonceBytes;
  ossl::CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  // The default GCM IV length is 96 bits, the nonce size.
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key_.data(), nonce, nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, ubytes(key_id),
                        static_cast<int>(key_id.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, ubytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagBytes, ct + plaintext.size()) !=
          1) {
    ossl::wipe(out);
    return Error::internal("AES-256-GCM encryption failed: " + ossl::drain_errors());
  }
  return base64url_encode(out);
}

Result<std::string> KeyEncryptionKey::unwrap(std::string_view key_id,
                                             std::string_view wrapped) const {
  auto bytes = base64url_decode_strict(wrapped);
  if (!bytes || bytes->size() < kNonceBytes + kTagBytes ||
      bytes->size() > kNonceBytes + kMaxPlaintext + kTagBytes) {
    return Error::invalid("wrapped key is not base64url(nonce || ciphertext || tag)", "wrapped");
  }
  if (key_id.size() > INT_MAX) return Error::invalid("key id too long", "key_id");
  const std::size_t ct_len = bytes->size() - kNonceBytes - kTagBytes;
  const unsigned char* nonce = ubytes(*bytes);
  const unsigned char* ct = nonce + kNonceBytes;
  std::string tag = bytes->substr(kNonceBytes + ct_len);
  std::string plain(ct_len, '\0');
  ossl::CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key_.data(), nonce, nullptr) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, ubytes(key_id),
                        static_cast<int>(key_id.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), ubytes(plain), &len, ct, static_cast<int>(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagBytes, tag.data()) != 1) {
    ossl::wipe(plain);
    return Error::internal("AES-256-GCM decryption failed: " + ossl::drain_errors());
  }
  // Final checks the tag; until it passes the plaintext is unauthenticated and is thrown away.
  if (EVP_DecryptFinal_ex(ctx.get(), ubytes(plain) + len, &final_len) != 1) {
    ossl::wipe(plain);
    ossl::drain_errors();
    return Error::unauthenticated(
        "wrapped key does not authenticate: wrong key-encryption key, wrong key id, or "
        "tampered data");
  }
  return plain;
}

Result<std::string> wrap_private_jwk(const KeyEncryptionKey& kek, const Jwk& key) {
  if (key.kid().empty()) return Error::invalid("a wrapped key needs a kid", "kid");
  CUSTODY_ASSIGN(nlohmann::json jwk, key.private_json());
  std::string text = jwk.dump();
  for (auto& [name, value] : jwk.items()) {
    if (value.is_string()) ossl::wipe(value.get_ref<std::string&>());
  }
  auto wrapped = kek.wrap(key.kid(), text);
  ossl::wipe(text);
  return wrapped;
}

Result<Jwk> unwrap_private_jwk(const KeyEncryptionKey& kek, std::string_view kid,
                               std::string_view wrapped) {
  CUSTODY_ASSIGN(std::string text, kek.unwrap(kid, wrapped));
  StrictJson jwk = parse_json_object_strict(text);
  ossl::wipe(text);
  auto wipe_json = [&jwk] {
    for (auto& [name, value] : jwk.value.items()) {
      if (value.is_string()) ossl::wipe(value.get_ref<std::string&>());
    }
  };
  if (jwk.defect != JsonDefect::kNone) {
    return Error::invalid("unwrapped key is not a JSON object", "wrapped");
  }
  auto key = Jwk::parse_private(jwk.value, "wrapped key");
  wipe_json();
  if (!key.ok()) return std::move(key).error();
  if (key->kid() != kid) return Error::invalid("unwrapped key has another kid", "kid");
  return key;
}

}  // namespace custody::crypto
