"""A float32 transfer model recovered from the float16 one.

The store holds no float SavedModel of the Magenta networks, but its float16 transfer file is the
float network with each weight stored as float16 and widened back to float32 by a DEQUANTIZE
operator. Widening every such weight once, here, and dropping those operators gives a float32
.tflite that computes exactly what the float16 file computes on LiteRT (XNNPACK runs it in float32
anyway) — the float reference the comparison measures against, and the source the quantizer reads.

Two more changes make the file what today's tools expect: each operator code is written into the
modern ``builtin_code`` field (this file predates it and keeps its codes in
``deprecated_builtin_code``, which ai-edge-quantizer does not read), and a ``serving_default``
signature names the inputs and the output (calibration is driven through it).
"""

from __future__ import annotations

import numpy as np

from ..engine.moments import write


def float32_from_float16(data: bytes) -> bytes:
    """The float16-weight .tflite ``data`` as a float32 .tflite."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for code in model.operatorCodes:
        code.builtinCode = max(code.builtinCode, code.deprecatedBuiltinCode)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    graph = model.subgraphs[0]
    kept = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex].builtinCode
        source = graph.tensors[op.inputs[0]]
        buffer = model.buffers[source.buffer]
        if code == schema.BuiltinOperator.DEQUANTIZE and source.type == schema.TensorType.FLOAT16 and buffer.data is not None and len(buffer.data):
            widened = np.frombuffer(bytes(bytearray(buffer.data)), dtype="<f2").astype("<f4")
            out = schema.BufferT()
            out.data = np.frombuffer(widened.tobytes(), dtype=np.uint8)
            model.buffers.append(out)
            graph.tensors[op.outputs[0]].buffer = len(model.buffers) - 1
            buffer.data = None  # the float16 copy is not needed any more
            continue
        kept.append(op)
    graph.operators = kept
    _drop_unused_tensors(graph)
    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = "serving_default", 0
    signature.inputs = [_tensor_map(schema, graph, i) for i in graph.inputs]
    signature.outputs = [_tensor_map(schema, graph, i) for i in graph.outputs]
    model.signatureDefs = [signature]
    return write(model, len(data))


def _drop_unused_tensors(graph) -> None:
    used = sorted({i for op in graph.operators for i in [*op.inputs, *op.outputs] if i >= 0} | set(graph.inputs) | set(graph.outputs))
    renumber = {old: new for new, old in enumerate(used)}
    graph.tensors = [graph.tensors[i] for i in used]
    for op in graph.operators:
        op.inputs = [renumber[i] if i >= 0 else -1 for i in op.inputs]
        op.outputs = [renumber[i] for i in op.outputs]
    graph.inputs = [renumber[i] for i in graph.inputs]
    graph.outputs = [renumber[i] for i in graph.outputs]


def _tensor_map(schema, graph, index: int):
    entry = schema.TensorMapT()
    entry.name, entry.tensorIndex = graph.tensors[index].name, index
    return entry
