"""fiddle_factornet: FactorNet and FIDDLE on Keras 3 (TensorFlow, JAX or PyTorch)."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="fiddle_factornet",
    version="0.1.0",
    description="FactorNet (TF binding) and FIDDLE (TSS-seq) genomics deep learning on Keras 3",
    long_description=Path(__file__).with_name("README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["fiddle_factornet", "fiddle_factornet.*"]),
    scripts=[str(p) for p in sorted(Path("bin").iterdir()) if p.is_file()],
    install_requires=[  # a Keras backend comes with an extra: [tensorflow], [jax] or [torch]
        "keras>=3.0",
        "numpy>=1.24",
        "pyBigWig>=0.3.22",
        "pyfaidx>=0.8",
        "biopython>=1.73",  # pyfaidx reads bgzipped (BGZF) FASTA through Bio.bgzf
        "pandas>=2.0",
        "h5py>=3.0",
        "absl-py>=1.0",
        "tqdm>=4.60",
        "matplotlib>=3.6",  # FIDDLE's learning-curve and profile plots (PNG)
        "logomaker>=0.8",  # sequence logos of kernel motifs and attributions (matplotlib-based)
        "pyjaspar>=3.0",  # JASPAR's releases as SQLite, offline: the default motif database
        "memelite>=0.5",  # TOMTOM (p-values, offsets, strands) in numba, no MEME suite install
    ],
    extras_require={
        "tensorflow": ["tensorflow>=2.16",
                       "tensorboard>=2.16"],  # the TensorBoard callback; tensorflow no longer installs it
        "jax": ["jax>=0.4.30"],
        "torch": ["torch>=2.1"],
        "test": ["pytest>=7", "scikit-learn"],
    },
)
