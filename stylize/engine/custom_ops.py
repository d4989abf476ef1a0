"""Graph rewriting that turns MediaPipe's custom operators into TFLite builtins, for runtimes
that do not know them.

MediaPipe's selfie segmenters end in ``Convolution2DTransposeBias``: a transposed convolution
followed by a bias add, written as one custom operator. LiteRT's XNNPACK delegate runs it; OpenVINO
2026.4's TFLite frontend refuses the file ("No translator found for Convolution2DTransposeBias
node"). TFLite's builtin ``TRANSPOSE_CONV`` (version 3) takes an optional bias as its fourth input,
so the custom operator is exactly a ``TRANSPOSE_CONV`` with inputs (output shape, weights, input,
bias) and the same padding and strides. ``builtin_transpose_conv`` writes that into a copy of the
file's flatbuffer; the weights, the bias and every other operator are left as they are.

The custom operator's options are MediaPipe's ``TfLiteTransposeConvParams``: three int32 —
padding (1 same, 2 valid), stride width, stride height.
"""

from __future__ import annotations

import struct

import flatbuffers
import numpy as np

CUSTOM_TRANSPOSE_CONV = "Convolution2DTransposeBias"
TRANSPOSE_CONV_WITH_BIAS_VERSION = 3  # the op version that reads a bias input


def has_custom_transpose_conv(data: bytes) -> bool:
    """Whether an operator of a .tflite file is MediaPipe's ``Convolution2DTransposeBias`` (cheap:
    reads the operator codes and indices, no tensors)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(data, 0)
    codes = set()
    for i in range(model.OperatorCodesLength()):
        custom = model.OperatorCodes(i).CustomCode()
        if custom is not None and custom.decode() == CUSTOM_TRANSPOSE_CONV:
            codes.add(i)
    for s in range(model.SubgraphsLength() if codes else 0):
        graph = model.Subgraphs(s)
        if any(graph.Operators(i).OpcodeIndex() in codes for i in range(graph.OperatorsLength())):
            return True
    return False


def builtin_transpose_conv(data: bytes) -> bytes:
    """The .tflite ``data`` with every ``Convolution2DTransposeBias`` written as a builtin
    ``TRANSPOSE_CONV`` with a bias input (the custom operator's code stays listed, unused, so no
    other operator's code index changes)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    custom = [i for i, code in enumerate(model.operatorCodes) if code.customCode is not None and code.customCode.decode() == CUSTOM_TRANSPOSE_CONV]
    if not custom:
        return data
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.TRANSPOSE_CONV
    code.version = TRANSPOSE_CONV_WITH_BIAS_VERSION
    model.operatorCodes.append(code)
    builtin = len(model.operatorCodes) - 1
    for graph in model.subgraphs:
        for op in graph.operators:
            if op.opcodeIndex not in custom:
                continue
            source, weights, bias = op.inputs
            padding, stride_w, stride_h = struct.unpack("<3i", bytes(bytearray(op.customOptions)))
            options = schema.TransposeConvOptionsT()
            options.padding = {1: schema.Padding.SAME, 2: schema.Padding.VALID}[padding]
            options.strideW, options.strideH = stride_w, stride_h
            op.opcodeIndex = builtin
            op.inputs = [_output_shape(schema, model, graph, op.outputs[0]), weights, source, bias]
            op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.TransposeConvOptions, options
            op.customOptions = None
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _output_shape(schema, model, graph, output: int) -> int:
    """A new constant int32 tensor holding the shape of tensor ``output``; returns its index."""
    shape = np.asarray(graph.tensors[output].shape, dtype="<i4")
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(shape.tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.shape = [len(shape)]
    tensor.type = schema.TensorType.INT32
    tensor.buffer = len(model.buffers) - 1
    tensor.name = graph.tensors[output].name + b"/output_shape" if isinstance(graph.tensors[output].name, bytes) else f"{graph.tensors[output].name}/output_shape"
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1
