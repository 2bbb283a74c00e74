"""Gradients of a model's per-sample scores with respect to its inputs, under any Keras backend.

Keras 3 has no backend-independent gradient call, so :func:`input_gradients` uses each backend's
own autodiff (TensorFlow's GradientTape, ``jax.value_and_grad``, torch's autograd) around the same
Keras model call. Under TensorFlow and JAX the gradient function is compiled (``tf.function``,
``jax.jit``; 15-20x faster than eager for FactorNet's LSTM) and kept for the last few score
functions, so a caller should pass the same score object on every call (a bound method, or an
object comparing equal) and give per-call values as inputs rather than through a closure.
"""

from __future__ import annotations

import functools
from typing import Callable, Mapping, Sequence

import keras
import numpy as np

#: a function of the model's input tensors (by name) giving one score per sample, (n,)
Score = Callable[[dict], object]


def input_gradients(score: Score, inputs: Mapping[str, np.ndarray],
                    wrt: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Scores (n,) and their gradients with respect to the inputs named in ``wrt``.

    ``score`` maps the inputs (backend tensors, by name, each (n, ...)) to one value per sample;
    the samples must not interact (inference mode), so the gradient of the summed score is each
    sample's own gradient. Returns float32 numpy arrays, gradients shaped like their inputs (zeros
    for an input the score does not depend on).
    """
    backend = keras.backend.backend()
    arrays = {name: np.asarray(value, np.float32) for name, value in inputs.items()}
    if backend == "tensorflow":
        values, grads = _tensorflow(score, arrays, wrt)
    elif backend == "jax":
        values, grads = _jax(score, arrays, wrt)
    elif backend == "torch":
        values, grads = _torch(score, arrays, wrt)
    else:
        raise ValueError(f"gradients are not available under the Keras backend {backend!r} "
                         "(use tensorflow, jax or torch)")
    gradients = {name: np.zeros_like(arrays[name]) if grad is None else
                 np.asarray(keras.ops.convert_to_numpy(grad), np.float32)
                 for name, grad in zip(wrt, grads)}
    return np.asarray(keras.ops.convert_to_numpy(values), np.float32), gradients


def _tensorflow(score, arrays, wrt):
    import tensorflow as tf

    tensors = {name: tf.convert_to_tensor(value) for name, value in arrays.items()}
    return _tensorflow_function(score, tuple(wrt))(tensors)


@functools.lru_cache(maxsize=8)
def _tensorflow_function(score, wrt: tuple[str, ...]):
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def values_and_gradients(tensors):
        with tf.GradientTape() as tape:
            for name in wrt:
                tape.watch(tensors[name])
            values = score(tensors)
            total = tf.reduce_sum(values)
        return values, tape.gradient(total, [tensors[name] for name in wrt])

    return values_and_gradients


def _jax(score, arrays, wrt):
    import jax.numpy as jnp

    fixed = {name: jnp.asarray(value) for name, value in arrays.items() if name not in wrt}
    free = {name: jnp.asarray(arrays[name]) for name in wrt}
    (_, values), grads = _jax_function(score)(free, fixed)
    return values, [grads[name] for name in wrt]


@functools.lru_cache(maxsize=8)
def _jax_function(score):
    import jax
    import jax.numpy as jnp

    def total(free, fixed):
        # a layer's seed generator may be advanced (unused) inside the model: in a stateless
        # scope its update stays in the scope instead of leaking out of the traced function
        with keras.StatelessScope():
            values = score({**fixed, **free})
        return jnp.sum(values), values

    return jax.jit(jax.value_and_grad(total, has_aux=True))


def _torch(score, arrays, wrt):
    tensors = {name: keras.ops.convert_to_tensor(value) for name, value in arrays.items()}
    for name in wrt:
        tensors[name].requires_grad_(True)
    values = score(tensors)
    values.sum().backward()
    return values.detach(), [tensors[name].grad for name in wrt]
