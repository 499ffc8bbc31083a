#include "codec/adaptive.h"

#include <algorithm>
#include <array>
#include <bit>
#include <type_traits>

#include "codec/ints.h"
#include "codec/words.h"

namespace zipllm::codec::adaptive {

namespace {

using format::DtypeInfo;

constexpr int k_steps = 32;         // step contexts: steps past 31 share the last
constexpr int k_prev = 4;           // classes of the previous element's length
constexpr int k_mix_sets = 8;       // mixer weight sets, by step (past 7 share)
constexpr int k_inputs = 4;         // models mixed per length decision
constexpr int k_max_len = 33;       // bit lengths 0 ... 32
constexpr int k_top_kn = 8;         // classes of how far below the ceiling L is
constexpr int k_modelled_bits = 2;  // bits below a delta's leading one that are modelled
constexpr int32_t k_w0 = 16384;     // initial mixer weight, 1/4 in 16.16
constexpr int k_lr = 5;             // mixer learning rate, in 1/4096 of err * stretch
constexpr int32_t k_w_max =
    1 << 22;  // weights stay within +-64 (a damaged stream cannot overflow them)

// The logistic function 4096 / (1 + e^(-d/256)) at d = -2048 + 128 k,
// k = 0 ... 32; squash() interpolates between them.
constexpr std::array<int, 33> k_squash_points = {
    1,    2,    4,    6,    10,   17,   27,   45,   74,   120,  194,
    311,  488,  747,  1102, 1546, 2048, 2550, 2994, 3349, 3608, 3785,
    3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095};

// Probability (of a 1, 12 bits) from the mixer's domain: d is the log odds
// times 256.
int squash(int d) {
  d = std::clamp(d, -2047, 2047);
  int x = d + 2048;
  int i = x >> 7, f = x & 127;
  return (k_squash_points[i] * (128 - f) + k_squash_points[i + 1] * f + 64) >> 7;
}

// Its inverse: the smallest d with squash(d) >= p, for every 12-bit p.
struct StretchTable {
  std::array<int16_t, 4096> t{};
  StretchTable() {
    int next = 0;
    for (int d = -2047; d <= 2047; ++d) {
      int v = squash(d);
      for (; next <= v; ++next) {
        t[next] = static_cast<int16_t>(d);
      }
    }
    for (; next < 4096; ++next) {
      t[next] = 2047;
    }
  }
};
const StretchTable k_stretch;

// Adaptation rate by how often a model has been used: 1 / (n + 1.5) at
// first (a frequency count), then a fixed 1/32 (it keeps following the
// data). 16-bit fixed point.
constexpr int k_rate_steps = 31;
struct RateTable {
  std::array<int32_t, k_rate_steps + 1> r{};
  constexpr RateTable() {
    for (int n = 0; n < k_rate_steps; ++n) {
      r[n] = 131072 / (2 * n + 3);
    }
    r[k_rate_steps] = 2048;
  }
};
constexpr RateTable k_rate;

// One adaptive binary model: the probability of a 1 in 16 bits.
struct Prob {
  uint16_t p = 32768;
  uint8_t n = 0;
  int p12() const { return std::clamp(p >> 4, 1, 4095); }
  void update(int bit) {
    int target = bit ? 65535 : 0;
    p = static_cast<uint16_t>(p + ((int64_t(target - p) * k_rate.r[n]) >> 16));
    if (n < k_rate_steps) {
      ++n;
    }
  }
};

// The binary arithmetic coder: a 32-bit interval [x1, x2], split in
// proportion to the probability; leading bytes are sent once both ends
// agree on them.
class Encoder {
 public:
  explicit Encoder(std::vector<uint8_t>& out) : m_out(out) {}
  int code(int bit, int p12) {
    uint32_t mid = m_x1 + static_cast<uint32_t>((uint64_t(m_x2 - m_x1) * uint32_t(p12)) >> 12);
    if (bit) {
      m_x2 = mid;
    } else {
      m_x1 = mid + 1;
    }
    while (((m_x1 ^ m_x2) & 0xff000000u) == 0) {
      m_out.push_back(static_cast<uint8_t>(m_x2 >> 24));
      m_x1 <<= 8;
      m_x2 = (m_x2 << 8) | 255;
    }
    return bit;
  }
  // Bits sent as they are (k <= 32), least significant first, into the
  // separate bit stream.
  uint32_t bits(uint32_t v, int k) {
    m_acc |= uint64_t(v) << m_nacc;
    m_nacc += k;
    while (m_nacc >= 8) {
      m_raw.push_back(static_cast<uint8_t>(m_acc));
      m_acc >>= 8;
      m_nacc -= 8;
    }
    return v;
  }
  // Ends both streams; the coded one goes to the output, the bit stream is
  // returned (its last byte padded with zero bits).
  std::vector<uint8_t> flush() {
    for (int k = 0; k < 4; ++k) {
      m_out.push_back(static_cast<uint8_t>(m_x1 >> 24));
      m_x1 <<= 8;
    }
    if (m_nacc > 0) {
      m_raw.push_back(static_cast<uint8_t>(m_acc));
    }
    return std::move(m_raw);
  }

 private:
  std::vector<uint8_t>& m_out;
  uint32_t m_x1 = 0, m_x2 = 0xffffffffu;
  std::vector<uint8_t> m_raw;
  uint64_t m_acc = 0;
  int m_nacc = 0;
};

class Decoder {
 public:
  Decoder(const uint8_t* p, const uint8_t* end, const uint8_t* raw, const uint8_t* raw_end)
      : m_p(p), m_end(end), m_raw(raw), m_raw_end(raw_end) {
    for (int k = 0; k < 4; ++k) {
      m_x = (m_x << 8) | next();
    }
  }
  int code(int, int p12) {
    uint32_t mid = m_x1 + static_cast<uint32_t>((uint64_t(m_x2 - m_x1) * uint32_t(p12)) >> 12);
    int bit = m_x <= mid;
    if (bit) {
      m_x2 = mid;
    } else {
      m_x1 = mid + 1;
    }
    while (((m_x1 ^ m_x2) & 0xff000000u) == 0) {
      m_x1 <<= 8;
      m_x2 = (m_x2 << 8) | 255;
      m_x = (m_x << 8) | next();
    }
    return bit;
  }
  uint32_t bits(uint32_t, int k) {
    while (m_nacc < k) {
      if (m_raw == m_raw_end) {
        m_overrun = true;
        return 0;
      }
      m_acc |= uint64_t(*m_raw++) << m_nacc;
      m_nacc += 8;
    }
    uint32_t v = static_cast<uint32_t>(m_acc & ((uint64_t(1) << k) - 1));
    m_acc >>= k;
    m_nacc -= k;
    return v;
  }
  // Whether both streams were read exactly to their ends (the encoder's
  // flush leaves the decoder needing no byte past them; the bit stream's
  // padding is zero).
  bool ended_exactly() const {
    return !m_overrun && m_p == m_end && m_raw == m_raw_end && m_nacc < 8 && m_acc == 0;
  }

 private:
  uint32_t next() {
    if (m_p < m_end) {
      return *m_p++;
    }
    m_overrun = true;
    return 0;
  }
  const uint8_t* m_p;
  const uint8_t* m_end;
  const uint8_t* m_raw;
  const uint8_t* m_raw_end;
  uint32_t m_x1 = 0, m_x2 = 0xffffffffu, m_x = 0;
  uint64_t m_acc = 0;
  int m_nacc = 0;
  bool m_overrun = false;
};

// Every model of one chunk, fresh for each.
struct Models {
  explicit Models(unsigned exponents)
      : by_exp(exponents * k_steps), by_all(exponents * k_prev * k_steps), escape(exponents) {
    weights.fill(k_w0);
  }
  std::array<Prob, k_steps> by_step{};
  std::vector<Prob> by_exp;
  std::array<Prob, k_prev * k_steps> by_prev{};
  std::vector<Prob> by_all;
  std::array<int32_t, k_mix_sets * k_inputs> weights{};
  std::array<Prob, k_max_len * 2> sign{};
  std::vector<Prob> escape;
  std::array<Prob, 32> excess{};
  std::array<Prob, k_max_len * k_top_kn * 4> top{};
};

// Codes (Encoder) or decodes (Decoder) one bit; the encoder's bit is
// passed in, the decoder's returned, so both run the same code below.
template <class Coder>
[[gnu::always_inline]] inline int code_direct(Coder& c, Prob& m, int bit) {
  bit = c.code(bit, m.p12());
  m.update(bit);
  return bit;
}

// One length decision, from the four models mixed in the logistic domain.
template <class Coder>
[[gnu::always_inline]] inline int code_mixed(Coder& c, Models& m, unsigned x, unsigned prev,
                                             int step, int bit) {
  const int s = std::min(step, k_steps - 1);
  Prob* in[k_inputs] = {&m.by_step[s], &m.by_exp[x * k_steps + s], &m.by_prev[prev * k_steps + s],
                        &m.by_all[(x * k_prev + prev) * k_steps + s]};
  int32_t* w = &m.weights[std::min(step, k_mix_sets - 1) * k_inputs];
  int st[k_inputs];
  int64_t dot = 0;
  for (int k = 0; k < k_inputs; ++k) {
    st[k] = k_stretch.t[in[k]->p12()];
    dot += int64_t(w[k]) * st[k];
  }
  const int p = std::clamp(squash(static_cast<int>(dot >> 16)), 1, 4095);
  bit = c.code(bit, p);
  const int err = ((bit << 12) - p) * k_lr;
  for (int k = 0; k < k_inputs; ++k) {
    w[k] = std::clamp(w[k] + ((st[k] * err) >> 12), -k_w_max, k_w_max);
    in[k]->update(bit);
  }
  return bit;
}

unsigned prev_class(unsigned len) {
  return len == 0 ? 0 : len <= 2 ? 1 : len <= 4 ? 2 : 3;
}

// The element loop, shared by encoder and decoder: W the word, Coder the
// direction. The encoder passes the fine-tune's words (`raw`); the decoder
// writes `out`.
template <class W, class Coder>
bool code_words(Coder& c, unsigned cap, const uint8_t* raw, const uint8_t* base, size_t n,
                const DtypeInfo& dt, uint8_t* out) {
  constexpr bool k_encoding = std::is_same_v<Coder, Encoder>;
  constexpr int k_bits = 8 * sizeof(W);
  const unsigned mant = dt.mant_bits;
  const unsigned emask = (1u << dt.exp_bits) - 1;
  // The exponents the base chunk has, numbered in increasing order: the
  // models by exponent are sized (and initialised) for those alone.
  std::array<uint8_t, 256> slot{};
  for (size_t i = 0; i < n; ++i) {
    slot[static_cast<unsigned>(load_word<W>(base + i * sizeof(W)) >> mant) & emask] = 1;
  }
  unsigned exponents = 0;
  for (unsigned v = 0; v <= emask; ++v) {
    if (slot[v]) {
      slot[v] = static_cast<uint8_t>(exponents++);
    }
  }
  Models m(std::max(exponents, 1u));
  unsigned prev = 0;
  for (size_t i = 0; i < n; ++i) {
    const W g = load_word<W>(base + i * sizeof(W));
    const unsigned e = static_cast<unsigned>(g >> mant) & emask;
    const unsigned x = slot[e];
    // Encoder: the delta's sign and magnitude.
    bool neg = false;
    W a_enc = 0;
    int len_enc = 0;
    if constexpr (k_encoding) {
      W d = W(float_key<W>(load_word<W>(raw + i * sizeof(W))) - float_key<W>(g));
      neg = (d & k_sign<W>) != 0;
      a_enc = neg ? W(W(0) - d) : d;
      len_enc = a_enc ? k_bits - std::countl_zero(a_enc) : 0;
    }
    // Its bit length: above the ceiling (rare: an escape, then the
    // length's excess in five bits), or one decision per step down from it.
    const int start = std::min(static_cast<int>(cap) - static_cast<int>(e), k_bits);
    int len = 0;
    if (start < k_bits && code_direct(c, m.escape[x], len_enc > std::max(start, 0))) {
      const int lo = std::max(start + 1, 1);
      unsigned node = 1;
      for (int k = 4; k >= 0; --k) {
        node = (node << 1) | unsigned(code_direct(c, m.excess[node], ((len_enc - lo) >> k) & 1));
      }
      len = lo + int(node - 32);
      if (len > k_bits) {
        return false;
      }
    } else {
      for (int step = 0; step < start; ++step) {
        if (code_mixed(c, m, x, prev, step, len_enc == start - step)) {
          len = start - step;
          break;
        }
      }
    }
    W d = 0;
    if (len > 0) {
      const unsigned gs = static_cast<unsigned>(g >> (k_bits - 1));
      neg = code_direct(c, m.sign[len * 2 + gs], neg);
      // How far below the ceiling it lies (0 also for those above it).
      const unsigned below = static_cast<unsigned>(std::clamp(start - len, 0, k_top_kn - 1));
      // The two bits below the leading one are modelled; the others are
      // close to uniform and go to the bit stream as they are.
      uint32_t a = 1;
      const int modelled = std::min(len - 1, k_modelled_bits);
      for (int t = 0; t < modelled; ++t) {
        Prob& pm = m.top[(len * k_top_kn + below) * 4 + a];
        a = (a << 1) | unsigned(code_direct(c, pm, int((uint32_t(a_enc) >> (len - 2 - t)) & 1)));
      }
      if (const int raw_bits = len - 1 - modelled; raw_bits > 0) {
        a = (a << raw_bits) | c.bits(uint32_t(a_enc) & ((uint32_t(1) << raw_bits) - 1), raw_bits);
      }
      d = neg ? W(W(0) - W(a)) : W(a);
    }
    prev = prev_class(static_cast<unsigned>(len));
    if constexpr (!k_encoding) {
      store_word<W>(out + i * sizeof(W), float_unkey<W>(W(float_key<W>(g) + d)));
    }
  }
  return true;
}

// The ceiling C the chunk sends: the smallest with at most n / 256 nonzero
// deltas above it (L + e > C), so that a few outliers (weights crossing
// zero, whose key distance is large) do not make every element start its
// length decisions from far above where its length lies.
template <class W>
unsigned ceiling(const uint8_t* raw, const uint8_t* base, size_t n, const DtypeInfo& dt) {
  constexpr int k_bits = 8 * sizeof(W);
  const unsigned emask = (1u << dt.exp_bits) - 1;
  std::array<uint32_t, 256 + k_bits + 1> count{};
  for (size_t i = 0; i < n; ++i) {
    const W g = load_word<W>(base + i * sizeof(W));
    W d = W(float_key<W>(load_word<W>(raw + i * sizeof(W))) - float_key<W>(g));
    W a = (d & k_sign<W>) ? W(W(0) - d) : d;
    if (a) {
      unsigned e = static_cast<unsigned>(g >> dt.mant_bits) & emask;
      ++count[e + unsigned(k_bits - std::countl_zero(a))];
    }
  }
  const size_t allowed = n / 256;
  size_t above = 0;
  unsigned cap = static_cast<unsigned>(count.size() - 1);
  while (cap > 0 && above + count[cap] <= allowed) {
    above += count[cap];
    --cap;
  }
  return cap;
}

}  // namespace

bool supports(const DtypeInfo& dt) {
  return dt.exp_bits > 0 && dt.exp_bits <= 8 && (dt.word == 2 || dt.word == 4);
}

void encode(const uint8_t* raw, const uint8_t* base, size_t n, const DtypeInfo& dt,
            std::vector<uint8_t>& out) {
  const unsigned cap =
      dt.word == 2 ? ceiling<uint16_t>(raw, base, n, dt) : ceiling<uint32_t>(raw, base, n, dt);
  std::vector<uint8_t> coded;
  Encoder c(coded);
  if (dt.word == 2) {
    code_words<uint16_t>(c, cap, raw, base, n, dt, nullptr);
  } else {
    code_words<uint32_t>(c, cap, raw, base, n, dt, nullptr);
  }
  std::vector<uint8_t> bits = c.flush();
  out.push_back(static_cast<uint8_t>(cap));
  out.push_back(static_cast<uint8_t>(cap >> 8));
  put_varint(out, coded.size());
  put_varint(out, bits.size());
  out.insert(out.end(), coded.begin(), coded.end());
  out.insert(out.end(), bits.begin(), bits.end());
}

Status decode(ByteView enc, size_t& pos, const uint8_t* base, size_t n, const DtypeInfo& dt,
              uint8_t* out) {
  if (!supports(dt)) {
    return make_error(Errc::Corrupt, "adaptive delta chunk of a dtype it cannot hold");
  }
  if (enc.size() - pos < 2) {
    return make_error(Errc::Corrupt, "adaptive delta chunk cut short");
  }
  const unsigned cap = enc[pos] | (unsigned(enc[pos + 1]) << 8);
  pos += 2;
  const uint64_t coded_len = TRY(get_varint(enc, pos));
  const uint64_t bits_len = TRY(get_varint(enc, pos));
  if (coded_len < 4 || coded_len > enc.size() - pos || bits_len > enc.size() - pos - coded_len) {
    return make_error(Errc::Corrupt, "adaptive delta stream lengths out of range");
  }
  const uint8_t* coded = enc.data() + pos;
  const uint8_t* bits = coded + coded_len;
  pos += coded_len + bits_len;
  Decoder c(coded, coded + coded_len, bits, bits + bits_len);
  const bool ok = dt.word == 2 ? code_words<uint16_t>(c, cap, nullptr, base, n, dt, out)
                               : code_words<uint32_t>(c, cap, nullptr, base, n, dt, out);
  if (!ok) {
    return make_error(Errc::Corrupt, "adaptive delta stream codes a delta wider than its word");
  }
  if (!c.ended_exactly()) {
    return make_error(Errc::Corrupt, "adaptive delta streams do not end where their lengths say");
  }
  return {};
}

}  // namespace zipllm::codec::adaptive
