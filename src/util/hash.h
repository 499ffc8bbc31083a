// Hashes: XXH3-128 object ids, XXH3-64 checksums, streaming SHA-256.
// Pure functions of memory; thread-safe; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace zipllm {

using ByteView = std::span<const uint8_t>;

// An object id: XXH3-128 of an object's raw (decoded) bytes. Printed as 32
// lowercase hex digits, high 64 bits first (the canonical XXH128 order).
struct ObjectId {
  std::array<uint8_t, 16> bytes{};  // canonical big-endian representation

  std::string hex() const;
  static std::optional<ObjectId> from_hex(std::string_view hex);
  bool is_zero() const;
  auto operator<=>(const ObjectId&) const = default;
};

struct ObjectIdHash {
  size_t operator()(const ObjectId& id) const;
};

ObjectId object_id_of(ByteView data);
uint64_t checksum64(ByteView data);

// Incremental XXH3-128 for data that arrives in pieces.
class IdHasher {
 public:
  IdHasher();
  ~IdHasher();
  IdHasher(const IdHasher&) = delete;
  IdHasher& operator=(const IdHasher&) = delete;
  void update(ByteView data);
  ObjectId finish() const;

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

// Incremental SHA-256 (OpenSSL; uses SHA-NI where the CPU has it).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(ByteView data);
  std::array<uint8_t, 32> finish();
  static std::string hex(const std::array<uint8_t, 32>& digest);
  static std::optional<std::array<uint8_t, 32>> from_hex(std::string_view hex);

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

std::string to_hex(ByteView data);

// HMAC-SHA256 of `msg` under `key`: 32 bytes, as a byte string.
std::string hmac_sha256(std::string_view key, std::string_view msg);

}  // namespace zipllm
