#!/usr/bin/env python3
"""Reads a matcomp model file (.mcz, format version 2; docs/EXPORT_FORMAT.md) with numpy alone.

    python3 scripts/mcz_reader.py model.mcz                     # the layers and their dense W
    python3 scripts/mcz_reader.py model.mcz --input x.npy --output logits.npy   # CIFAR-10 CNN forward

The file is checked (magic, version, CRC-32), every compressed weight's dense W is rebuilt from
its factors (lowrank, simhash, kmeans, dictionary, prune: the methods' materialize() code,
written again in numpy), and the Cifar10Cnn forward pass runs in float64.
"""
import argparse
import json
import struct
import sys
import zlib

import numpy as np

MAGIC = b"MCEXPORT"
VERSION = 2
INT_DTYPES = {"|u1", "|i1", "|b1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8"}


class FormatError(Exception):
    pass


# ---------------------------------------------------------------- the container


def unpack_integers(raw, count, bits, minimum, dtype):
    """count values of `bits` bits each, LSB first, plus minimum (mod 2^64), as `dtype`."""
    if bits == 0:
        packed = np.zeros(count, dtype=np.uint64)
    else:
        bit_array = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
        bit_array = bit_array[: count * bits].reshape(count, bits).astype(np.uint64)
        packed = np.zeros(count, dtype=np.uint64)
        for b in range(bits):
            packed |= bit_array[:, b] << np.uint64(b)
    values = packed + np.uint64(minimum % (1 << 64))  # wraps mod 2^64, like the writer
    return values.astype(np.dtype(dtype))  # keeps the low bits: two's complement for signed dtypes


def read_model_file(path):
    """(header dict, {name: float32 array}, {name: integer array}) after every check."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 16 or data[:8] != MAGIC:
        raise FormatError(f"{path}: not a matcomp model file (bad magic)")
    version, stored_crc = struct.unpack_from("<II", data, 8)
    if version != VERSION:
        raise FormatError(f"{path}: model file format version {version}, this reader reads version {VERSION}")
    if len(data) < 32:
        raise FormatError(f"{path}: truncated")
    crc = zlib.crc32(data[16:]) & 0xFFFFFFFF
    if crc != stored_crc:
        raise FormatError(f"{path}: checksum mismatch (CRC-32 {crc:#010x}, the file says {stored_crc:#010x})")
    payload_size, deflated_size = struct.unpack_from("<QQ", data, 16)
    if deflated_size != len(data) - 32:
        raise FormatError(f"{path}: deflated size {deflated_size}, {len(data) - 32} bytes follow")
    payload = zlib.decompress(data[32:])
    if len(payload) != payload_size:
        raise FormatError(f"{path}: payload of {len(payload)} bytes, the header says {payload_size}")
    (header_len,) = struct.unpack_from("<Q", payload, 0)
    header = json.loads(payload[8 : 8 + header_len].decode("utf-8"))
    if header.get("format") != "matcomp-model" or header.get("version") != VERSION:
        raise FormatError(f"{path}: header format/version {header.get('format')}/{header.get('version')}")
    pos = 8 + header_len
    floats, integers, masked = {}, {}, []
    for e in header["entries"]:
        shape = tuple(e["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if e["kind"] == "f32":
            floats[e["name"]] = np.frombuffer(payload, "<f4", count, pos).reshape(shape).copy()
            pos += 4 * count
        elif e["kind"] == "f32_masked":
            masked.append((e["name"], shape, e["mask"], np.frombuffer(payload, "<f4", e["count"], pos)))
            pos += 4 * e["count"]
        elif e["kind"] == "int":
            if e["dtype"] not in INT_DTYPES:
                raise FormatError(f"{path}: {e['name']}: dtype {e['dtype']}")
            nbytes = (count * e["bits"] + 7) // 8
            raw = payload[pos : pos + nbytes]
            integers[e["name"]] = unpack_integers(raw, count, e["bits"], e["min"], e["dtype"]).reshape(shape)
            pos += nbytes
        else:
            raise FormatError(f"{path}: unknown entry kind {e['kind']}")
    if pos != len(payload):
        raise FormatError(f"{path}: {len(payload) - pos} bytes after the last entry")
    for name, shape, mask_name, values in masked:
        mask = integers[mask_name].reshape(-1).astype(bool)
        if mask.size != int(np.prod(shape)) or mask.sum() != values.size:
            raise FormatError(f"{path}: mask {mask_name} does not fit {name}")
        full = np.zeros(mask.size, dtype=np.float32)
        full[mask] = values
        floats[name] = full.reshape(shape)
    return header, floats, integers


# ---------------------------------------------------------------- matcomp's Rng (simhash's R)

M64 = (1 << 64) - 1


def _step_scalar(s):
    s0, s1, s2, s3 = s
    t = (s1 << 17) & M64
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = ((s3 << 45) | (s3 >> 19)) & M64
    return [s0, s1, s2, s3]


def _seed_state(seed):
    x, s = seed & M64, []
    for _ in range(4):
        x = (x + 0x9E3779B97F4A7C15) & M64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        s.append(z ^ (z >> 31))
    return s


def _to_bits(s):
    return np.array([(s[w] >> b) & 1 for w in range(4) for b in range(64)], dtype=np.int64)


def _from_bits(v):
    return [int(sum(int(v[w * 64 + b]) << b for b in range(64))) for w in range(4)]


def _jump_matrix(steps):
    """The GF(2) matrix (256 x 256) of `steps` xoshiro256** state transitions (it is linear)."""
    one = np.zeros((256, 256), dtype=np.int64)
    for i in range(256):
        basis = [0, 0, 0, 0]
        basis[i // 64] = 1 << (i % 64)
        one[:, i] = _to_bits(_step_scalar(basis))
    result, power = np.eye(256, dtype=np.int64), one
    while steps:
        if steps & 1:
            result = (result @ power) & 1
        power = (power @ power) & 1
        steps >>= 1
    return result


def rng_u64(seed, count, lanes=2048):
    """The first `count` outputs of matcomp's Rng(seed).next_u64(), in order.

    The stream is cut into `lanes` consecutive pieces whose start states are found by jumping
    ahead (the transition is linear over GF(2)); the pieces then advance together in numpy."""
    per_lane = max(1, -(-count // lanes))
    jump = _jump_matrix(per_lane)
    starts, v = [], _to_bits(_seed_state(seed))
    for _ in range(lanes):
        starts.append(_from_bits(v))
        v = (jump @ v) & 1
    s0, s1, s2, s3 = (np.array([st[w] for st in starts], dtype=np.uint64) for w in range(4))
    out = np.empty((lanes, per_lane), dtype=np.uint64)
    five, nine = np.uint64(5), np.uint64(9)
    with np.errstate(over="ignore"):
        for i in range(per_lane):
            x = s1 * five
            out[:, i] = ((x << np.uint64(7)) | (x >> np.uint64(57))) * nine
            t = s1 << np.uint64(17)
            s2 ^= s0
            s3 ^= s1
            s1 ^= s2
            s0 ^= s3
            s2 ^= t
            s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return out.reshape(-1)[:count]


def rng_normals(seed, count):
    """Rng(seed).fill_normal(t, 0, 1) for `count` entries: the polar method, each attempt
    takes two uniform doubles, an accepted one yields u f then v f."""
    draws = int(count * 1.32) + 64
    while True:
        x = rng_u64(seed, 2 * (draws // 2))
        uv = (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
        u, v = 2.0 * uv[0::2] - 1.0, 2.0 * uv[1::2] - 1.0
        s = u * u + v * v
        ok = (s < 1.0) & (s != 0.0)
        u, v, s = u[ok], v[ok], s[ok]
        if 2 * u.size >= count:
            f = np.sqrt(-2.0 * np.log(s) / s)
            pairs = np.stack([u * f, v * f], axis=1).reshape(-1)
            return pairs[:count].astype(np.float32)
        draws *= 2


# ---------------------------------------------------------------- dense W of each method


def compressed_layers(header):
    """The compressed weights (blend or factored phase) of the structure description:
    [{"name", "method", "rows", "cols", "phase", "alpha", "settings"}]."""
    out = []
    for m in header["model"].get("modules", []):
        c = m.get("config", {})
        if m["type"] == "CompressedWeight" and c.get("phase", "dense") != "dense":
            out.append(dict(name=m["path"], method=c["method"], rows=c["rows"], cols=c["cols"], phase=c["phase"], alpha=c["alpha"],
                            settings=c.get("settings", {})))
    return out


def dense_weight(layer, floats, integers):
    """The dense (rows, cols) W of a compressed weight: its method's materialize()."""
    name, method, rows, cols = layer["name"], layer["method"], layer["rows"], layer["cols"]
    f = lambda k: floats[f"{name}.{k}"].astype(np.float64)
    i = lambda k: integers[f"{name}.{k}"]
    if method == "lowrank":
        w = f("B") @ f("C")
    elif method == "simhash":
        signs = i("signs").astype(np.float64)  # (k, n) of +-1
        k = signs.shape[0]
        seed = int(i("seed").reshape(-1)[0].astype(np.uint64))
        r = rng_normals(seed, rows * k).reshape(rows, k).astype(np.float64)
        rs = (r @ signs).astype(np.float32).astype(np.float64)
        norm = np.sqrt((rs * rs).sum(axis=0))
        inv = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 0.0).astype(np.float32)
        w = rs * (f("scale") * inv)[None, :]
    elif method == "kmeans":
        codebook = f("codebook")  # (levels, block)
        codes = i("codes").astype(np.int64).reshape(-1)
        w = codebook[codes].reshape(rows, cols)
    elif method == "dictionary":
        d, values = f("D"), f("X_values")
        row_ptr, atoms = i("row_ptr").astype(np.int64), i("atoms").astype(np.int64)
        x = np.zeros((rows, d.shape[0]))
        row_of = np.repeat(np.arange(rows), np.diff(row_ptr))
        np.add.at(x, (row_of, atoms), values)
        w = x @ d
    elif method == "prune":
        w = f("values") * i("mask").astype(np.float64)
    elif method == "quantize":
        # W[i, j] = offset[j] + scale[j] * u[code], u = (2 q - top) / top on a grid of 2^bits levels.
        top = (1 << int(layer["settings"]["bits"])) - 1
        unit = ((2 * np.arange(top + 1) - top) / top).astype(np.float32).astype(np.float64)
        codes = i("codes").astype(np.int64).reshape(rows, cols)
        w = f("offset")[None, :] + f("scale")[None, :] * unit[codes]
    else:
        raise FormatError(f"{name}: this reader does not know method {method}")
    if layer["phase"] == "blend":
        a = layer["alpha"]
        w = a * f("A") + (1.0 - a) * w
    if w.shape != (rows, cols):
        raise FormatError(f"{name}: rebuilt W is {w.shape}, expected {(rows, cols)}")
    return w


def dense_weights(header, floats, integers):
    """{layer's weight seam name: dense W} for every compressed weight and plain "*.weight.A"."""
    weights = {}
    for name, t in floats.items():
        if name.endswith(".weight.A"):
            weights[name[: -len(".A")]] = t.astype(np.float64)
    for layer in compressed_layers(header):
        weights[layer["name"]] = dense_weight(layer, floats, integers)
    return weights


# ---------------------------------------------------------------- the CIFAR-10 CNN


def conv_same(x, w, bias, k=5):
    """x (N, C, H, W), w (k*k*C, O) rows in (kh, kw, cin) order -> relu(conv + bias) (N, O, H, W)."""
    n, c, h, wd = x.shape
    p = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.empty((n, h, wd, k, k, c))
    for i in range(k):
        for j in range(k):
            cols[:, :, :, i, j, :] = xp[:, :, i : i + h, j : j + wd].transpose(0, 2, 3, 1)
    y = cols.reshape(n * h * wd, k * k * c) @ w + bias
    return np.maximum(y, 0).reshape(n, h, wd, -1).transpose(0, 3, 1, 2)


def max_pool_same(x, k=3, stride=2):
    n, c, h, w = x.shape
    oh, ow = -(-h // stride), -(-w // stride)
    ph, pw = max((oh - 1) * stride + k - h, 0), max((ow - 1) * stride + k - w, 0)
    xp = np.pad(x, ((0, 0), (0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)), constant_values=-np.inf)
    out = np.full((n, c, oh, ow), -np.inf)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, xp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride])
    return out


def lrn(x, radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75):
    sq = x * x
    c = x.shape[1]
    total = np.zeros_like(x)
    for d in range(c):
        total[:, d] = sq[:, max(0, d - radius) : min(c, d + radius + 1)].sum(axis=1)
    return x / (bias + alpha * total) ** beta


def cifar10_forward(header, floats, integers, images):
    w = dense_weights(header, floats, integers)
    b = lambda name: floats[f"{name}.bias"].astype(np.float64)
    x = images.astype(np.float64)
    x = max_pool_same(conv_same(x, w["conv1.weight"], b("conv1")))
    x = lrn(x)
    x = conv_same(x, w["conv2.weight"], b("conv2"))
    x = max_pool_same(lrn(x))
    x = x.reshape(x.shape[0], -1)
    x = np.maximum(x @ w["local3.weight"] + b("local3"), 0)
    x = np.maximum(x @ w["local4.weight"] + b("local4"), 0)
    return x @ w["softmax_linear.weight"] + b("softmax_linear")


def dump(path):
    """The file byte by byte: what docs/EXPORT_FORMAT.md's worked example shows."""
    with open(path, "rb") as f:
        data = f.read()
    version, crc = struct.unpack_from("<II", data, 8)
    payload_size, deflated_size = struct.unpack_from("<QQ", data, 16)
    print(f"file: {len(data)} bytes")
    print(f"  0  magic          {data[:8]!r}")
    print(f"  8  version        {version}")
    print(f" 12  crc32          {crc:#010x} (zlib.crc32(data[16:]) = {zlib.crc32(data[16:]) & 0xFFFFFFFF:#010x})")
    print(f" 16  payload size   {payload_size}")
    print(f" 24  deflated size  {deflated_size} (file size - 32 = {len(data) - 32})")
    print(f" 32  zlib stream    {data[32:34].hex()} ...")
    payload = zlib.decompress(data[32:])
    (header_len,) = struct.unpack_from("<Q", payload, 0)
    header = json.loads(payload[8 : 8 + header_len])
    print(f"payload: {len(payload)} bytes; header {header_len} bytes at 8, data at {8 + header_len}")
    print(f"  model.root: {json.dumps(header['model']['root'])}")
    for m in header["model"]["modules"]:
        if m["type"] == "CompressedWeight":
            c = dict(m["config"])
            print(f"  model.modules[{m['path']}]: {json.dumps(c)}")
    pos = 8 + header_len
    for e in header["entries"]:
        count = 1
        for d in e["shape"]:
            count *= d
        size = {"f32": 4 * count, "f32_masked": 4 * e.get("count", 0), "int": (count * e.get("bits", 0) + 7) // 8}[e["kind"]]
        extra = {k: v for k, v in e.items() if k not in ("name", "kind", "shape")}
        print(f"  @{pos:6d} {size:6d} B  {e['kind']:10s} {e['name']:26s} {e['shape']} {json.dumps(extra) if extra else ''}")
        pos += size
    print(f"  end at {pos} = payload size {len(payload)}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--input", help="images (N, 3, H, W) .npy: run the Cifar10Cnn forward pass")
    ap.add_argument("--output", help="write the logits here (.npy, float32)")
    ap.add_argument("--dump", action="store_true", help="print the fixed header and every entry's place in the payload")
    args = ap.parse_args()
    if args.dump:
        return dump(args.file)
    try:
        header, floats, integers = read_model_file(args.file)
    except (FormatError, zlib.error, ValueError, KeyError) as e:
        print(f"mcz_reader: {e}", file=sys.stderr)
        return 1
    root = header["model"]["root"]["type"]
    print(f"{args.file}: {root}, {len(floats)} float tensors, {len(integers)} integer arrays")
    for name, w in dense_weights(header, floats, integers).items():
        method = next((l["method"] for l in compressed_layers(header) if l["name"] == name), "dense")
        print(f"  {name:28s} {str(w.shape):16s} {method}")
    if args.input:
        if root != "Cifar10Cnn":
            print(f"mcz_reader: the forward pass is written for Cifar10Cnn, not {root}", file=sys.stderr)
            return 1
        logits = cifar10_forward(header, floats, integers, np.load(args.input))
        if args.output:
            np.save(args.output, logits.astype(np.float32))
        else:
            print(logits.argmax(axis=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
