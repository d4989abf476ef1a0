"""The transfer network as a TensorFlow model, for TensorFlow's own converter.

The store holds Magenta's networks only as .tflite files, and TensorFlow has no importer from
.tflite back to a graph. The transfer network is small and regular — 197 operators of ten kinds
(mirror pads and convolutions, 13 style-conditioned instance normalisations written as
``MEAN``/``SQUARED_DIFFERENCE``/``MEAN``/``RSQRT`` and per-pixel arithmetic, residual adds, three
nearest-neighbour upsamplings, a sigmoid) — so this module rebuilds it operator by operator as a
``tf.function``, with the weights read from the float32 file (``float32.py``). Two differences
from the file, both on purpose:

- height and width are ``None``: each upsampling doubles its input's run-time size instead of
  resizing to the file's constant 192² and 384², so the model paints any size (a multiple of 4)
  natively, with no rewriting of sizes;
- nothing else: every operator maps to the TensorFlow operation TFLite's own converter turns back
  into it, so ``TFLiteConverter`` writes the same 197-operator graph.

The other route — ``.tflite → tf2onnx → ONNX → onnx2tf → SavedModel`` — also works, but adds a
2.4 GB stack with onnx2tf pinned to an old release, transposes inputs unless given layout flags,
and tf2onnx writes different bytes on every run, so the manifest's pinned sha256 would break.
"""

from __future__ import annotations

import numpy as np

IMAGE_INPUT = "content_image"
VECTOR_INPUT = "style_bottleneck"
VECTOR_SIZE = 100
_ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}


class _Graph:
    """The float32 file's one subgraph: its operators in order, and its constant tensors."""

    def __init__(self, data: bytes):
        from ai_edge_litert import schema_py_generated as schema

        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        graph = model.subgraphs[0]
        self.tensors = graph.tensors
        self.inputs, self.outputs = list(graph.inputs), list(graph.outputs)
        self.operators = [(names[max(model.operatorCodes[op.opcodeIndex].builtinCode, model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode)], op) for op in graph.operators]
        self.constants: dict[int, np.ndarray] = {}
        dtypes = {schema.TensorType.FLOAT32: "<f4", schema.TensorType.INT32: "<i4", schema.TensorType.INT64: "<i8"}
        for index, tensor in enumerate(graph.tensors):
            buffer = model.buffers[tensor.buffer]
            if buffer.data is not None and len(buffer.data):
                if tensor.type not in dtypes:
                    raise ValueError(f"tensor {tensor.name!r} is not float32: give the float32 transfer file")
                self.constants[index] = np.frombuffer(bytes(bytearray(buffer.data)), dtype=dtypes[tensor.type]).reshape(tensor.shape)

    def shape(self, index: int) -> tuple[int, ...]:
        return tuple(int(s) for s in self.tensors[index].shape)


class TransferModel:
    """The transfer network of a float32 .tflite file as TensorFlow operations.

    ``model(image, vector)`` takes a ``(1, H, W, 3)`` picture in [0, 1] (H and W multiples of 4)
    and a ``(1, 1, 1, 100)`` style vector and returns the painted ``(1, H, W, 3)`` picture;
    ``function`` is the ``tf.function`` with that signature, which ``TFLiteConverter`` takes."""

    def __init__(self, float32: bytes):
        import tensorflow as tf

        self._tf = tf
        self._graph = _Graph(float32)
        image, vector = sorted(self._graph.inputs, key=lambda i: self._graph.shape(i)[-1] != 3)
        self._image, self._vector = image, vector
        self._filters = {op.inputs[1] for kind, op in self._graph.operators if kind == "CONV_2D"}
        self._weights = {i: tf.constant(self._kernel(i, a)) for i, a in self._graph.constants.items()}
        self.function = tf.function(
            self._paint,
            input_signature=[
                tf.TensorSpec([1, None, None, 3], tf.float32, name=IMAGE_INPUT),
                tf.TensorSpec([1, 1, 1, VECTOR_SIZE], tf.float32, name=VECTOR_INPUT),
            ],
        )

    def __call__(self, image: np.ndarray, vector: np.ndarray) -> np.ndarray:
        return self.function(self._tf.constant(image, self._tf.float32), self._tf.constant(np.reshape(vector, (1, 1, 1, VECTOR_SIZE)), self._tf.float32)).numpy()

    def _kernel(self, index: int, array: np.ndarray) -> np.ndarray:
        """Convolution filters as TensorFlow holds them: TFLite's (out, h, w, in) → (h, w, in, out)."""
        return np.ascontiguousarray(array.transpose(1, 2, 3, 0)) if index in self._filters else array

    def _paint(self, image, vector):
        tf = self._tf
        values = {self._image: image, self._vector: vector}

        def arg(i):
            return values[i] if i in values else self._weights[i]

        for kind, op in self._graph.operators:
            options = op.builtinOptions
            x = arg(op.inputs[0])
            if kind == "CONV_2D":
                y = tf.nn.conv2d(
                    x, arg(op.inputs[1]), strides=[1, options.strideH, options.strideW, 1],
                    padding="SAME" if options.padding == 0 else "VALID",
                    dilations=[1, options.dilationHFactor, options.dilationWFactor, 1],
                )
                if len(op.inputs) > 2 and op.inputs[2] >= 0:
                    y = tf.nn.bias_add(y, arg(op.inputs[2]))
            elif kind == "MIRROR_PAD":
                y = tf.pad(x, self._graph.constants[op.inputs[1]], mode="REFLECT" if options.mode == 0 else "SYMMETRIC")
            elif kind == "MEAN":
                y = tf.reduce_mean(x, axis=[int(a) for a in np.ravel(self._graph.constants[op.inputs[1]])], keepdims=bool(options.keepDims))
            elif kind == "SQUARED_DIFFERENCE":
                y = tf.math.squared_difference(x, arg(op.inputs[1]))
            elif kind == "RSQRT":
                y = tf.math.rsqrt(x)
            elif kind in ("ADD", "SUB", "MUL"):
                y = {"ADD": tf.add, "SUB": tf.subtract, "MUL": tf.multiply}[kind](x, arg(op.inputs[1]))
            elif kind == "RESIZE_NEAREST_NEIGHBOR":
                y = self._upsample(x, op)
            elif kind == "LOGISTIC":
                y = tf.sigmoid(x)
            else:
                raise ValueError(f"the transfer network has no {kind} operator; this is not Magenta's transfer file")
            activation = _ACTIVATIONS[getattr(options, "fusedActivationFunction", 0) or 0]
            if activation:
                y = getattr(tf.nn, activation)(y)
            values[op.outputs[0]] = y
        return tf.identity(values[self._graph.outputs[0]], name="stylized_image")

    def _upsample(self, x, op):
        """A nearest-neighbour resize by the file's whole-number factor, of the run-time size."""
        tf = self._tf
        (_, h_in, w_in, _), (_, h_out, w_out, _) = self._graph.shape(op.inputs[0]), self._graph.shape(op.outputs[0])
        if h_out % h_in or w_out % w_in:
            raise ValueError("an upsampling by a fraction: not Magenta's transfer file")
        size = tf.shape(x)[1:3] * tf.constant([h_out // h_in, w_out // w_in])
        options = op.builtinOptions
        return tf.raw_ops.ResizeNearestNeighbor(images=x, size=size, align_corners=bool(options.alignCorners), half_pixel_centers=bool(options.halfPixelCenters))
