// Fuzz target: object container and chunk decoder.
//  1. The input as an object header + table: parsing must not crash.
//  2. The input as an encoded chunk: decoding must not crash or overrun.
//  3. The input as raw tensor bytes: encode (solo and against a derived
//     base) must be deterministic and decode to the input.
#include <cstdlib>
#include <vector>

#include "codec/chunk.h"
#include "format/object.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zipllm;
  ByteView in(data, size);
  if (size >= format::k_object_header_size) {
    auto h = format::parse_object_prefix(in.first(format::k_object_header_size));
    if (h && h->table_size() <= size - format::k_object_header_size) {
      (void)format::parse_object_table(*h, in.first(format::k_object_header_size),
                                       in.subspan(format::k_object_header_size, h->table_size()));
    }
  }
  if (size < 3) {
    return 0;
  }
  const format::DtypeInfo* dt = format::dtype_by_code(static_cast<uint8_t>(data[0] % 20 + 1));
  if (!dt) {
    return 0;
  }
  size_t out_len = (size_t(data[1]) << 4) | (data[2] & 15);
  std::vector<uint8_t> base(out_len);
  for (size_t i = 0; i < out_len; ++i) {
    base[i] = static_cast<uint8_t>(i * 131 + 7);
  }
  std::vector<uint8_t> out(out_len);
  (void)codec::decode_chunk(in.subspan(3), base, *dt, out);

  ByteView raw = in.subspan(3);
  std::vector<uint8_t> rbase(raw.begin(), raw.end());
  for (size_t i = 0; i < rbase.size(); i += 3) {
    rbase[i] ^= 1;
  }
  for (int with_base = 0; with_base < 2; ++with_base) {
    ByteView b = with_base ? ByteView(rbase) : ByteView();
    std::vector<uint8_t> enc, enc2;
    codec::encode_chunk(raw, b, *dt, codec::EncodeOptions{}, enc);
    codec::encode_chunk(raw, b, *dt, codec::EncodeOptions{}, enc2);
    std::vector<uint8_t> back(raw.size());
    if (enc != enc2 || !codec::decode_chunk(enc, b, *dt, back) ||
        !std::equal(back.begin(), back.end(), raw.begin())) {
      std::abort();
    }
  }
  return 0;
}
