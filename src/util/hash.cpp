#include "util/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <xxhash.h>

#include <cstring>

namespace zipllm {

std::string to_hex(ByteView data) {
  static const char* k_digits = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(k_digits[b >> 4]);
    out.push_back(k_digits[b & 15]);
  }
  return out;
}

std::string ObjectId::hex() const {
  return to_hex(bytes);
}

namespace {

// Lowercase hex digits into bytes; false on any other length or digit.
bool bytes_from_hex(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != 2 * out.size()) {
    return false;
  }
  for (size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    out[i / 2] = static_cast<uint8_t>(i % 2 ? (out[i / 2] << 4) | d : d);
  }
  return true;
}

}  // namespace

std::optional<ObjectId> ObjectId::from_hex(std::string_view hex) {
  ObjectId id;
  if (!bytes_from_hex(hex, id.bytes)) {
    return std::nullopt;
  }
  return id;
}

bool ObjectId::is_zero() const {
  for (uint8_t b : bytes) {
    if (b != 0) {
      return false;
    }
  }
  return true;
}

size_t ObjectIdHash::operator()(const ObjectId& id) const {
  size_t h;
  std::memcpy(&h, id.bytes.data(), sizeof h);
  return h;
}

static ObjectId from_xxh128(XXH128_hash_t h) {
  ObjectId id;
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  std::memcpy(id.bytes.data(), c.digest, 16);
  return id;
}

ObjectId object_id_of(ByteView data) {
  return from_xxh128(XXH3_128bits(data.data(), data.size()));
}

uint64_t checksum64(ByteView data) {
  return XXH3_64bits(data.data(), data.size());
}

struct IdHasher::State {
  XXH3_state_t* st = nullptr;
};

IdHasher::IdHasher() : m_state(std::make_unique<State>()) {
  m_state->st = XXH3_createState();
  XXH3_128bits_reset(m_state->st);
}

IdHasher::~IdHasher() {
  XXH3_freeState(m_state->st);
}

void IdHasher::update(ByteView data) {
  XXH3_128bits_update(m_state->st, data.data(), data.size());
}

ObjectId IdHasher::finish() const {
  return from_xxh128(XXH3_128bits_digest(m_state->st));
}

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : m_state(std::make_unique<State>()) {
  m_state->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(m_state->ctx, EVP_sha256(), nullptr);
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(m_state->ctx);
}

void Sha256::update(ByteView data) {
  EVP_DigestUpdate(m_state->ctx, data.data(), data.size());
}

std::array<uint8_t, 32> Sha256::finish() {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(m_state->ctx, out.data(), &len);
  return out;
}

std::optional<std::array<uint8_t, 32>> Sha256::from_hex(std::string_view hex) {
  std::array<uint8_t, 32> out{};
  if (!bytes_from_hex(hex, out)) {
    return std::nullopt;
  }
  return out;
}

std::string Sha256::hex(const std::array<uint8_t, 32>& digest) {
  return to_hex(digest);
}

std::string hmac_sha256(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace zipllm
