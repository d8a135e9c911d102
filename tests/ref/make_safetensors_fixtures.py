#!/usr/bin/env python3
"""make_safetensors_fixtures.py — dev script: writes testdata/safetensors/ with
  good.safetensors      written by the reference `safetensors` library: F32, BF16, F16, I64
  good.json             the values each tensor holds, as float32 (what st_read_f32 must give)
  sharded/              model.safetensors.index.json + two shards, also written by the library
  bad-*.safetensors     malformed files, each with the message fragment expected, in bad.tsv
Run from the repo root: python3 tests/ref/make_safetensors_fixtures.py"""
import json, os, struct
import numpy as np
import torch
from safetensors.torch import save_file

OUT = "testdata/safetensors"
os.makedirs(OUT + "/sharded", exist_ok=True)
g = torch.Generator().manual_seed(1)
vals = {
    "a.f32": torch.randn(3, 5, generator=g),
    "b.bf16": torch.randn(7, generator=g).to(torch.bfloat16),
    "c.f16": (torch.randn(2, 3, generator=g) * 100).to(torch.float16),
    "d.i64": torch.arange(4, dtype=torch.int64),
    "e.scalar": torch.tensor(2.5),
    "f.empty": torch.zeros(0, 3),
}
# special values: subnormal and large f16, bf16 rounding targets
vals["c.f16"][0, 0] = torch.tensor(6.1e-5, dtype=torch.float16)   # near the f16 normal minimum
vals["c.f16"][0, 1] = torch.tensor(3e-7, dtype=torch.float16)     # f16 subnormal
vals["c.f16"][1, 2] = torch.tensor(-65504.0, dtype=torch.float16)
save_file(vals, OUT + "/good.safetensors", metadata={"format": "pt", "note": "fixture"})
json.dump({k: {"dtype": str(v.dtype), "shape": list(v.shape), "f32": v.float().flatten().tolist()}
           for k, v in vals.items()}, open(OUT + "/good.json", "w"), indent=0)

# A sharded checkpoint the way transformers lays it out.
s1 = {"x.w": torch.randn(4, 4, generator=g), "x.b": torch.randn(4, generator=g)}
s2 = {"y.w": torch.randn(2, 4, generator=g).to(torch.bfloat16)}
save_file(s1, OUT + "/sharded/model-00001-of-00002.safetensors", metadata={"format": "pt"})
save_file(s2, OUT + "/sharded/model-00002-of-00002.safetensors", metadata={"format": "pt"})
json.dump({"metadata": {"total_size": 4 * 20 + 2 * 8},
           "weight_map": {"x.w": "model-00001-of-00002.safetensors", "x.b": "model-00001-of-00002.safetensors",
                          "y.w": "model-00002-of-00002.safetensors"}},
          open(OUT + "/sharded/model.safetensors.index.json", "w"), indent=2)

def raw(header, data=b"", hlen=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data

ok = {"t": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
bad = [  # name, bytes, expected message fragment
    ("empty", b"", "too short"),
    ("short", b"\x10\x00\x00", "too short"),
    ("hlen-huge", raw(ok, bytes(16), hlen=1 << 40), "exceeds the limit"),
    ("hlen-past-end", raw(ok, bytes(16), hlen=200), "runs past the end of the file"),
    ("truncated-data", raw(ok, bytes(10)), "run past the end of the data"),
    ("bad-json", raw(b'{"t": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}'), "not valid JSON"),
    ("not-object", raw(b'[1, 2, 3]'), "not a JSON object"),
    ("bad-dtype", raw({"t": {"dtype": "F8", "shape": [2], "data_offsets": [0, 2]}}, bytes(2)), "unknown dtype"),
    ("no-dtype", raw({"t": {"shape": [2], "data_offsets": [0, 8]}}, bytes(8)), "\"dtype\" is missing"),
    ("neg-shape", raw({"t": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8)), "not a non-negative integer"),
    ("size-mismatch", raw({"t": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 16]}}, bytes(16)), "needs 24"),
    ("offsets-reversed", raw({"t": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}, bytes(8)), "begin <= end"),
    ("overlap", raw({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                     "u": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, bytes(16)), "overlaps"),
    ("bad-metadata", raw({"__metadata__": {"format": 1}, **ok}, bytes(16)), "is not a string"),
    ("metadata-not-object", raw({"__metadata__": 5, **ok}, bytes(16)), "__metadata__ is not an object"),
    ("offsets-float", raw({"t": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0.5, 16]}}, bytes(16)), "data_offsets"),
    ("entry-not-object", raw({"t": 5}), "not an object"),
    ("too-many-dims", raw({"t": {"dtype": "U8", "shape": [1] * 9, "data_offsets": [0, 1]}}, bytes(1)), "dimensions"),
]
with open(OUT + "/bad.tsv", "w") as f:
    for name, b, msg in bad:
        open(f"{OUT}/bad-{name}.safetensors", "wb").write(b)
        f.write(f"bad-{name}.safetensors\t{msg}\n")
print(f"wrote {OUT}: good, sharded, {len(bad)} bad files")

# Rounding fixture: float32 bit patterns and what torch makes of them in bf16 and f16
# (round to nearest even, subnormals, overflow to inf, NaN), all as integers.
xs = torch.cat([torch.randn(200, generator=g) * 10 ** torch.randint(-9, 6, (200,), generator=g).float(),
                torch.tensor([0.0, -0.0, 1.0, 65504.0, 65519.0, 65520.0, 1e6, 6e-8, 3e-8, 2.9e-8, 1e-10,
                              5.96e-8, 6.1e-5, 6.09e-5, float("inf"), float("-inf"), 3.4e38, 1.00390625, 1.01171875])])
bits = [b & 0xFFFFFFFF for b in xs.view(torch.int32).tolist()]
ties = [0x3F808000, 0x3F818000, 0x3F800FFF, 0x3F801000, 0x3F803000, 0x7F7FFFFF, 0x00000001, 0x807FFFFF]
bits += ties
t = torch.from_numpy(np.array(bits, dtype=np.uint32).view(np.float32))
json.dump({"f32_bits": bits,
           "bf16": [b & 0xFFFF for b in t.to(torch.bfloat16).view(torch.int16).tolist()],
           "f16": [b & 0xFFFF for b in t.to(torch.float16).view(torch.int16).tolist()]},
          open(OUT + "/round.json", "w"))
print("wrote round.json:", len(bits), "values")
