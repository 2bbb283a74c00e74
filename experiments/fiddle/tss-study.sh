#!/usr/bin/env bash
# FIDDLE's Fig. 3 (Eser & Churchman 2016): TSS-seq predicted from each input alone and from all
# of them, beside the random and replicate rows, and every model's learning curve (see --help).
set -euo pipefail

# Full mode's inputs, under --data, as ffn-fetch's fiddle-yeast group lays them out
YEAST_GENOME=yeast/sacCer3.fa         # the tracks manifest's dna row names it
YEAST_TRACKS=yeast/tracks.tsv         # name, role, kind, files (ffn-fiddle-train --manifest)
YEAST_GENES=yeast/genes.bed           # gene starts (BED6 with strand)
YEAST_HDF5=yeast/hdf5datasets         # the authors' HDF5 datasets (--hdf5)
# The tracks of the study (the manifest's names; the HDF5 datasets') and the paper's model sizes
INPUTS=(dna netseq mnase tfiib rnaseq)
HDF5_INPUTS=(dnaseq netseq mnaseseq chipseq rnaseq)
PAPER_SIZES=(--module_filters 80,40 --scaffold_filters 20 --representation 500)
# Demo mode: the sizes of the former ffn-fiddle-experiment, fewer windows (every 100 bp, not 20)
# and epochs, so that the six models train in minutes on two CPU cores
DEMO_SETTINGS=(--module_filters 16,8 --scaffold_filters 8 --representation 100 -e 3 -ep 3
               --window_step 100 --n_valid 500 --n_test 500 --curve_every 1000)

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
usage="usage: experiments/fiddle/tss-study.sh [--demo] [-o DIR] [--data DIR] [flags]

Reproduces FIDDLE's Fig. 3 (Eser & Churchman, bioRxiv 081380, 2016): one model per single input
(DNA, NET-seq, MNase-seq, TFIIB ChIP-seq, RNA-seq), the combined model (every input), the
replicate row (TSS-seq replicate 2 scored as if it were the prediction) and the random row; bin
accuracy and mean KL on the same held-out windows, the paper's figures beside; the learning
curves of every model (held-out KL against training samples seen) in one plot.

inputs (full mode, under --data; 'ffn-fetch fiddle-yeast' gets them, see README 'Data'):
  $YEAST_TRACKS     tracks manifest: inputs ${INPUTS[*]}, the target
                       (TSS-seq) and a replicate row (TSS-seq replicate 2)
  $YEAST_GENES      gene starts (BED6)
  $YEAST_GENOME     the genome (sacCer3), named by the manifest's dna row
  or, with --hdf5, the authors' HDF5 datasets ($YEAST_HDF5: train.h5 or training.h5,
  validation.h5, test.h5): inputs ${HDF5_INPUTS[*]}, target tssseq; they
  hold no replicate, so the replicate row then has the paper's figure only.

flags:
  --hdf5 PATH        Full mode: train and evaluate on the authors' HDF5 datasets instead, their
                     folder (e.g. DATA/$YEAST_HDF5) or the files TRAIN.h5,VALIDATION.h5,TEST.h5
                     (as ffn-fiddle-train --hdf5 reads them); the models are scored on every row
                     of the test file.

outputs (in the run folder):
  models/NAME/         the model folders (ffn-fiddle-train), NAME an input or 'combined'
  eval/NAME.*          their evaluations (ffn-fiddle-evaluate); compare.txt: the --compare table
  results.tsv, results.md, bin_accuracy.png, learning_curves.png, run.json

settings:
  full mode   the paper's: modules of 80 and 40 filters, a scaffold of 20, 500-value
              representations (${PAPER_SIZES[*]}), and
              ffn-fiddle-train's defaults, the original's: windows every 20 bp from 500 to 20 bp
              before each gene start, batches of 20, learning rate 1e-3, at most 50 epochs
              (patience 5), 1,000 validation and 1,000 test windows. Run time: not measured here
              (six models on about 129,000 windows each; use a GPU).
  demo mode   ${DEMO_SETTINGS[*]}
              about 3.5 minutes on two CPU cores (3.6 min measured while other jobs shared
              the cores).

$COMMON_FLAGS_HELP"

experiment_init fiddle/tss-study "$@"
hdf5=
set -- "${REST[@]+"${REST[@]}"}"
while [ $# -gt 0 ]; do
    case $1 in
        --hdf5) [ $# -ge 2 ] || experiment_error "--hdf5 needs a value (see --help)"
                hdf5=$2; shift 2 ;;
        *) break ;;
    esac
done
reject_unknown "$@"

if [ "$MODE" = demo ]; then
    [ -z "$hdf5" ] || experiment_error "--hdf5 is for full mode (the demo data are bigWigs)"
    data=(--manifest "$DEMO/fiddle/tracks.tsv" --genes "$DEMO/fiddle/genes.bed")
    settings=("${DEMO_SETTINGS[@]}")
elif [ -n "$hdf5" ]; then
    IFS=, read -r -a paths <<< "$hdf5"
    for path in "${paths[@]}"; do
        [ -e "$path" ] || experiment_error "missing input $path: the authors' HDF5 datasets" \
            "('ffn-fetch fiddle-yeast' lists them, see README 'Data')"
    done
    data=(--hdf5 "$hdf5") settings=("${PAPER_SIZES[@]}") INPUTS=("${HDF5_INPUTS[@]}")
else
    tracks=$DATA/$YEAST_TRACKS genes=$DATA/$YEAST_GENES
    data=(--manifest "$tracks" --genes "$genes") settings=("${PAPER_SIZES[@]}")
    for path in "$tracks" "$genes" "$DATA/$YEAST_GENOME"; do
        [ -e "$path" ] || experiment_error \
            "missing input $path: get it with 'ffn-fetch fiddle-yeast' (see README 'Data')"
    done
    for name in "${INPUTS[@]}"; do
        cut -f1 "$tracks" | grep -qx "$name" \
            || experiment_error "$tracks: no track named '$name' (the study's inputs: ${INPUTS[*]})"
    done
fi

mkdir -p "$OUT/models" "$OUT/eval"
compare=()
for model in "${INPUTS[@]}" combined; do
    inputs=$model
    [ "$model" = combined ] && inputs=$(IFS=,; echo "${INPUTS[*]}")
    ffn ffn-fiddle-train "${data[@]}" --inputs "$inputs" "${settings[@]}" -oc "$OUT/models/$model"
    ffn ffn-fiddle-evaluate -m "$OUT/models/$model" -oc "$OUT/eval/$model" > /dev/null
    compare+=("$model=$OUT/eval/$model.summary.json")
done
ffn ffn-fiddle-evaluate --compare "$(IFS=,; echo "${compare[*]}")" > "$OUT/compare.txt"
experiment_report
