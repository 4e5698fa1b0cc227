// AES-256-GCM key wrapping: round trips, tampering anywhere, wrong key id or KEK, KEK text forms.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/jws.h"
#include "crypto/key_wrap.h"
#include "crypto_fixtures.h"

namespace custody::crypto {
namespace {

using testing::error_of;
using testing::generate;

const std::string kTamperMessage =
    "wrapped key does not authenticate: wrong key-encryption key, wrong key id, or tampered data";

TEST(CryptoKeyWrap, RoundTrip) {
  KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const std::string secret = "private key material \x00\x01\xff";
  auto wrapped = kek.wrap("kid-1", secret);
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
  const std::string bytes = base64url_decode(*wrapped).value();
  EXPECT_EQ(bytes.size(), 12 + secret.size() + 16);
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  auto plain = kek.unwrap("kid-1", *wrapped);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(*plain, secret);
  // A fresh random nonce each time: the same plaintext never wraps to the same text.
  EXPECT_NE(kek.wrap("kid-1", secret).value(), *wrapped);
  // Empty plaintext still carries nonce and tag.
  EXPECT_EQ(kek.unwrap("k", kek.wrap("k", "").value()).value(), "");
}

TEST(CryptoKeyWrap, DetectsTamperingInNonceCiphertextAndTag) {
  KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const std::string wrapped = kek.wrap("kid-1", "0123456789abcdef0123456789abcdef").value();
  const std::string bytes = base64url_decode(wrapped).value();
  for (std::size_t i : {std::size_t{0}, std::size_t{11}, std::size_t{12}, std::size_t{30},
                        bytes.size() - 16, bytes.size() - 1}) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    auto r = kek.unwrap("kid-1", base64url_encode(flipped));
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.error().code, Code::kUnauthenticated);
    EXPECT_EQ(r.error().message, kTamperMessage);
  }
  // Truncated: one byte of the tag missing.
  EXPECT_EQ(error_of(kek.unwrap("kid-1", base64url_encode(bytes.substr(0, bytes.size() - 1)))),
            kTamperMessage);
}

TEST(CryptoKeyWrap, BindsTheKeyId) {
  KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const std::string wrapped = kek.wrap("kid-1", "secret").value();
  EXPECT_EQ(error_of(kek.unwrap("kid-2", wrapped)), kTamperMessage);
  EXPECT_EQ(error_of(kek.unwrap("", wrapped)), kTamperMessage);
}

TEST(CryptoKeyWrap, WrongKekFails) {
  KeyEncryptionKey a = KeyEncryptionKey::generate();
  KeyEncryptionKey b = KeyEncryptionKey::generate();
  EXPECT_EQ(error_of(b.unwrap("kid-1", a.wrap("kid-1", "secret").value())), kTamperMessage);
}

TEST(CryptoKeyWrap, RefusesMalformedWrappedText) {
  KeyEncryptionKey kek = KeyEncryptionKey::generate();
  const std::string message = "wrapped key is not base64url(nonce || ciphertext || tag)";
  for (const std::string& bad :
       {std::string("not base64url!"), base64url_encode(std::string(27, 'a')), std::string()}) {
    auto r = kek.unwrap("k", bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().message, message);
  }
}

TEST(CryptoKeyWrap, KekTextForms) {
  const std::string raw(32, '\x5a');
  KeyEncryptionKey reference = KeyEncryptionKey::from_bytes(raw).value();
  const std::string wrapped = reference.wrap("k", "secret").value();
  for (const std::string& text : {hex_encode(raw), base64url_encode(raw), base64_encode(raw) + "\n",
                                  "  " + hex_encode(raw)}) {
    auto kek = KeyEncryptionKey::from_text(text);
    ASSERT_TRUE(kek.ok()) << text;
    EXPECT_EQ(kek->unwrap("k", wrapped).value(), "secret") << text;
  }
  for (const std::string& text : {std::string(), hex_encode(raw.substr(1)),
                                  base64url_encode(raw + "x"), std::string(64, 'z')}) {
    auto kek = KeyEncryptionKey::from_text(text);
    ASSERT_FALSE(kek.ok()) << text;
    EXPECT_EQ(kek.error().message,
              "a key-encryption key must be 64 hex digits or the base64url of 32 bytes");
  }
  EXPECT_FALSE(KeyEncryptionKey::from_bytes(std::string(31, 'a')).ok());
}

TEST(CryptoKeyWrap, MovedFromKekIsWiped) {
  KeyEncryptionKey a = KeyEncryptionKey::generate();
  const std::string wrapped = a.wrap("k", "secret").value();
  KeyEncryptionKey b = std::move(a);
  EXPECT_EQ(b.unwrap("k", wrapped).value(), "secret");
  // NOLINTNEXTLINE(bugprone-use-after-move): the source is all zeros now, so it cannot unwrap.
  EXPECT_FALSE(a.unwrap("k", wrapped).ok());
}

TEST(CryptoKeyWrap, PrivateJwkRoundTripForEachKeyType) {
  KeyEncryptionKey kek = KeyEncryptionKey::generate();
  for (KeyType type : {KeyType::kEcP256, KeyType::kEd25519, KeyType::kRsa}) {
    Jwk key = generate(type);
    auto wrapped = wrap_private_jwk(kek, key);
    ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
    auto back = unwrap_private_jwk(kek, key.kid(), *wrapped);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(back->is_private());
    EXPECT_EQ(back->thumbprint(), key.thumbprint());
    EXPECT_EQ(back->kid(), key.kid());
    // The unwrapped key signs; the original's public half verifies.
    const std::string sig = back->sign("message").value();
    EXPECT_TRUE(key.verify("message", sig).ok());
    // Stored under another key's id it does not unwrap.
    EXPECT_EQ(error_of(unwrap_private_jwk(kek, "someone-else", *wrapped)), kTamperMessage);
  }
  Jwk pub = Jwk::parse_public(generate(KeyType::kEcP256).public_json()).value();
  EXPECT_EQ(error_of(wrap_private_jwk(kek, pub)), "not a private key");
}

}  // namespace
}  // namespace custody::crypto
