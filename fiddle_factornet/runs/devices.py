"""Where a training run computes: one device, several devices of this machine, or several machines.

The ``devices`` setting (``--devices`` of the training commands) is a count or ``all``:

- ``1`` (the default): one device, no distribution strategy at all (the plain Keras path);
- ``N`` > 1: synchronous data parallelism over the first N GPUs, by the engine's own means: under
  TensorFlow a ``tf.distribute.MirroredStrategy``, under JAX a
  ``keras.distribution.DataParallel`` (set for the run by its scope); under torch a one-line
  error (several devices need the tensorflow or jax backend). A machine without GPUs gets N
  *logical CPU devices* instead, at most one per usable core (TensorFlow:
  ``tf.config.set_logical_device_configuration``; JAX:
  ``XLA_FLAGS=--xla_force_host_platform_device_count=N``), which is how the tests run it: both
  must be set before the engine starts, so :func:`open_devices` comes first in a training run,
  and a process whose engine has already started with fewer devices gets a one-line error;
- ``all``: every GPU of this machine (the CPU alone, as ``1``, where there is none).

More devices asked for than there are is a one-line error naming how many there are.

Several machines: when ``TF_CONFIG`` names a cluster of more than one worker (``chief`` and
``worker`` tasks), the run is one worker of a ``tf.distribute.MultiWorkerMirroredStrategy``
(TensorFlow only; a one-line error under another backend), over this machine's first N GPUs
(``--devices N``; ``all``: every one), or its CPU (one replica per worker, ``--devices 1``).
Only the chief (task ``chief``, else ``worker`` 0) writes the model folder; the other workers
write theirs to a temporary folder of their own that they remove (TensorFlow's practice for
multi-worker checkpoints; :class:`~fiddle_factornet.runs.training.TrainingRun`).

The batch size is the global batch (Keras' and TensorFlow's convention): each of the ``replicas``
gets ``batch_size / replicas`` rows of every batch, and the gradient is the mean over the whole
batch (see :mod:`fiddle_factornet.pipeline` for batches that do not split evenly). The learning
rate is used as given, whatever the number of replicas.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

from ..errors import InputError

logger = logging.getLogger(__name__)


def parse_devices(value: int | str) -> int | str:
    """A devices setting: a count >= 1, or ``"all"``; ValueError("must be ...") otherwise."""
    text = str(value).strip().lower()
    if text == "all":
        return "all"
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError("must be a positive integer (a number of devices) or all")


@dataclass(frozen=True)
class Devices:
    """Where a run trains: ``strategy`` (``"none"`` for one device), ``replicas`` (devices
    computing each global batch together, over every worker), the local ``devices``, ``workers``
    and whether this process is the ``chief`` (the one that writes the run's outputs).

    ``scope()`` is the context to build, compile, load and fit the model in."""

    strategy: str = "none"
    replicas: int = 1
    devices: tuple[str, ...] = ()
    workers: int = 1
    chief: bool = True
    _scope: Callable[[], ContextManager] = field(default=contextlib.nullcontext, repr=False,
                                                  compare=False)

    def scope(self) -> ContextManager:
        return self._scope()

    def record(self) -> dict[str, Any]:
        """What run.json says of them."""
        return {"strategy": self.strategy, "replicas": self.replicas,
                "devices": list(self.devices), "workers": self.workers}


def open_devices(setting: int | str) -> Devices:
    """The devices of a training run (see the module's description); call it before anything
    starts the engine (TensorFlow's runtime, JAX's devices).

    Raises InputError (``setting="devices"``) for a bad setting, more devices than there are,
    a backend that cannot use them, or an engine already started with fewer."""
    import keras

    try:
        wanted = parse_devices(setting)
    except ValueError as error:
        raise InputError(f"devices={setting!r}: {error}", setting="devices") from None
    backend = keras.backend.backend()
    workers = _cluster_workers()
    if workers > 1:
        if backend != "tensorflow":
            raise InputError(f"TF_CONFIG names a cluster of {workers} workers: training on several "
                             f"machines needs the tensorflow backend (this is {backend})",
                             setting="devices")
        return _multi_worker(wanted, workers)
    if wanted == 1:
        return Devices()
    if backend == "tensorflow":
        return _mirrored(wanted)
    if backend == "jax":
        return _data_parallel(wanted)
    if wanted == "all" and _torch_gpus() <= 1:
        return Devices()
    raise InputError(f"devices={wanted}: several devices need the tensorflow or jax backend "
                     f"(this is {backend})", setting="devices")


def _cluster_workers() -> int:
    """The workers (chief included) of the cluster TF_CONFIG names; 0 when it is not set."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return 0
    try:
        cluster = json.loads(text).get("cluster", {})
        return len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    except (ValueError, AttributeError, TypeError) as error:
        raise InputError(f"TF_CONFIG: not a JSON cluster description ({error})") from None


def _count(wanted: int | str, gpus: int) -> int:
    """The devices to use: ``wanted``, every GPU for "all" (1 without GPUs); more than there are
    (GPUs, else usable cores for logical CPU devices) is an InputError."""
    if wanted == "all":
        if not gpus:
            logger.info("devices=all: no GPU here, training on the CPU")
        return max(gpus, 1)
    if gpus and wanted > gpus:
        raise InputError(f"devices={wanted}: this machine has {gpus} GPU{'s' * (gpus > 1)}",
                         setting="devices")
    cores = len(os.sched_getaffinity(0))
    if not gpus and wanted > cores:
        raise InputError(f"devices={wanted}: this machine has no GPU and {cores} usable CPU "
                         f"core{'s' * (cores > 1)} (without a GPU, N devices are N logical CPU "
                         "devices, one per core at most)", setting="devices")
    return wanted


def _too_late(engine: str, have: int, wanted: int) -> InputError:
    return InputError(f"devices={wanted}: {engine} has {have} CPU device{'s' * (have > 1)}; "
                      "logical CPU devices are set before it starts (train in a fresh process)",
                      setting="devices")


def _mirrored(wanted: int | str) -> Devices:
    """TensorFlow: a MirroredStrategy over the first N GPUs, else over N logical CPU devices."""
    import tensorflow as tf

    count = _count(wanted, len(tf.config.list_physical_devices("GPU")))
    if count == 1:
        return Devices()
    if tf.config.list_physical_devices("GPU"):
        names = [device.name for device in tf.config.list_logical_devices("GPU")][:count]
    else:
        names = _logical_cpus(count)
    strategy = tf.distribute.MirroredStrategy(names)
    logger.info("MirroredStrategy over %s", ", ".join(names))
    return Devices("MirroredStrategy", strategy.num_replicas_in_sync, tuple(names),
                   _scope=strategy.scope)


def _logical_cpus(count: int) -> list[str]:
    """TensorFlow: ``count`` logical CPU devices of the one physical CPU (before TF starts)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError:  # already started: fine if it has as many
        pass
    names = [device.name for device in tf.config.list_logical_devices("CPU")]
    if len(names) < count:
        raise _too_late("TensorFlow", len(names), count)
    return names[:count]


def _data_parallel(wanted: int | str) -> Devices:
    """JAX: keras.distribution.DataParallel over the first N GPUs, else N CPU devices."""
    if wanted != "all" and "xla_force_host_platform_device_count" not in \
            os.environ.get("XLA_FLAGS", ""):  # before JAX makes its CPU client
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   f" --xla_force_host_platform_device_count={wanted}").strip()
    import jax
    import keras

    gpus = jax.local_device_count() if jax.default_backend() != "cpu" else 0
    count = _count(wanted, gpus)
    if count == 1:
        return Devices()
    names = keras.distribution.list_devices(None if gpus else "cpu")
    if len(names) < count:
        raise _too_late("JAX", len(names), count)
    names = names[:count]
    distribution = keras.distribution.DataParallel(devices=names)
    logger.info("DataParallel over %s", ", ".join(names))
    return Devices("DataParallel", count, tuple(names), _scope=distribution.scope)


def _torch_gpus() -> int:
    import torch

    return torch.cuda.device_count()


def _multi_worker(wanted: int | str, workers: int) -> Devices:
    """TensorFlow: one worker of a MultiWorkerMirroredStrategy over the cluster of TF_CONFIG."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    count = _count(wanted, len(gpus))
    if gpus:
        try:
            tf.config.set_visible_devices(gpus[:count], "GPU")
        except RuntimeError:
            raise InputError(f"devices={wanted}: TensorFlow had already started; the GPUs a "
                             "worker uses are set before it starts", setting="devices") from None
    elif count > 1:
        raise InputError(f"devices={wanted}: TF_CONFIG names a cluster of {workers} workers and "
                         "this machine has no GPU: each worker is one CPU replica (give 1)",
                         setting="devices")
    strategy = _keras_multi_worker_strategy()
    resolver = strategy.cluster_resolver
    local = tuple(strategy.extended.worker_devices)
    logger.info("MultiWorkerMirroredStrategy: task %s:%s of %d workers, %d replicas in all",
                resolver.task_type, resolver.task_id, workers, strategy.num_replicas_in_sync)
    return Devices("MultiWorkerMirroredStrategy", strategy.num_replicas_in_sync, local, workers,
                   strategy.extended.should_checkpoint, _scope=strategy.scope)



def _keras_multi_worker_strategy():
    """A MultiWorkerMirroredStrategy whose ``reduce`` takes what Keras 3's ``fit`` gives it
    (keras-team/keras#20585, open: ``fit`` fails under the plain one): a whole data batch, a
    nested structure, before the first step (reduced item by item, as MirroredStrategy does), and
    each step's scalar logs with ``axis=0`` (their mean over the replicas, as under
    MirroredStrategy). Epoch figures are Keras' metrics read over every replica, as ever."""
    import tensorflow as tf

    class KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            def one(item):
                first = item.values[0] if isinstance(item, tf.distribute.DistributedValues) \
                    else item
                scalar = getattr(first, "shape", None) is not None and first.shape.rank == 0
                return super(KerasMultiWorkerMirroredStrategy, self).reduce(
                    reduce_op, item, None if scalar else axis)

            return tf.nest.map_structure(one, value)

    return KerasMultiWorkerMirroredStrategy()
