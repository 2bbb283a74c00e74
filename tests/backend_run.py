"""One Keras backend end to end on the small demo, in one process (run by test_backends.py under
KERAS_BACKEND=<backend>): train FactorNet and FIDDLE a few steps and save them, then load this
run's folders and those of another backend's run, and predict and attribute with them.

    python tests/backend_run.py DEMO OUT [OTHER_RUN]

Writes under OUT: ``factornet/`` and ``fiddle/`` (the trained folders), and per run whose folders
it loaded, ``predictions/<tag>.tab.gz`` (FactorNet submission), ``predictions/<tag>/`` (FIDDLE
profiles) and ``attributions/<tag>/`` (FactorNet attributions), where <tag> is the run folder's
name (the backend that trained it); and ``modules.json``: the backend and whether TensorFlow was
imported; ``shipped.json``: the check numbers of a few models we ship (their cards' ``check``)
recomputed under this backend.
"""

import json
import logging
import sys
from pathlib import Path

import keras

from fiddle_factornet.factornet.model import FactorNetConfig
from fiddle_factornet.factornet.prediction import predict_regions
from fiddle_factornet.factornet.training import TrainSettings, train
from fiddle_factornet.fiddle.prediction import predict_fiddle
from fiddle_factornet.fiddle.training import FiddleTrainSettings, train_fiddle
from fiddle_factornet.interpret.attribution_outputs import attribute_regions
from fiddle_factornet.shipped import model_check, read_card

#: a small FactorNet (the Keras-1 hard sigmoid in its LSTM, as every original model)
ARCHITECTURE = FactorNetConfig(input_length=300, kernels=8, kernel_width=12, recurrent=4, dense=16)
#: shipped models: converted originals (meta + RNA-seq; GENCODE annotations) and the demo's two
SHIPPED = ("factornet/EGR1/meta_RNAseq_Unique35_DGF", "factornet/E2F1/GENCODE_Unique35_DGF",
           "demo/factornet_CTCF", "demo/fiddle_combined")
MODELS = Path(__file__).resolve().parents[1] / "models"
REGIONS = "chr1\t10000\t10200\tfirst\nchr11\t30100\t30300\t.\n"


def main(demo: Path, out: Path, others: list[Path]) -> None:
    factornet, genome = demo / "factornet", str(demo / "genome/demo.fa")
    train(TrainSettings(input_dirs=(str(factornet / "demoA"), str(factornet / "demoB")),
                        factor="CTCF", genome=genome, blacklist=str(demo / "genome/blacklist.bed.gz"),
                        output_dir=str(out / "factornet"), epochs=2, learning_rate=0.003,
                        architecture=ARCHITECTURE))
    train_fiddle(FiddleTrainSettings(
        manifest=str(demo / "fiddle/tracks.tsv"), genes=str(demo / "fiddle/genes.bed"),
        output_dir=str(out / "fiddle"), inputs=("dna", "netseq", "rnaseq"), n_valid=8, n_test=8,
        epochs=1, batch_size=100, curve_every=0, module_filters=(4, 4), scaffold_filters=2,
        representation=20))
    regions = out / "regions.bed"
    regions.write_text(REGIONS)
    for folder in [*others, out]:
        name = folder.name
        predict_regions(folder / "factornet", factornet / "demoC", "CTCF", None,
                        out / "predictions" / f"{name}.tab.gz", genome,
                        blacklist=str(demo / "genome/blacklist.bed.gz"), chroms=["chr1", "chr21"])
        predict_fiddle(folder / "fiddle", out / "predictions" / name,
                       genes=str(demo / "fiddle/genes.bed"))
        attribute_regions(folder / "factornet", factornet / "demoC", "CTCF", regions,
                          out / "attributions" / name, genome, methods=("gradxinput", "ig"),
                          ig_steps=8, plots=0)
    checks = {name: model_check(MODELS / name, read_card(MODELS / name))["values"]
              for name in SHIPPED}
    (out / "shipped.json").write_text(json.dumps(checks))
    (out / "modules.json").write_text(json.dumps({
        "backend": keras.backend.backend(), "tensorflow_imported": "tensorflow" in sys.modules}))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    main(Path(sys.argv[1]), Path(sys.argv[2]), [Path(p) for p in sys.argv[3:4]])
