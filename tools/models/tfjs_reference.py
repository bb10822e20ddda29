"""A plain numpy interpreter of TFJS graph models, in TF's own NHWC layout.

It exists only to check tfjs2onnx.py against a second, independent runtime:
it shares the weight reader with the converter (so a quantization mistake is
caught by the synthetic test's hand-written expected values, not here) but none
of the layout, padding or operator translation.
"""

import base64
import json
import os

import numpy as np

from tfjs2onnx import load_weights


def _attr_ints(node, key, default):
    a = node.get("attr", {}).get(key)
    return default if a is None else [int(i) for i in a["list"].get("i", [])]


def _attr_s(node, key, default):
    a = node.get("attr", {}).get(key)
    return default if a is None else base64.b64decode(a["s"]).decode()


def _fused(node):
    a = node.get("attr", {}).get("fused_ops", {})
    return [base64.b64decode(s).decode() for s in a.get("list", {}).get("s", [])]


def _pad_for(padding, size, k, s, d):
    if padding == "VALID":
        return 0, 0
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d(x, w, strides, dil, padding, depthwise):
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    sh, sw = strides
    dh, dw = dil
    ph = _pad_for(padding, h, kh, sh, dh)
    pw = _pad_for(padding, wd, kw, sw, dw)
    xp = np.pad(x, ((0, 0), ph, pw, (0, 0)))
    oh = (h + sum(ph) - (kh - 1) * dh - 1) // sh + 1
    ow = (wd + sum(pw) - (kw - 1) * dw - 1) // sw + 1
    if depthwise:
        mult = w.shape[3]
        out = np.zeros((n, oh, ow, c, mult), np.float64)
    else:
        out = np.zeros((n, oh, ow, w.shape[3]), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * dh : i * dh + (oh - 1) * sh + 1 : sh, j * dw : j * dw + (ow - 1) * sw + 1 : sw, :]
            if depthwise:
                out += patch[..., None] * w[i, j][None, None, None]
            else:
                out += np.tensordot(patch, w[i, j], axes=([3], [0]))
    if depthwise:
        out = out.reshape(n, oh, ow, c * w.shape[3])
    return out


def max_pool(x, k, s, padding):
    n, h, w, c = x.shape
    ph = _pad_for(padding, h, k[0], s[0], 1)
    pw = _pad_for(padding, w, k[1], s[1], 1)
    xp = np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=-np.inf)
    oh = (h + sum(ph) - k[0]) // s[0] + 1
    ow = (w + sum(pw) - k[1]) // s[1] + 1
    out = np.full((n, oh, ow, c), -np.inf)
    for i in range(k[0]):
        for j in range(k[1]):
            out = np.maximum(out, xp[:, i : i + (oh - 1) * s[0] + 1 : s[0], j : j + (ow - 1) * s[1] + 1 : s[1], :])
    return out


def _post(y, fused, bias):
    for op in fused:
        if op == "BiasAdd":
            y = y + bias
        elif op == "Relu":
            y = np.maximum(y, 0)
        elif op == "Relu6":
            y = np.clip(y, 0, 6)
        else:
            raise NotImplementedError(op)
    return y


def run(json_path, x, outputs=None):
    """Evaluate the graph at `x` (NHWC float array) in float64; returns a list of arrays."""
    with open(json_path) as f:
        model = json.load(f)
    weights = {k: v.astype(np.float64) if v.dtype.kind == "f" else v
               for k, v in load_weights(os.path.dirname(json_path) or ".", model["weightsManifest"]).items()}
    nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
    memo = {}

    def ev(ref):
        name = ref.split(":")[0]
        if name in memo:
            return memo[name]
        node = nodes[name]
        op = node["op"]
        ins = [ev(i) for i in node.get("input", []) if not i.startswith("^")]
        if op == "Placeholder":
            y = x.astype(np.float64)
        elif op == "Const":
            y = weights[name]
        elif op == "Identity":
            y = ins[0]
        elif op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative"):
            y = conv2d(ins[0], ins[1], _attr_ints(node, "strides", [1, 1, 1, 1])[1:3],
                       _attr_ints(node, "dilations", [1, 1, 1, 1])[1:3],
                       _attr_s(node, "padding", "VALID"), op == "DepthwiseConv2dNative")
            y = _post(y, _fused(node), ins[2] if len(ins) > 2 else None)
        elif op in ("_FusedMatMul", "MatMul"):
            y = _post(ins[0] @ ins[1], _fused(node), ins[2] if len(ins) > 2 else None)
        elif op == "MaxPool":
            y = max_pool(ins[0], _attr_ints(node, "ksize", None)[1:3],
                         _attr_ints(node, "strides", None)[1:3], _attr_s(node, "padding", "VALID"))
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-ins[0]))
        elif op == "Softmax":
            e = np.exp(ins[0] - ins[0].max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        elif op in ("Add", "AddV2", "BiasAdd"):
            y = ins[0] + ins[1]
        elif op == "Mul":
            y = ins[0] * ins[1]
        elif op == "Minimum":
            y = np.minimum(ins[0], ins[1])
        elif op == "Maximum":
            y = np.maximum(ins[0], ins[1])
        elif op == "Mean":
            y = ins[0].mean(axis=tuple(int(a) for a in ins[1].reshape(-1)))
        elif op == "Reshape":
            y = ins[0].reshape([int(d) for d in ins[1].reshape(-1)])
        else:
            raise NotImplementedError(op)
        memo[name] = y
        return y

    if outputs is None:
        outputs = [v["name"] for v in model["signature"]["outputs"].values()]
    return [ev(o) for o in outputs]
