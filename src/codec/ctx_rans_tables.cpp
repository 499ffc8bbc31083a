#include <algorithm>

#include "codec/ctx_rans_impl.h"
#include "codec/ints.h"

namespace zipllm::codec::ctx_rans {

namespace detail {

// Scales symbol counts (total > 0) to frequencies summing to 4096, every
// present symbol at least 1. Deterministic.
void normalize(const uint32_t* count, uint64_t total, uint32_t* freq) {
  uint32_t sum = 0;
  unsigned largest = 0;
  for (unsigned s = 0; s < 256; ++s) {
    freq[s] = 0;
    if (count[s]) {
      freq[s] = std::max<uint32_t>(
          1, static_cast<uint32_t>((uint64_t(count[s]) * k_prob + total / 2) / total));
      sum += freq[s];
      if (freq[s] > freq[largest]) {
        largest = s;
      }
    }
  }
  if (sum <= k_prob || freq[largest] > sum - k_prob) {
    freq[largest] = freq[largest] + k_prob - sum;
    return;
  }
  // Many symbols were rounded up to 1: take the excess from the largest
  // frequencies one at a time.
  while (sum > k_prob) {
    unsigned m = 0;
    for (unsigned s = 1; s < 256; ++s) {
      if (freq[s] > freq[m]) {
        m = s;
      }
    }
    --freq[m];
    --sum;
  }
}

ContextMap make_context_map(const format::DtypeInfo& dt, const std::vector<uint16_t>& exps) {
  ContextMap m;
  m.shift = dt.mant_bits;
  m.emask = (1u << dt.exp_bits) - 1;
  m.ctx_of.assign(m.emask + 1, 0);
  for (size_t k = 0; k < exps.size(); ++k) {
    m.ctx_of[exps[k]] = static_cast<uint8_t>(k + 1);
  }
  m.contexts = static_cast<unsigned>(exps.size() + 1);
  return m;
}

// context-list := nb:varint exponent:varint[nb]  (strictly increasing)
Result<ContextMap> read_context_map(ByteView enc, size_t& pos, const format::DtypeInfo& dt) {
  if (dt.exp_bits == 0) {
    return make_error(Errc::Corrupt, "context-coded chunk for a dtype without exponents");
  }
  const uint32_t emask = (1u << dt.exp_bits) - 1;
  uint64_t nexp = TRY(get_varint(enc, pos));
  if (nexp > emask + 1 || nexp >= k_max_contexts) {
    return make_error(Errc::Corrupt, "context-coded chunk lists too many exponents");
  }
  std::vector<uint16_t> exps;
  for (uint64_t j = 0; j < nexp; ++j) {
    uint64_t e = TRY(get_varint(enc, pos));
    if (e > emask || (!exps.empty() && e <= exps.back())) {
      return make_error(Errc::Corrupt, "context-coded chunk: exponents out of range or order");
    }
    exps.push_back(static_cast<uint16_t>(e));
  }
  return make_context_map(dt, exps);
}

// table := nsym:varint [symbols] [freqs]
//   symbols: none if nsym is 256; a 32-byte bitmap if nsym > 32; else nsym
//            increasing bytes
//   freqs:   nsym - 1 varints (the last is 4096 minus their sum); none if
//            nsym is 1 (frequency 4096)
void put_table(const uint32_t* freq, std::vector<uint8_t>& out) {
  unsigned nsym = 0;
  for (unsigned s = 0; s < 256; ++s) {
    nsym += freq[s] != 0;
  }
  put_varint(out, nsym);
  if (nsym == 0) {
    return;
  }
  if (nsym > 32 && nsym < 256) {
    for (unsigned byte = 0; byte < 32; ++byte) {
      uint8_t bits = 0;
      for (unsigned b = 0; b < 8; ++b) {
        bits = static_cast<uint8_t>(bits | (freq[byte * 8 + b] != 0) << b);
      }
      out.push_back(bits);
    }
  } else if (nsym <= 32) {
    for (unsigned s = 0; s < 256; ++s) {
      if (freq[s]) {
        out.push_back(static_cast<uint8_t>(s));
      }
    }
  }
  unsigned written = 0;
  for (unsigned s = 0; s < 256 && written + 1 < nsym; ++s) {
    if (freq[s]) {
      put_varint(out, freq[s]);
      ++written;
    }
  }
}

// Reads a table into freq[256]; returns the number of symbols (0: empty).
Result<unsigned> get_table(ByteView enc, size_t& pos, uint32_t* freq) {
  std::fill(freq, freq + 256, 0u);
  uint64_t nsym = TRY(get_varint(enc, pos));
  if (nsym > 256) {
    return make_error(Errc::Corrupt, "context coder: table with more than 256 symbols");
  }
  if (nsym == 0) {
    return 0u;
  }
  std::array<uint8_t, 256> syms{};
  if (nsym == 256) {
    for (unsigned s = 0; s < 256; ++s) {
      syms[s] = static_cast<uint8_t>(s);
    }
  } else if (nsym > 32) {
    if (enc.size() - pos < 32) {
      return make_error(Errc::Corrupt, "context coder: frequency table truncated");
    }
    unsigned k = 0;
    for (unsigned s = 0; s < 256; ++s) {
      if (enc[pos + s / 8] >> (s % 8) & 1) {
        if (k == nsym) {
          return make_error(Errc::Corrupt, "context coder: symbol bitmap does not match its count");
        }
        syms[k++] = static_cast<uint8_t>(s);
      }
    }
    if (k != nsym) {
      return make_error(Errc::Corrupt, "context coder: symbol bitmap does not match its count");
    }
    pos += 32;
  } else {
    if (enc.size() - pos < nsym) {
      return make_error(Errc::Corrupt, "context coder: frequency table truncated");
    }
    for (unsigned k = 0; k < nsym; ++k) {
      syms[k] = enc[pos + k];
      if (k && syms[k] <= syms[k - 1]) {
        return make_error(Errc::Corrupt, "context coder: symbols out of order");
      }
    }
    pos += nsym;
  }
  uint32_t sum = 0;
  for (unsigned k = 0; k + 1 < nsym; ++k) {
    uint64_t f = TRY(get_varint(enc, pos));
    if (f == 0 || f >= k_prob - sum) {
      return make_error(Errc::Corrupt, "context coder: frequencies out of range");
    }
    freq[syms[k]] = static_cast<uint32_t>(f);
    sum += static_cast<uint32_t>(f);
  }
  freq[syms[nsym - 1]] = k_prob - sum;  // >= 1 by the check above
  return nsym;
}

Status read_tables(ByteView enc, size_t& pos, unsigned w, const ContextMap& map, DecodeTables& t) {
  const unsigned nc = map.contexts;
  std::vector<uint32_t> ctx_off(nc);
  std::array<uint32_t, 256> freq{};
  size_t blocks = 0;
  std::vector<std::array<uint32_t, 256>> tables;
  std::vector<bool> present(nc, false);
  for (unsigned c = 0; c < nc; ++c) {
    unsigned nonempty = 0;
    for (unsigned j = 0; j < w; ++j) {
      unsigned nsym = TRY(get_table(enc, pos, freq.data()));
      if (nsym) {
        ++nonempty;
        tables.push_back(freq);
      }
    }
    if (nonempty != 0 && nonempty != w) {
      return make_error(Errc::Corrupt, "context coder: a context with some planes empty");
    }
    present[c] = nonempty != 0;
    blocks += present[c];
  }
  const size_t block = size_t(w) * k_prob;
  t.arena.resize((blocks + 1) * block);
  size_t next = 0;
  for (unsigned c = 0; c < nc; ++c) {
    if (!present[c]) {
      continue;
    }
    ctx_off[c] = static_cast<uint32_t>(next * block);
    for (unsigned j = 0; j < w; ++j) {
      const auto& f = tables[next * w + j];
      uint32_t* e = t.arena.data() + next * block + j * k_prob;
      uint32_t cum = 0;
      for (uint32_t s = 0; s < 256; ++s) {
        const uint32_t entry = s | (f[s] - 1) << 8;
        for (uint32_t slot = 0; slot < f[s]; ++slot) {
          e[cum + slot] = entry | slot << 20;
        }
        cum += f[s];
      }
    }
    ++next;
  }
  t.poison_off = static_cast<uint32_t>(blocks * block);
  std::fill(t.arena.begin() + static_cast<std::ptrdiff_t>(t.poison_off), t.arena.end(), 0u);
  for (unsigned c = 0; c < nc; ++c) {
    if (!present[c]) {
      ctx_off[c] = t.poison_off;
    }
  }
  t.exp_off.resize(map.emask + 1);
  for (uint32_t e = 0; e <= map.emask; ++e) {
    t.exp_off[e] = ctx_off[map.ctx_of[e]];
  }
  t.blk_fits = map.emask <= 255 && blocks <= 255;
  if (t.blk_fits) {
    t.exp_blk.fill(0);
    for (uint32_t e = 0; e <= map.emask; ++e) {
      t.exp_blk[e] = static_cast<uint8_t>(t.exp_off[e] / block);
    }
  }
  return {};
}

}  // namespace detail

using namespace detail;

EncSymbol make_symbol(uint32_t cum, uint32_t freq) {
  EncSymbol s;
  // After renormalisation x < freq * 2^19, so the step's result stays
  // below 2^31.
  s.cmpl = static_cast<uint16_t>(k_prob - freq);
  if (freq == 1) {
    // q = x - 1 (x >= 1): x + bias + (x - 1) * 4095 == 4096 x + cum.
    s.rcp = ~0u;
    s.shift = 0;
    s.bias = cum + k_prob - 1;
  } else {
    // shift = ceil(log2 freq); rcp = ceil(2^(31 + shift) / freq) < 2^32;
    // (x * rcp) >> (31 + shift) == x / freq for x < 2^31.
    uint32_t sh = 0;
    while (freq > (1u << sh)) {
      ++sh;
    }
    s.rcp = static_cast<uint32_t>(((uint64_t(1) << (sh + 31)) + freq - 1) / freq);
    s.shift = static_cast<uint16_t>(sh - 1);
    s.bias = cum;
  }
  return s;
}

}  // namespace zipllm::codec::ctx_rans
