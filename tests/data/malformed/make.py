#!/usr/bin/env python3
"""Writes the malformed-input corpus: one file per case, in one folder per
parser (safetensors, manifest, object, pkt, lfs). Every case must be
rejected with an error message (tests/unit/test_malformed_corpus.cpp).
Deterministic; rerun after changing a case:  python3 make.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "golden")


def write(kind, name, data):
    d = os.path.join(HERE, kind)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def st(header, data=b"", raw_len=None):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    n = len(h) if raw_len is None else raw_len
    return struct.pack("<Q", n) + h + data


T = lambda dt, shape, b, e: {"dtype": dt, "shape": shape, "data_offsets": [b, e]}

# ---- safetensors ----
write("safetensors", "empty", b"")
write("safetensors", "seven_bytes", b"\x10\x00\x00\x00\x00\x00\x00")
write("safetensors", "length_past_end", st({"a": T("F32", [1], 0, 4)}, b"\0" * 4, raw_len=1000))
write("safetensors", "length_zero", st(b"", b"\0" * 16, raw_len=0))
write("safetensors", "not_json", st(b"{this is not json}", b""))
write("safetensors", "json_array", st(b'[1,2,3]', b""))
write("safetensors", "missing_dtype", st({"a": {"shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4))
write("safetensors", "unknown_dtype", st({"a": T("F12", [1], 0, 4)}, b"\0" * 4))
write("safetensors", "shape_size_mismatch", st({"a": T("F32", [3], 0, 4)}, b"\0" * 4))
write("safetensors", "overlap", st({"a": T("F32", [2], 0, 8), "b": T("F32", [2], 4, 12)}, b"\0" * 12))
write("safetensors", "gap", st({"a": T("F32", [1], 0, 4), "b": T("F32", [1], 8, 12)}, b"\0" * 12))
write("safetensors", "offset_past_data", st({"a": T("F32", [4], 0, 16)}, b"\0" * 8))
write("safetensors", "negative_offset", st(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', b"\0" * 4))
write("safetensors", "begin_after_end", st({"a": T("F32", [1], 8, 4)}, b"\0" * 8))
write("safetensors", "shape_overflow",
      st({"a": T("F32", [2**62, 2**62], 0, 4)}, b"\0" * 4))
write("safetensors", "metadata_not_strings", st({"__metadata__": {"x": 1}, "a": T("F32", [1], 0, 4)}, b"\0" * 4))
write("safetensors", "garbage_after_json", st(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}xx', b"\0" * 4))
write("safetensors", "shape_not_list", st(b'{"a":{"dtype":"F32","shape":7,"data_offsets":[0,4]}}', b"\0" * 4))
write("safetensors", "offsets_three", st(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', b"\0" * 8))
write("safetensors", "tensor_not_object", st(b'{"a":[1,2]}', b""))

# ---- manifests ----
ID = "0123456789abcdef0123456789abcdef"
SHA = "ab" * 32
good = ("zipllm manifest v1\nsize 100\nsha256 %s\nheader %s 20\n"
        'tensor %s F32 [4] 0 16 "w"\n' % (SHA, ID, ID))
write("manifest", "empty", "")
write("manifest", "wrong_magic", good.replace("v1", "v9", 1))
write("manifest", "missing_size", good.replace("size 100\n", ""))
write("manifest", "size_leading_zero", good.replace("size 100", "size 0100"))
write("manifest", "size_not_decimal", good.replace("size 100", "size 0x64"))
write("manifest", "sha_short", good.replace(SHA, SHA[:62]))
write("manifest", "sha_uppercase", good.replace(SHA, SHA.upper()))
write("manifest", "header_bad_id", good.replace("header " + ID, "header " + ID[:31] + "g"))
write("manifest", "tensor_bad_dtype", good.replace(" F32 ", " F33 "))
write("manifest", "shape_with_space", good.replace("[4]", "[4, 1]"))
write("manifest", "name_not_json", good.replace('"w"', "w"))
write("manifest", "crlf_lines", good.replace("\n", "\r\n"))
write("manifest", "no_final_newline", good[:-1])
write("manifest", "unknown_line", good + "extra 1\n")
write("manifest", "generic_zero_part", "zipllm manifest v1\nsize 0\nsha256 %s\ngeneric\ndata %s 0\n" % (SHA, ID))
write("manifest", "generic_parts_exceed",
      "zipllm manifest v1\nsize 10\nsha256 %s\ngeneric\ndata %s 11\n" % (SHA, ID))
write("manifest", "generic_parts_short",
      "zipllm manifest v1\nsize 10\nsha256 %s\ngeneric\ndata %s 9\n" % (SHA, ID))
write("manifest", "tensor_end_before_begin", good.replace(" 0 16 ", " 16 0 "))

# ---- objects (mutations of the golden object) ----
with open(os.path.join(GOLDEN, "object_v1.bin"), "rb") as f:
    obj = bytearray(f.read())


def mut(name, fn):
    b = bytearray(obj)
    b = fn(b) or b
    write("object", name, bytes(b))


def setb(i, v):
    def f(b):
        b[i] = v
    return f


write("object", "empty", b"")
write("object", "header_only_half", bytes(obj[:40]))
mut("bad_magic", setb(0, ord("X")))
mut("bad_version", setb(4, 9))
mut("unknown_kind", setb(6, 77))
mut("unknown_dtype", setb(7, 200))
mut("header_byte_flipped", setb(20, obj[20] ^ 1))
mut("table_byte_flipped", setb(76 + 2, obj[76 + 2] ^ 0x10))
mut("chunk_byte_flipped", setb(len(obj) - 5, obj[-5] ^ 0x40))
mut("truncated_last_byte", lambda b: b[:-1])
mut("extra_byte", lambda b: b + b"\0")
mut("truncated_table", lambda b: b[:80])

# ---- pkt-lines (git's framing) ----
write("pkt", "bad_hex", b"zz12hello")
write("pkt", "uppercase_hex", b"000Ahello\n")
write("pkt", "length_1", b"0001")
write("pkt", "length_3", b"0003")
write("pkt", "length_too_big", b"fff5" + b"x" * 70000)
write("pkt", "truncated_payload", b"0010abc")
write("pkt", "truncated_length", b"00")
write("pkt", "eof_inside_list", b"0012command=clean\n")
write("pkt", "eof_after_two", b"0012command=clean\n0013pathname=a.bin\n")
write("pkt", "space_in_length", b"00 9abcde")

# ---- LFS custom transfer messages ----
OID = "a" * 64
write("lfs", "not_json", "this is not json")
write("lfs", "array", '["event","upload"]')
write("lfs", "number", "42")
write("lfs", "event_number", '{"event":5}')
write("lfs", "no_event", '{"oid":"%s","size":1}' % OID)
write("lfs", "oid_number", '{"event":"upload","oid":12345,"size":1,"path":"x"}')
write("lfs", "oid_short", '{"event":"download","oid":"%s","size":1}' % OID[:63])
write("lfs", "oid_uppercase", '{"event":"download","oid":"%s","size":1}' % OID.upper())
write("lfs", "oid_path_traversal", '{"event":"download","oid":"../../../../etc/passwd","size":1}')
write("lfs", "size_string", '{"event":"download","oid":"%s","size":"big"}' % OID)
write("lfs", "size_negative", '{"event":"download","oid":"%s","size":-1}' % OID)
write("lfs", "size_float", '{"event":"download","oid":"%s","size":1.5}' % OID)
write("lfs", "size_missing", '{"event":"download","oid":"%s"}' % OID)
write("lfs", "upload_no_path", '{"event":"upload","oid":"%s","size":1}' % OID)
write("lfs", "upload_path_number", '{"event":"upload","oid":"%s","size":1,"path":7}' % OID)
write("lfs", "truncated_json", '{"event":"upload","oid":"%s"' % OID)
