#!/usr/bin/env python3
"""Rewrite an ONNX file in a canonical order.

tflite2onnx keeps initializers, value_info and the walk over nodes in Python
sets of objects, so two runs write the same graph in different byte orders.
Sorting initializers and value_info by name, and the nodes topologically with
ties broken by their first output's name, makes the output reproducible, which
is what lets setup.sh pin its sha256.
"""

import heapq
import sys

import onnx


def topo_sorted(nodes, available):
    """Kahn's algorithm; among ready nodes the smallest first-output name goes first."""
    available = set(available)
    waiting = {i: {x for x in n.input if x and x not in available} for i, n in enumerate(nodes)}
    consumers = {}
    for i, deps in waiting.items():
        for x in deps:
            consumers.setdefault(x, []).append(i)
    ready = [(nodes[i].output[0], i) for i, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    out = []
    while ready:
        _, i = heapq.heappop(ready)
        out.append(nodes[i])
        for y in nodes[i].output:
            for j in consumers.get(y, []):
                waiting[j].discard(y)
                if not waiting[j]:
                    heapq.heappush(ready, (nodes[j].output[0], j))
    if len(out) != len(nodes):
        raise SystemExit("canonical_onnx: graph has a cycle or a missing input")
    return out


def canonicalize(path):
    model = onnx.load(path)
    g = model.graph
    inits = sorted(g.initializer, key=lambda t: t.name)
    infos = sorted(g.value_info, key=lambda v: v.name)
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.value_info[:]
    g.value_info.extend(infos)
    nodes = topo_sorted(list(g.node), [i.name for i in g.input] + [t.name for t in inits])
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        canonicalize(p)
