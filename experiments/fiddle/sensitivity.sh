#!/usr/bin/env bash
# FIDDLE's claim that its results change only slightly with batch size, learning rate and the
# number and size of filters (Eser & Churchman 2016): the combined model trained over a grid (see --help).
set -euo pipefail

# Full mode's inputs, under --data, as ffn-fetch's fiddle-yeast group lays them out
YEAST_GENOME=yeast/sacCer3.fa         # the tracks manifest's dna row names it
YEAST_TRACKS=yeast/tracks.tsv         # name, role, kind, files (ffn-fiddle-train --manifest)
YEAST_GENES=yeast/genes.bed           # gene starts (BED6 with strand)
INPUTS=(dna netseq mnase tfiib rnaseq)  # the combined model's (the manifest's names)
# The grids: one factor varied at a time around the defaults (the first row). Columns: model
# name, batch size, learning rate, the modules' filters, the scaffold's filters (filters x0.5
# and x2 scale both), the filters' width.
FULL_GRID="default      20 0.001  80,40  20 5
batch_10     10 0.001  80,40  20 5
batch_50     50 0.001  80,40  20 5
lr_0.0001    20 0.0001 80,40  20 5
lr_0.01      20 0.01   80,40  20 5
filters_x0.5 20 0.001  40,20  10 5
filters_x2   20 0.001  160,80 40 5
width_3      20 0.001  80,40  20 3
width_9      20 0.001  80,40  20 9"
FULL_SETTINGS=(--representation 500)
# Demo mode: tss-study's demo settings, two values per factor
DEMO_GRID="default      20 0.001  16,8   8  5
batch_50     50 0.001  16,8   8  5
lr_0.01      20 0.01   16,8   8  5
filters_x0.5 20 0.001  8,4    4  5
width_9      20 0.001  16,8   8  9"
DEMO_SETTINGS=(--representation 100 -e 3 -ep 3 --window_step 100 --n_valid 500 --n_test 500
               --curve_every 1000)

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
usage="usage: experiments/fiddle/sensitivity.sh [--demo] [-o DIR] [--data DIR] [flags]

Tests FIDDLE's claim (Eser & Churchman, bioRxiv 081380, 2016: hyperparameters not tuned, results
only mildly sensitive to batch size, learning rate, number and size of filters): the combined
model (DNA, NET-seq, MNase-seq, TFIIB ChIP-seq, RNA-seq) trained for a grid that varies one
factor at a time around the defaults; bin accuracy and mean KL per setting on the same held-out
windows, and the spread (max - min) per factor.

inputs (full mode, under --data; 'ffn-fetch fiddle-yeast' gets them, see README 'Data'):
  $YEAST_TRACKS     tracks manifest: inputs ${INPUTS[*]} and the
                       target (TSS-seq)
  $YEAST_GENES      gene starts (BED6)
  $YEAST_GENOME     the genome (sacCer3), named by the manifest's dna row

outputs (in the run folder):
  models/NAME/         the model folders (ffn-fiddle-train), NAME a grid row's
  eval/NAME.*          their evaluations (ffn-fiddle-evaluate); compare.txt: the --compare table
  grid.tsv             the grid run (the rows below)
  results.tsv, results.md, sensitivity.png, learning_curves.png, run.json

settings (name, batch size, learning rate, the modules' filters, the scaffold's filters, the
filters' width):
  full mode   ${FULL_SETTINGS[*]} and ffn-fiddle-train's other defaults (see tss-study.sh
              --help), with
$(sed 's/^/                /' <<< "$FULL_GRID")
              Run time: not measured here (nine models on about 129,000 windows each; use a GPU).
  demo mode   ${DEMO_SETTINGS[*]}, with
$(sed 's/^/                /' <<< "$DEMO_GRID")
              five models: about 5.5 minutes on two CPU cores (four took 4.6 min while
              other jobs shared the cores).

$COMMON_FLAGS_HELP"

experiment_init fiddle/sensitivity "$@"
reject_unknown "${REST[@]+"${REST[@]}"}"

if [ "$MODE" = demo ]; then
    tracks=$DEMO/fiddle/tracks.tsv genes=$DEMO/fiddle/genes.bed
    settings=("${DEMO_SETTINGS[@]}") grid=$DEMO_GRID
else
    tracks=$DATA/$YEAST_TRACKS genes=$DATA/$YEAST_GENES
    settings=("${FULL_SETTINGS[@]}") grid=$FULL_GRID
    for path in "$tracks" "$genes" "$DATA/$YEAST_GENOME"; do
        [ -e "$path" ] || experiment_error \
            "missing input $path: get it with 'ffn-fetch fiddle-yeast' (see README 'Data')"
    done
fi

mkdir -p "$OUT/models" "$OUT/eval"
{ echo "model batch_size learning_rate module_filters scaffold_filters kernel_width"; echo "$grid"; } \
    | tr -s ' ' '\t' > "$OUT/grid.tsv"
compare=()
while read -r model batch rate module_filters scaffold_filters width; do
    ffn ffn-fiddle-train --manifest "$tracks" --genes "$genes" \
        --inputs "$(IFS=,; echo "${INPUTS[*]}")" "${settings[@]}" --batchsize "$batch" \
        -lr "$rate" --module_filters "$module_filters" --scaffold_filters "$scaffold_filters" \
        --kernel_width "$width" -oc "$OUT/models/$model" < /dev/null
    ffn ffn-fiddle-evaluate -m "$OUT/models/$model" -oc "$OUT/eval/$model" > /dev/null < /dev/null
    compare+=("$model=$OUT/eval/$model.summary.json")
done <<< "$grid"
ffn ffn-fiddle-evaluate --compare "$(IFS=,; echo "${compare[*]}")" > "$OUT/compare.txt"
experiment_report
