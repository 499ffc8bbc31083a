#include "codec/entropy.h"

#include <htscodecs/rANS_static4x16.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "codec/ints.h"

namespace zipllm::codec {

namespace {

constexpr uint32_t k_small_stream = 8192;

void append_record(std::vector<uint8_t>& out, Coder c, uint32_t raw_len, const uint8_t* data,
                   uint32_t enc_len) {
  out.push_back(static_cast<uint8_t>(c));
  put_u32(out, raw_len);
  put_u32(out, enc_len);
  out.insert(out.end(), data, data + enc_len);
}

// rANS via htscodecs. The 32-way interleave is chosen explicitly (never the
// CPU-dependent "auto") so output bytes do not depend on the machine.
bool rans_encode(ByteView in, int order, std::vector<uint8_t>& buf) {
  int flags = order;
  if (in.size() >= 65536) {
    flags |= RANS_ORDER_X32;
  }
  unsigned bound = rans_compress_bound_4x16(static_cast<unsigned>(in.size()), flags);
  buf.resize(bound);
  unsigned out_size = bound;
  unsigned char* r =
      rans_compress_to_4x16(const_cast<uint8_t*>(in.data()), static_cast<unsigned>(in.size()),
                            buf.data(), &out_size, flags);
  if (!r) {
    return false;
  }
  buf.resize(out_size);
  return true;
}

bool zstd_encode(ByteView in, int level, std::vector<uint8_t>& buf) {
  buf.resize(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(buf.data(), buf.size(), in.data(), in.size(), level);
  if (ZSTD_isError(n)) {
    return false;
  }
  buf.resize(n);
  return true;
}

}  // namespace

void encode_stream(ByteView in, const Policy& policy, std::vector<uint8_t>& out) {
  uint32_t n = static_cast<uint32_t>(in.size());
  if (n > 0 && std::all_of(in.begin(), in.end(), [&](uint8_t b) { return b == in[0]; })) {
    append_record(out, Coder::Const, n, in.data(), 1);
    return;
  }
  Coder best = Coder::Raw;
  std::vector<uint8_t> best_buf;
  size_t best_size = in.size();
  std::vector<uint8_t> buf;
  auto consider = [&](Coder c) {
    if (buf.size() < best_size) {
      best = c;
      best_size = buf.size();
      best_buf.swap(buf);
    }
  };
  if (n >= 16) {
    if (policy.rans0 && rans_encode(in, 0, buf)) {
      consider(Coder::Rans0);
    }
    if (policy.rans1 && n >= 1024 && rans_encode(in, 1, buf)) {
      consider(Coder::Rans1);
    }
    // Small streams: rANS's frequency table is a large share of the output,
    // and zstd's Huffman literals sometimes cost less; trying is cheap.
    if ((policy.zstd || n <= k_small_stream) &&
        zstd_encode(in, policy.zstd ? policy.zstd_level : 3, buf)) {
      consider(Coder::Zstd);
    }
  }
  if (best == Coder::Raw) {
    append_record(out, Coder::Raw, n, in.data(), n);
  } else {
    append_record(out, best, n, best_buf.data(), static_cast<uint32_t>(best_buf.size()));
  }
}

Status decode_stream(ByteView in, size_t& pos, std::vector<uint8_t>& out, size_t expect_len) {
  out.resize(expect_len);
  return decode_stream_to(in, pos, out);
}

Status decode_stream_to(ByteView in, size_t& pos, std::span<uint8_t> out) {
  const size_t expect_len = out.size();
  if (pos > in.size() || in.size() - pos < k_record_overhead) {
    return make_error(Errc::Corrupt, "stream record truncated");
  }
  const uint8_t* p = in.data() + pos;
  uint8_t coder = p[0];
  uint32_t raw_len = get_u32(p + 1);
  uint32_t enc_len = get_u32(p + 5);
  if (raw_len != expect_len) {
    return make_error(Errc::Corrupt, "stream length " + std::to_string(raw_len) + ", expected " +
                                         std::to_string(expect_len));
  }
  if (enc_len > in.size() - pos - k_record_overhead) {
    return make_error(Errc::Corrupt, "stream payload runs past the chunk");
  }
  const uint8_t* payload = p + k_record_overhead;
  switch (static_cast<Coder>(coder)) {
    case Coder::Raw:
      if (enc_len != raw_len) {
        return make_error(Errc::Corrupt, "raw stream has wrong length");
      }
      if (raw_len) {
        std::memcpy(out.data(), payload, raw_len);
      }
      break;
    case Coder::Const:
      if (enc_len != 1) {
        return make_error(Errc::Corrupt, "constant stream has wrong length");
      }
      std::memset(out.data(), payload[0], raw_len);
      break;
    case Coder::Rans0:
    case Coder::Rans1: {
      unsigned got = raw_len;
      unsigned char* r =
          rans_uncompress_to_4x16(const_cast<uint8_t*>(payload), enc_len, out.data(), &got);
      if (!r || got != raw_len) {
        return make_error(Errc::Corrupt, "rANS stream does not decode");
      }
      break;
    }
    case Coder::Zstd: {
      size_t got = ZSTD_decompress(out.data(), raw_len, payload, enc_len);
      if (ZSTD_isError(got) || got != raw_len) {
        return make_error(Errc::Corrupt, "zstd stream does not decode");
      }
      break;
    }
    default:
      return make_error(Errc::Corrupt, "unknown stream coder " + std::to_string(coder));
  }
  pos += k_record_overhead + enc_len;
  return {};
}

}  // namespace zipllm::codec
