"""fiddle_factornet: FactorNet and FIDDLE on Keras 3, with a shared genomic data layer."""

import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: the Keras backends, in the order one is chosen when the user has chosen none
BACKENDS = ("tensorflow", "jax", "torch")


def _choose_backend() -> None:
    """Keras's backend when the user has chosen none (no ``KERAS_BACKEND``, no ``backend`` in
    Keras's ``keras.json``) and TensorFlow, Keras's default, is not installed: the first of JAX
    and torch that is, so that ``pip install fiddle_factornet[jax]`` works as it is."""
    if "KERAS_BACKEND" in os.environ or "keras" in sys.modules:
        return
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        if "backend" in json.loads(config.read_text()):
            return
    except (OSError, ValueError):
        pass
    installed = [name for name in BACKENDS if importlib.util.find_spec(name) is not None]
    if installed and installed[0] != "tensorflow":
        os.environ["KERAS_BACKEND"] = installed[0]


_choose_backend()
