"""Graph rewriting that opens a transfer network's instance normalisations, so a picture can be
painted in tiles that share the whole picture's statistics.

Magenta's transfer network normalises 13 of its layers by that layer's own mean and variance over
the picture (``MEAN`` → ``SQUARED_DIFFERENCE`` → ``MEAN``, then ``RSQRT`` and the style's scale
and shift). A tile painted on its own would be normalised by the tile's statistics — other colours
and contrast in every tile. Two rewrites of the same .tflite file fix that:

- ``moments_as_outputs``: the network as it is, with each normalisation's mean and variance added
  to its outputs (after the picture) — run once on the whole picture (at a size it can paint).
- ``moments_as_inputs``: each normalisation's mean and variance become inputs of the network
  (after the picture and the style vector), and the operations that computed them, now unused,
  are removed — run on each tile with the whole picture's statistics.

Both work on the flatbuffer, so LiteRT and OpenVINO read the same rewritten file. In a quantized
file the statistics are 8-bit tensors with their own scale; the backends hand them out and take
them in as floats (``IntegerIO``), so a statistic read from one model and fed to the other
round-trips exactly. The statistics are listed in the graph's order, mean before variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import flatbuffers

OUTPUTS, INPUTS = "moments-out", "moments-in"


@dataclass(frozen=True)
class Moments:
    """One instance normalisation: the tensors holding the activation it normalises (``x``), its
    mean, the squared differences averaged into its variance, and its variance."""

    mean: int
    variance: int
    channels: int
    x: int
    squared: int


def moments_as_outputs(data: bytes) -> bytes:
    """The .tflite ``data`` with every normalisation's mean and variance added to its outputs."""
    schema, model, graph = _read(data)
    found = _find(schema, model, graph)
    if not found:
        raise ValueError("the network has no instance normalisation to open")
    graph.outputs = [*graph.outputs, *(t for m in found for t in (m.mean, m.variance))]
    return write(model, len(data))


def moments_as_inputs(data: bytes) -> bytes:
    """The .tflite ``data`` with every normalisation's mean and variance taken as inputs, and the
    operations that computed them removed."""
    _, model, _, _ = opened(data)
    return write(model, len(data))


def opened(data: bytes):
    """(schema, model, graph, normalisations) of ``data`` with its statistics taken as inputs:
    the flatbuffer's object form, for further rewriting (``stages.py``)."""
    schema, model, graph = _read(data)
    found = _find(schema, model, graph)
    if not found:
        raise ValueError("the network has no instance normalisation to open")
    given = {t for m in found for t in (m.mean, m.variance)}
    for m in found:  # a file with run-time shapes (the dynamic-range one) leaves some unwritten
        for t in (m.mean, m.variance):
            graph.tensors[t].shape = [1, 1, 1, m.channels]
            graph.tensors[t].shapeSignature = None
    graph.inputs = [*graph.inputs, *(t for m in found for t in (m.mean, m.variance))]
    graph.operators = [op for op in graph.operators if not set(op.outputs) & given]
    remove_unused(graph)
    return schema, model, graph, found


def count(data: bytes) -> int:
    """How many instance normalisations the .tflite ``data`` has (0: it cannot be tiled)."""
    schema, model, graph = _read(data)
    return len(_find(schema, model, graph))


def _read(data: bytes):
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    if len(model.subgraphs) != 1:
        raise ValueError("only a single-graph network can be opened")
    return schema, model, model.subgraphs[0]


def write(model, size_hint: int) -> bytes:
    builder = flatbuffers.Builder(size_hint + 65536)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _find(schema, model, graph) -> list[Moments]:
    """Each normalisation's (mean, variance) tensors, in the graph's order: a ``MEAN`` whose
    output is subtracted (squared) from its own input, and the ``MEAN`` of that squared
    difference — stepping over the (de)quantize operations a quantized file puts between them."""
    code = [builtin_code(model.operatorCodes[op.opcodeIndex]) for op in graph.operators]
    kinds = {getattr(schema.BuiltinOperator, n): n for n in ("MEAN", "SQUARED_DIFFERENCE", "QUANTIZE", "DEQUANTIZE")}
    producer = {t: i for i, op in enumerate(graph.operators) for t in op.outputs}
    consumers: dict[int, list[int]] = {}
    for i, op in enumerate(graph.operators):
        for t in op.inputs:
            consumers.setdefault(int(t), []).append(i)

    def through(tensor: int, kind: str) -> int:
        """The tensor before any chain of ``kind`` operations that produced ``tensor``."""
        while tensor in producer and kinds.get(code[producer[tensor]]) == kind:
            tensor = int(graph.operators[producer[tensor]].inputs[0])
        return tensor

    def after(tensor: int) -> list[int]:
        """The operations that consume ``tensor``, directly or through one QUANTIZE."""
        found = []
        for i in consumers.get(tensor, []):
            if kinds.get(code[i]) == "QUANTIZE":
                found += consumers.get(int(graph.operators[i].outputs[0]), [])
            else:
                found.append(i)
        return found

    moments = []
    for op, c in zip(graph.operators, code, strict=True):
        if kinds.get(c) != "SQUARED_DIFFERENCE":
            continue
        x, m = (through(int(t), "DEQUANTIZE") for t in op.inputs)
        mean_op = producer.get(m)
        if mean_op is None or kinds.get(code[mean_op]) != "MEAN" or through(int(graph.operators[mean_op].inputs[0]), "DEQUANTIZE") != x:
            continue
        variance_ops = [i for i in after(int(op.outputs[0])) if kinds.get(code[i]) == "MEAN"]
        if len(variance_ops) != 1:
            continue
        variance = graph.operators[variance_ops[0]]
        moments.append(Moments(m, int(variance.outputs[0]), _channels(graph, producer, x), x, int(variance.inputs[0])))
    return moments


def _channels(graph, producer: dict[int, int], x: int) -> int:
    """How many channels the normalised tensor ``x`` has: from its shape, or from the weights of
    the convolution that made it when the file leaves the shape to run time."""
    shape = graph.tensors[x].shape
    if shape is not None and len(shape) == 4 and shape[-1] > 0:
        return int(shape[-1])
    conv = graph.operators[producer[x]]
    return int(graph.tensors[int(conv.inputs[1])].shape[0])


def remove_unused(graph) -> None:
    """Remove every operation none of whose outputs is used (by another operation or as the
    graph's output), until none is left."""
    while True:
        used = {int(t) for op in graph.operators for t in op.inputs} | {int(t) for t in graph.outputs}
        kept = [op for op in graph.operators if any(int(t) in used for t in op.outputs)]
        if len(kept) == len(graph.operators):
            return
        graph.operators = kept


def builtin_code(code) -> int:
    return max(code.builtinCode, code.deprecatedBuiltinCode)
