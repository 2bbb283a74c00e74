#!/usr/bin/env bash
# FIDDLE's Fig. 4 (Eser & Churchman 2016): sufficiency and necessity of each input of the
# combined model, with the two controls as extra inputs (see --help).
set -euo pipefail

# Full mode's inputs, under --data, as ffn-fetch's fiddle-yeast group lays them out
YEAST_GENOME=yeast/sacCer3.fa         # the tracks manifest's dna row names it
YEAST_TRACKS=yeast/tracks.tsv         # name, role, kind, files (ffn-fiddle-train --manifest)
YEAST_GENES=yeast/genes.bed           # gene starts (BED6 with strand)
# The combined model's inputs (the manifest's names), its controls and the paper's sizes
INPUTS=(dna netseq mnase tfiib rnaseq)
CONTROLS=target,noise
PAPER_SIZES=(--module_filters 80,40 --scaffold_filters 20 --representation 500)
# Demo mode: tss-study's demo settings
DEMO_SETTINGS=(--module_filters 16,8 --scaffold_filters 8 --representation 100 -e 3 -ep 3
               --window_step 100 --n_valid 500 --n_test 500 --curve_every 1000)

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
usage="usage: experiments/fiddle/importance.sh [--demo] [-o DIR] [--data DIR] [flags]

Reproduces FIDDLE's Fig. 4 (Eser & Churchman, bioRxiv 081380, 2016): the sufficiency and
necessity of each input of the combined model (DNA, NET-seq, MNase-seq, TFIIB ChIP-seq,
RNA-seq), trained with two control inputs besides them: the target itself (TSS-seq; it must come
out sufficient) and white noise (it must come out not necessary). Sufficiency is given both
ways: the paper's reading (1 - sigmoid(L_only - L_all): high = sufficient) and the authors'
notebook's score (sigmoid(L_only - L_all): 0.5 = sufficient).

inputs (full mode, under --data; 'ffn-fetch fiddle-yeast' gets them, see README 'Data'):
  $YEAST_TRACKS     tracks manifest: inputs ${INPUTS[*]} and the
                       target (TSS-seq)
  $YEAST_GENES      gene starts (BED6)
  $YEAST_GENOME     the genome (sacCer3), named by the manifest's dna row

outputs (in the run folder):
  models/combined/     the model folder (ffn-fiddle-train --controls $CONTROLS)
  eval/combined.*      its evaluation (ffn-fiddle-evaluate) and importance (ffn-fiddle-importance:
                       .importance.tsv per window, .importance.json means)
  results.tsv, results.md, importance.png, run.json

settings:
  full mode   the paper's sizes (${PAPER_SIZES[*]})
              and ffn-fiddle-train's defaults, the original's (see tss-study.sh --help). Run
              time: not measured here (one model on about 129,000 windows; use a GPU).
  demo mode   ${DEMO_SETTINGS[*]}
              about 1.5 minutes on two CPU cores (1.5 min measured while other jobs shared
              the cores).

$COMMON_FLAGS_HELP"

experiment_init fiddle/importance "$@"
reject_unknown "${REST[@]+"${REST[@]}"}"

if [ "$MODE" = demo ]; then
    tracks=$DEMO/fiddle/tracks.tsv genes=$DEMO/fiddle/genes.bed settings=("${DEMO_SETTINGS[@]}")
else
    tracks=$DATA/$YEAST_TRACKS genes=$DATA/$YEAST_GENES settings=("${PAPER_SIZES[@]}")
    for path in "$tracks" "$genes" "$DATA/$YEAST_GENOME"; do
        [ -e "$path" ] || experiment_error \
            "missing input $path: get it with 'ffn-fetch fiddle-yeast' (see README 'Data')"
    done
fi

mkdir -p "$OUT/models" "$OUT/eval"
ffn ffn-fiddle-train --manifest "$tracks" --genes "$genes" \
    --inputs "$(IFS=,; echo "${INPUTS[*]}")" --controls "$CONTROLS" "${settings[@]}" \
    -oc "$OUT/models/combined"
ffn ffn-fiddle-evaluate -m "$OUT/models/combined" -oc "$OUT/eval/combined" > /dev/null
ffn ffn-fiddle-importance -m "$OUT/models/combined" -oc "$OUT/eval/combined" > /dev/null
experiment_report
