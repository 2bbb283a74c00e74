#!/usr/bin/env bash
# FactorNet's Fig. S2B (Quang & Xie 2019): one single-task model trained twice, validated within
# its training cell types (a held-out chromosome) or on another cell type (-vi); both validation
# loss curves (see --help).
set -euo pipefail

# Full mode defaults: the TF, the training cell type(s) and the other cell type to validate on
# (our choice: the paper's Fig. S2B could not be consulted; CTCF has ChIP-seq in both)
FACTOR=CTCF
TRAIN=HepG2
VALID=K562
TRACKS=Unique35_DGF     # the tracks of the original's cell-type folders
# Demo mode: a demo TF, trained on one demo cell type, validated on another; enough epochs for
# curves (no early stopping)
DEMO_FACTOR=CTCF
DEMO_TRAIN=demoA
DEMO_VALID=demoB
DEMO_FLAGS="-k 16 -r 16 -d 32 -e 10 -ep 10"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/lib.sh"
source "$here/lib_factornet.sh"
usage="usage: experiments/factornet/validation-curves.sh [--demo] [-o DIR] [--data DIR] [flags]

Reproduces FactorNet's Fig. S2B (Quang & Xie, Methods 2019): the same single-task model
(the same training data, settings and seed) trained twice, once with within-cell-type
validation (chr11 of the training cell types, ffn-train's default) and once with cross-cell-type
validation (chr11 of another cell type, -vi); plots both validation-loss curves per epoch (from
each model folder's history.json) beside the training loss, and tables each run's best epoch and
loss. Early stopping and the weights kept follow each run's own validation loss.

flags:
  -f, --factor TF      The TF (full mode default: $FACTOR; demo: $DEMO_FACTOR).
  --train CELL,...     Training cell type(s) (default: $TRAIN; demo: $DEMO_TRAIN).
  --valid CELL         The other cell type to validate on; it needs the TF's ChIP-seq (default:
                       $VALID; demo: $DEMO_VALID).

inputs (full mode, under --data):
  <cell type>/        the training and validation cell types' folders ('ffn-fetch dream-<cell
                      type>'; the DNase bigWigs are on Synapse: ffn-fetch prints how to get them)
  $GENOME_FA   'ffn-fetch hg19', then gunzip $GENOME_FA.gz
  $BLACKLIST_BED   'ffn-fetch factornet-resources'

outputs (in the run folder):
  models/within-cell-type/, models/cross-cell-type/   the model folders (ffn-train)
  results.tsv, results.md, validation_curves.png, run.json

settings and run time:
  full mode   ffn-train's defaults, the original's (-k 32 -r 32 -d 128, -n 1, at most 100 epochs,
              patience 20) on the tracks ${TRACKS//_/ + }. Not timed here (no GPU and no
              ENCODE-DREAM data on the machine this was written on). An estimate for two CPU
              cores from the README's 562 training samples/s: an epoch of CTCF in HepG2 (51,860
              peaks, one negative each) takes about 3 minutes, up to 100 epochs per run.
  demo mode   $DEMO_FACTOR on $DEMO_TRAIN, validated on $DEMO_TRAIN's chr11 or $DEMO_VALID's:
              $DEMO_FLAGS; 2.0 minutes (1.1 minutes of CPU) on a two-core
              machine shared with other work.

$COMMON_FLAGS_HELP"

experiment_init factornet/validation-curves "$@"
factor= train= valid=
set -- "${REST[@]+"${REST[@]}"}"
while [ $# -gt 0 ]; do
    case $1 in
        -f | --factor | --train | --valid)
            [ $# -ge 2 ] || experiment_error "$1 needs a value (see --help)"
            case $1 in
                -f | --factor) factor=$2 ;;
                --train) train=$2 ;;
                --valid) valid=$2 ;;
            esac
            shift 2 ;;
        *) break ;;
    esac
done
reject_unknown "$@"

factornet_inputs
if [ "$MODE" = demo ]; then
    factor=${factor:-$DEMO_FACTOR} train=${train:-$DEMO_TRAIN} valid=${valid:-$DEMO_VALID}
    read -ra flags <<< "$DEMO_FLAGS"
else
    factor=${factor:-$FACTOR} train=${train:-$TRAIN} valid=${valid:-$VALID}
    flags=()
    need_genome
    IFS=, read -ra cells <<< "$train"
    need_cells "${cells[@]}" "$valid"
fi
[[ ",$train," != *",$valid,"* ]] \
    || experiment_error "--valid $valid is a training cell type: give another one"

valid_dir=$(track_folders "$TRACKS" "$valid")
train within-cell-type "$TRACKS" "$train" -f "$factor" "${flags[@]}"
train cross-cell-type "$TRACKS" "$train" -f "$factor" -vi "$valid_dir" "${flags[@]}"
experiment_report
