"""Tests of tfjs2onnx.py: converted graphs run in onnxruntime must match the
numpy reference interpreter (tfjs_reference.py) run on the original TFJS graph.

Run: .cache/models/venv/bin/python -m unittest discover -s tools/models -p 'test_*.py'
The real-model test needs the extracted @vladmandic/human models; it looks in
$OPENLIVENESS_TFJS_DIR, else .cache/models/extract/human/package/models, and
fails (does not skip) when they are missing, naming the setup command.
"""

import base64
import json
import os
import tempfile
import unittest

import numpy as np
import onnxruntime as ort

import tfjs2onnx
import tfjs_reference

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Relative tolerance for float32 ONNX against the float64 reference, scaled by
# the output's magnitude: conv stacks of this depth accumulate ~1e-6 relative error.
RTOL = 1e-4


def b64(s):
    return base64.b64encode(s.encode()).decode()


def ints(*v):
    return {"list": {"i": [str(i) for i in v]}}


class SyntheticGraph:
    """Builds a small TFJS graph model on disk exercising every supported operator."""

    def __init__(self):
        self.nodes = []
        self.weights = []
        self.blobs = []
        self.rng = np.random.default_rng(7)

    def const(self, name, value, quant=None):
        value = np.asarray(value)
        dtype = "int32" if value.dtype.kind == "i" else "float32"
        self.nodes.append({"name": name, "op": "Const", "attr": {}})
        entry = {"name": name, "shape": list(value.shape), "dtype": dtype}
        if quant == "float16":
            entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            self.blobs.append(value.astype(np.float16).tobytes())
        elif quant == "uint8":
            lo, hi = float(value.min()), float(value.max())
            scale = (hi - lo) / 255 or 1.0
            q = np.round((value - lo) / scale).astype(np.uint8)
            entry["quantization"] = {"dtype": "uint8", "scale": scale, "min": lo, "original_dtype": "float32"}
            self.blobs.append(q.tobytes())
        else:
            self.blobs.append(value.astype(np.int32 if dtype == "int32" else np.float32).tobytes())
        self.weights.append(entry)
        return name

    def rand(self, name, shape, quant=None):
        return self.const(name, self.rng.normal(0, 0.5, shape).astype(np.float32), quant)

    def node(self, name, op, inputs, **attr):
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": attr})
        return name

    def save(self, directory, input_shape, outputs):
        model = {
            "format": "graph-model",
            "signature": {"outputs": {o: {"name": o + ":0"} for o in outputs}},
            "modelTopology": {"node": [{"name": "x", "op": "Placeholder", "attr": {
                "shape": {"shape": {"dim": [{"size": str(d)} for d in input_shape]}}}}] + self.nodes},
            "weightsManifest": [{"paths": ["w.bin"], "weights": self.weights}],
        }
        path = os.path.join(directory, "model.json")
        with open(path, "w") as f:
            json.dump(model, f)
        with open(os.path.join(directory, "w.bin"), "wb") as f:
            f.write(b"".join(self.blobs))
        return path


def build_synthetic(directory):
    g = SyntheticGraph()
    same, valid = {"s": b64("SAME")}, {"s": b64("VALID")}
    nhwc = {"s": b64("NHWC")}
    bias_relu = {"list": {"s": [b64("BiasAdd"), b64("Relu")]}}
    bias = {"list": {"s": [b64("BiasAdd")]}}
    # Even input size, kernel 3, stride 2, SAME: total padding 1, the asymmetric case.
    g.node("c1", "_FusedConv2D", ["x", g.rand("k1", [3, 3, 3, 8], "float16"), g.rand("b1", [8])],
           strides=ints(1, 2, 2, 1), padding=same, data_format=nhwc, fused_ops=bias_relu)
    g.node("m1", "Mul", ["c1", g.rand("s1", [8], "uint8")])
    g.node("a1", "AddV2", ["m1", g.rand("o1", [8])])
    g.node("dw", "DepthwiseConv2dNative", ["a1", g.rand("kd", [3, 3, 8, 2])],
           strides=ints(1, 1, 1, 1), padding=same, data_format=nhwc)
    g.node("mn", "Minimum", ["dw", g.const("six", np.float32(1.5))])
    g.node("mx", "Maximum", ["mn", g.const("zero", np.float32(-0.5))])
    g.node("c2", "Conv2D", ["mx", g.rand("k2", [1, 1, 16, 6])],
           strides=ints(1, 1, 1, 1), padding=valid, data_format=nhwc)
    g.node("r2", "Relu", ["c2"])
    g.node("add", "Add", ["r2", "r2"])
    g.node("mp", "MaxPool", ["add"], ksize=ints(1, 3, 3, 1), strides=ints(1, 2, 2, 1), padding=same)
    g.node("mean", "Mean", ["mp", g.const("axes", np.array([1, 2], np.int32))], keep_dims={"b": False})
    g.node("flat", "Reshape", ["mp", g.const("shape", np.array([-1, 3 * 3 * 6], np.int32))])
    g.node("fc", "_FusedMatMul", ["flat", g.rand("wf", [54, 5]), g.rand("bf", [5])], fused_ops=bias)
    g.node("sm", "Softmax", ["fc"])
    g.node("sg", "Sigmoid", ["mean"])
    return g.save(directory, [-1, 12, 12, 3], ["sm", "sg"])


def run_onnx(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x.astype(np.float32)})


def assert_close(test, got, want, what):
    scale = max(float(np.abs(want).max()), 1e-3)
    err = float(np.abs(got - want).max())
    test.assertLessEqual(err, RTOL * scale, f"{what}: max error {err} at output scale {scale}")


class SyntheticTest(unittest.TestCase):
    def test_every_operator_matches_reference(self):
        with tempfile.TemporaryDirectory() as d:
            path = build_synthetic(d)
            model = tfjs2onnx.convert_file(path)
            x = np.random.default_rng(1).uniform(0, 1, (1, 12, 12, 3))
            got = run_onnx(model, x)
            want = tfjs_reference.run(path, x)
            self.assertEqual(len(got), 2)
            for g, w, name in zip(got, want, ["softmax", "sigmoid"]):
                self.assertEqual(g.shape, w.shape, name)
                assert_close(self, g, w, name)

    def test_uint8_dequantization_is_scale_times_q_plus_min(self):
        with tempfile.TemporaryDirectory() as d:
            g = SyntheticGraph()
            g.const("v", np.array([0.0, 1.0, 2.0, 2.55], np.float32), "uint8")
            g.save(d, [1, 1], [])
            with open(os.path.join(d, "model.json")) as f:
                manifest = json.load(f)["weightsManifest"]
            w = tfjs2onnx.load_weights(d, manifest)
            np.testing.assert_allclose(w["v"], [0.0, 1.0, 2.0, 2.55], atol=0.006)

    def test_unsupported_operator_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            g = SyntheticGraph()
            g.node("t", "Tanh", ["x"])
            path = g.save(d, [1, 4], ["t"])
            with self.assertRaisesRegex(tfjs2onnx.ConversionError, "Tanh"):
                tfjs2onnx.convert_file(path)


def human_models_dir():
    d = os.environ.get("OPENLIVENESS_TFJS_DIR") or os.path.join(
        REPO, ".cache", "models", "extract", "human", "package", "models")
    if not os.path.isfile(os.path.join(d, "antispoof.json")):
        raise AssertionError(f"TFJS models not found in {d}: run `bash tools/models/setup.sh` first")
    return d


class RealModelsTest(unittest.TestCase):
    CASES = [("antispoof", 128, None, 1.0), ("liveness", 32, None, 1.0),
             ("faceres", 224, ["global_pooling/Mean"], 255.0)]

    def test_human_models_match_reference(self):
        d = human_models_dir()
        for name, size, outputs, scale in self.CASES:
            with self.subTest(model=name):
                path = os.path.join(d, name + ".json")
                model = tfjs2onnx.convert_file(path, outputs)
                x = np.random.default_rng(3).uniform(0, scale, (1, size, size, 3))
                got = run_onnx(model, x)
                want = tfjs_reference.run(path, x, outputs)
                for g, w in zip(got, want):
                    self.assertEqual(g.shape, w.shape)
                    assert_close(self, g, w, name)


if __name__ == "__main__":
    unittest.main()
