#!/usr/bin/env python3
"""Convert a TensorFlow.js *graph model* (model.json + weight shards) into ONNX.

Covers the operator set of the small Keras-derived classifiers shipped by
`@vladmandic/human` (antispoof, liveness, faceres); anything else is refused by
name rather than converted wrongly.

What must stay true:
- The ONNX input keeps the TFJS layout (1 x H x W x C, NHWC) so callers feed the
  same tensor either way. Inside, 4-D tensors are NCHW (ONNX's conv layout); a
  Transpose back to NHWC happens before every flatten so dense weights line up.
- Batch is fixed to 1 and every shape is known at conversion time, so SAME
  padding is written as explicit pads (no reliance on a runtime's auto_pad).
- Only nodes that feed the requested outputs are converted.
"""

import argparse
import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13

TF_DTYPES = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
}


class ConversionError(Exception):
    pass


def load_weights(model_dir, manifest):
    """Read every weight of the manifest, dequantized to its original dtype."""
    weights = {}
    for group in manifest:
        blob = b""
        for p in group["paths"]:
            with open(os.path.join(model_dir, p), "rb") as f:
                blob += f.read()
        offset = 0
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q is None:
                dtype = np.dtype(TF_DTYPES[w["dtype"]])
                raw = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
                offset += count * dtype.itemsize
                value = raw.copy()
            elif q["dtype"] == "float16":
                raw = np.frombuffer(blob, dtype=np.float16, count=count, offset=offset)
                offset += count * 2
                value = raw.astype(np.float32)
            elif q["dtype"] in ("uint8", "uint16"):
                qt = np.dtype(q["dtype"])
                raw = np.frombuffer(blob, dtype=qt, count=count, offset=offset)
                offset += count * qt.itemsize
                value = raw.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
                value = value.astype(TF_DTYPES[w["dtype"]])
            else:
                raise ConversionError(f"weight {w['name']}: unsupported quantization {q}")
            weights[w["name"]] = value.reshape(shape)
        if offset != len(blob):
            raise ConversionError(f"weight shards hold {len(blob)} bytes, manifest uses {offset}")
    return weights


def attr_list(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    return [int(i) for i in a.get("list", {}).get("i", [])]


def attr_str(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    return base64.b64decode(a["s"]).decode()


def attr_strs(node, key):
    a = node.get("attr", {}).get(key, {})
    return [base64.b64decode(s).decode() for s in a.get("list", {}).get("s", [])]


def attr_bool(node, key, default=False):
    a = node.get("attr", {}).get(key)
    return default if a is None else bool(a.get("b", False))


def same_pads(size, kernel, stride, dilation):
    """TF 'SAME': output ceil(in/stride); the extra pixel of an odd total goes after."""
    out = -(-size // stride)
    eff = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def out_size(size, kernel, stride, dilation, before, after):
    eff = (kernel - 1) * dilation + 1
    return (size + before + after - eff) // stride + 1


class Converter:
    def __init__(self, model, weights):
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.weights = weights
        self.onnx_nodes = []
        self.initializers = []
        # tensor name -> (onnx name, shape in TF terms (NHWC for 4-D), is_const)
        self.tensors = {}
        self.counter = 0

    def fresh(self, base):
        self.counter += 1
        return f"{base}__{self.counter}"

    def const(self, base, array):
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def emit(self, op, inputs, base, **attrs):
        out = self.fresh(base)
        self.onnx_nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def source(self, ref):
        """Resolve a TFJS input reference ('name', 'name:0', '^ctrl')."""
        if ref.startswith("^"):
            return None
        name = ref.split(":")[0]
        if name not in self.tensors:
            self.visit(name)
        return self.tensors[name]

    def const_value(self, ref):
        name = ref.split(":")[0]
        node = self.nodes.get(name)
        if node is None or node["op"] != "Const":
            raise ConversionError(f"{ref} must be a constant")
        return self.weights[name]

    def visit(self, name):
        node = self.nodes.get(name)
        if node is None:
            raise ConversionError(f"unknown tensor {name}")
        handler = getattr(self, "op_" + node["op"].lstrip("_"), None)
        if handler is None:
            raise ConversionError(f"{name}: operator {node['op']} is not supported")
        self.tensors[name] = handler(node)

    # --- operators -----------------------------------------------------------

    def op_Placeholder(self, node):
        dims = [int(d["size"]) for d in node["attr"]["shape"]["shape"]["dim"]]
        dims = [1 if d < 0 else d for d in dims]
        self.graph_input = helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)
        if len(dims) == 4:
            return (self.emit("Transpose", ["input"], "to_nchw", perm=[0, 3, 1, 2]), dims, False)
        return ("input", dims, False)

    def op_Const(self, node):
        value = self.weights[node["name"]]
        return (None, list(value.shape), True)

    def op_Identity(self, node):
        return self.source(node["input"][0])

    def activation(self, name, shape, fused):
        for op in fused:
            if op == "BiasAdd":
                continue
            if op == "Relu":
                name = self.emit("Relu", [name], "relu")
            elif op == "Relu6":
                lo, hi = self.const("zero", np.float32(0)), self.const("six", np.float32(6))
                name = self.emit("Clip", [name, lo, hi], "relu6")
            else:
                raise ConversionError(f"fused op {op} is not supported")
        return (name, shape, False)

    def conv(self, node, depthwise):
        x, shape, _ = self.source(node["input"][0])
        kernel = self.const_value(node["input"][1])
        if attr_str(node, "data_format", "NHWC") != "NHWC":
            raise ConversionError(f"{node['name']}: only NHWC convolutions are supported")
        strides = attr_list(node, "strides", [1, 1, 1, 1])[1:3]
        dil = attr_list(node, "dilations", [1, 1, 1, 1])[1:3]
        kh, kw, cin, cout = kernel.shape
        if depthwise:
            weight = kernel.transpose(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw)
            group, channels = cin, cin * cout
        else:
            weight = kernel.transpose(3, 2, 0, 1)
            group, channels = 1, cout
        pads, out_hw = self.window_pads(node, shape, (kh, kw), strides, dil)
        inputs = [x, self.const("w", weight.astype(np.float32))]
        fused = attr_strs(node, "fused_ops")
        if "BiasAdd" in fused:
            inputs.append(self.const("b", self.const_value(node["input"][2]).astype(np.float32)))
        y = self.emit(
            "Conv", inputs, "conv", kernel_shape=[kh, kw], strides=strides,
            dilations=dil, pads=pads, group=group,
        )
        return self.activation(y, [shape[0], out_hw[0], out_hw[1], channels], fused)

    def window_pads(self, node, shape, kernel, strides, dil):
        padding = attr_str(node, "padding", "VALID")
        if padding == "SAME":
            ph = same_pads(shape[1], kernel[0], strides[0], dil[0])
            pw = same_pads(shape[2], kernel[1], strides[1], dil[1])
        elif padding == "VALID":
            ph, pw = (0, 0), (0, 0)
        else:
            raise ConversionError(f"{node['name']}: padding {padding} is not supported")
        oh = out_size(shape[1], kernel[0], strides[0], dil[0], *ph)
        ow = out_size(shape[2], kernel[1], strides[1], dil[1], *pw)
        return [ph[0], pw[0], ph[1], pw[1]], (oh, ow)

    def op_FusedConv2D(self, node):
        return self.conv(node, depthwise=False)

    def op_Conv2D(self, node):
        return self.conv(node, depthwise=False)

    def op_DepthwiseConv2dNative(self, node):
        return self.conv(node, depthwise=True)

    def op_MaxPool(self, node):
        x, shape, _ = self.source(node["input"][0])
        k = attr_list(node, "ksize")[1:3]
        s = attr_list(node, "strides")[1:3]
        pads, (oh, ow) = self.window_pads(node, shape, k, s, (1, 1))
        y = self.emit("MaxPool", [x], "maxpool", kernel_shape=k, strides=s, pads=pads)
        return (y, [shape[0], oh, ow, shape[3]], False)

    def op_Relu(self, node):
        x, shape, _ = self.source(node["input"][0])
        return (self.emit("Relu", [x], "relu"), shape, False)

    def op_Sigmoid(self, node):
        x, shape, _ = self.source(node["input"][0])
        return (self.emit("Sigmoid", [x], "sigmoid"), shape, False)

    def op_Softmax(self, node):
        x, shape, _ = self.source(node["input"][0])
        return (self.emit("Softmax", [x], "softmax", axis=len(shape) - 1), shape, False)

    def binary(self, node, op):
        a_ref, b_ref = node["input"][:2]
        a, b = self.source(a_ref), self.source(b_ref)
        if a[2] and b[2]:
            raise ConversionError(f"{node['name']}: constant folding is not supported")
        if a[2]:
            a, b, a_ref, b_ref = b, a, b_ref, a_ref
            if op not in ("Add", "Mul", "Min", "Max"):
                raise ConversionError(f"{node['name']}: constant on the left of {op}")
        x, shape, _ = a
        if b[2]:
            value = self.const_value(b_ref).astype(np.float32)
            if len(shape) == 4 and value.ndim > 0:
                # NHWC broadcast over channels becomes C x 1 x 1 in NCHW.
                if value.size != shape[3]:
                    raise ConversionError(f"{node['name']}: constant shape {value.shape} vs {shape}")
                value = value.reshape(shape[3], 1, 1)
            other = self.const("k", value)
        else:
            if b[1] != shape:
                raise ConversionError(f"{node['name']}: shapes {shape} and {b[1]} differ")
            other = b[0]
        return (self.emit(op, [x, other], op.lower()), shape, False)

    def op_Add(self, node):
        return self.binary(node, "Add")

    def op_AddV2(self, node):
        return self.binary(node, "Add")

    def op_BiasAdd(self, node):
        return self.binary(node, "Add")

    def op_Mul(self, node):
        return self.binary(node, "Mul")

    def op_Minimum(self, node):
        return self.binary(node, "Min")

    def op_Maximum(self, node):
        return self.binary(node, "Max")

    def op_Mean(self, node):
        x, shape, _ = self.source(node["input"][0])
        axes = [int(a) % len(shape) for a in self.const_value(node["input"][1]).reshape(-1)]
        keep = attr_bool(node, "keep_dims")
        if len(shape) != 4 or sorted(axes) != [1, 2] or keep:
            raise ConversionError(f"{node['name']}: only a global spatial mean is supported")
        y = self.emit("ReduceMean", [x], "mean", axes=[2, 3], keepdims=0)
        return (y, [shape[0], shape[3]], False)

    def op_Reshape(self, node):
        x, shape, _ = self.source(node["input"][0])
        target = [int(d) for d in self.const_value(node["input"][1]).reshape(-1)]
        if len(shape) == 4:
            x = self.emit("Transpose", [x], "to_nhwc", perm=[0, 2, 3, 1])
        total = int(np.prod(shape))
        known = int(np.prod([d for d in target if d >= 0])) if any(d >= 0 for d in target) else 1
        target = [total // known if d < 0 else d for d in target]
        if len(target) == 4:
            raise ConversionError(f"{node['name']}: reshape to 4-D is not supported")
        y = self.emit("Reshape", [x, self.const("shape", np.array(target, np.int64))], "reshape")
        return (y, target, False)

    def op_FusedMatMul(self, node):
        x, shape, _ = self.source(node["input"][0])
        w = self.const_value(node["input"][1]).astype(np.float32)
        if attr_bool(node, "transpose_a"):
            raise ConversionError(f"{node['name']}: transpose_a is not supported")
        if attr_bool(node, "transpose_b"):
            w = w.T
        fused = attr_strs(node, "fused_ops")
        inputs = [x, self.const("w", w)]
        if "BiasAdd" in fused:
            inputs.append(self.const("b", self.const_value(node["input"][2]).astype(np.float32)))
        y = self.emit("Gemm", inputs, "gemm")
        return self.activation(y, [shape[0], w.shape[1]], fused)

    def op_MatMul(self, node):
        node = dict(node, attr=dict(node.get("attr", {})))
        node["attr"]["fused_ops"] = {"list": {"s": []}}
        return self.op_FusedMatMul(node)

    # --- graph ---------------------------------------------------------------

    def convert(self, outputs):
        graph_outputs = []
        for i, ref in enumerate(outputs):
            name, shape, is_const = self.source(ref)
            if is_const:
                raise ConversionError(f"output {ref} is a constant")
            if len(shape) == 4:
                name = self.emit("Transpose", [name], "out_nhwc", perm=[0, 2, 3, 1])
            out_name = "output" if len(outputs) == 1 else f"output{i}"
            self.onnx_nodes.append(helper.make_node("Identity", [name], [out_name]))
            graph_outputs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, shape))
        graph = helper.make_graph(
            self.onnx_nodes, "tfjs", [self.graph_input], graph_outputs, self.initializers
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="openliveness-tfjs2onnx"
        )
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def signature_outputs(model):
    outs = model.get("signature", {}).get("outputs", {})
    return [v["name"] for v in outs.values()]


def convert_file(json_path, outputs=None):
    with open(json_path) as f:
        model = json.load(f)
    if model.get("format") != "graph-model":
        raise ConversionError(f"{json_path}: not a TFJS graph model")
    weights = load_weights(os.path.dirname(json_path) or ".", model["weightsManifest"])
    return Converter(model, weights).convert(outputs or signature_outputs(model))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model_json")
    p.add_argument("out_onnx")
    p.add_argument("--output", action="append", help="TFJS tensor to export (repeatable)")
    args = p.parse_args(argv)
    try:
        model = convert_file(args.model_json, args.output)
    except ConversionError as e:
        print(f"tfjs2onnx: {e}", file=sys.stderr)
        return 1
    onnx.save(model, args.out_onnx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
