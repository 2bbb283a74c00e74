"""fiddle_factornet: FactorNet and FIDDLE on Keras 3, with a shared genomic data layer."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
