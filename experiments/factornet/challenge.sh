#!/usr/bin/env bash
# FactorNet's ENCODE-DREAM final round (Quang & Xie 2019, Table 1): for a TF / test cell type
# pair, the original's single-task recipe, the multi-task model and their rank average, scored
# on the test cell type's test regions (see --help).
set -euo pipefail

# The 13 TF / cell type pairs of the challenge's final round
FINAL_ROUND_PAIRS=(CTCF/PC-3 CTCF/induced_pluripotent_stem_cell E2F1/K562 EGR1/liver FOXA1/liver
                   FOXA2/liver GABPA/liver HNF4A/liver JUND/liver MAX/liver
                   NANOG/induced_pluripotent_stem_cell REST/liver TAF1/liver)
# Demo mode: both demo TFs, the third demo cell type as the test cell type
DEMO_PAIRS=(CTCF/demoC HNF4A/demoC)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/lib.sh"
source "$here/lib_factornet.sh"
usage="usage: experiments/factornet/challenge.sh --pair TF/CELL|all [--demo] [-o DIR] [--data DIR]

Reproduces FactorNet's ENCODE-DREAM final round (Quang & Xie, Methods 2019, Table 1): for each
TF / test cell type pair, trains the original's single-task recipe for the TF on its reference
cell types and the multi-task model on one reference cell type, predicts the test cell type's
test regions with each, rank-averages the two (ffn-bag) and scores all three against the
final-round labels (ffn-evaluate): auROC, auPR, recall at 50 % and 10 % FDR, the paper's
figures beside ours.

flags:
  --pair TF/CELL|all  The pair(s) to run (required in full mode; demo default: all):
                      ${FINAL_ROUND_PAIRS[*]:0:5}
                      ${FINAL_ROUND_PAIRS[*]:5:5}
                      ${FINAL_ROUND_PAIRS[*]:10};
                      demo mode: ${DEMO_PAIRS[*]}.

models (recipes and their sources: experiments/lib_factornet.sh):
  single-task  the original's final-submission model folder of the TF (models/<TF>/<folder>:
               variant, tracks, -k/-r/-d/-p, -L 1002 -w 34; -n/-e from its README), trained
               on every reference cell type (the original's data/ folders whose chip.txt
               lists the TF), validation on their chr11
  multi-task   -k 128 -r 128 -d 256 -p 0.2 -e 20 on DGF alone (the original's multiTask_DGF),
               every TF of HepG2 (the original's choice for the liver TFs; for a TF HepG2 lacks,
               the reference cell type with the most TFs); trained once per cell type
  rank average ffn-bag of the two submissions

inputs (full mode, under --data):
  <cell type>/        the reference and test cell types' folders ('ffn-fetch dream-<cell type>';
                      the DNase bigWigs are on Synapse: ffn-fetch prints how to get them)
  $GENOME_FA   'ffn-fetch hg19', then gunzip $GENOME_FA.gz
  $BLACKLIST_BED, $ANNOTATION_DIR/ (the -g BEDs)   'ffn-fetch factornet-resources'
  $TEST_REGIONS, $LABELS_DIR/<TF>.test.labels.tsv.gz
                      the challenge's test regions and final-round labels
                      ('ffn-fetch $FINAL_ROUND_GROUP'; Synapse)

outputs (in the run folder):
  models/single-task.TF/, models/multi-task.CELL/   the model folders (ffn-train)
  predictions/TF.CELL.{single-task,multi-task,rank-average}.tab.gz   the submissions
  scores/TF.CELL.*.{tsv,json}   their scores (ffn-evaluate); cells/: track subsets of the folders
  results.tsv, results.md, scores.png, run.json

settings and run time:
  full mode   the recipes above. Not timed here (no GPU and no ENCODE-DREAM data on the machine
              this was written on). An estimate for two CPU cores from the README's figures
              (training: 562 samples/s for a model of ffn-train's default size, slower for
              larger ones; prediction: 6,017 bins/s): a single-task epoch holds 1 + n
              samples per conservative peak of the TF in its reference cell types, from 24 s
              (NANOG: 6,699 peaks) to 21 minutes (CTCF: 355,258) and 30 minutes (MAX: 248,498
              peaks, -n 3), up to 100 epochs; each prediction scores the ~8.8 M test bins of
              chr1, chr8 and chr21 in about 25 minutes (multi-task epochs: not estimated).
  demo mode   single-task on $DEMO_REFERENCE_CELLS ($DEMO_ST_FLAGS), multi-task on
              $DEMO_MT_CELL ($DEMO_MT_FLAGS), test cell type $DEMO_TEST, both pairs:
              4.7 minutes (2.1 minutes of CPU) on a two-core machine shared with other work.

$COMMON_FLAGS_HELP"

experiment_init factornet/challenge "$@"
pair=
set -- "${REST[@]+"${REST[@]}"}"
while [ $# -gt 0 ]; do
    case $1 in
        --pair)
            [ $# -ge 2 ] || experiment_error "--pair needs a value (see --help)"
            pair=$2
            shift 2 ;;
        *) break ;;
    esac
done
reject_unknown "$@"

known=("${FINAL_ROUND_PAIRS[@]}")
[ "$MODE" = demo ] && known=("${DEMO_PAIRS[@]}") && pair=${pair:-all}
[ -n "$pair" ] || experiment_error "--pair is required in full mode: one of ${known[*]}, or all"
if [ "$pair" = all ]; then
    pairs=("${known[@]}")
else
    [[ " ${known[*]} " == *" $pair "* ]] \
        || experiment_error "unknown --pair '$pair': one of ${known[*]}, or all"
    pairs=("$pair")
fi

factornet_inputs
if [ "$MODE" = full ]; then
    tfs=() cells=()
    for p in "${pairs[@]}"; do
        tf=${p%/*}
        tfs+=("$tf")
        IFS=, read -ra reference <<< "${REFERENCE_CELLS[$tf]}"
        cells+=("${p#*/}" "${MT_CELL[$tf]}" "${reference[@]}")
    done
    need_common "${tfs[@]}"
    need_cells $(printf '%s\n' "${cells[@]}" | sort -u)
fi

declare -A trained=()
for p in "${pairs[@]}"; do
    tf=${p%/*} cell=${p#*/}
    if [ "$MODE" = demo ]; then
        reference=$DEMO_REFERENCE_CELLS mt_cell=$DEMO_MT_CELL
    else
        reference=${REFERENCE_CELLS[$tf]} mt_cell=${MT_CELL[$tf]}
    fi
    if [ -z "${trained[single-task.$tf]:-}" ]; then
        train_single_task "single-task.$tf" "$tf" "$reference"
        trained[single-task.$tf]=1
    fi
    if [ -z "${trained[multi-task.$mt_cell]:-}" ]; then
        train_multi_task "multi-task.$mt_cell" "$mt_cell"
        trained[multi-task.$mt_cell]=1
    fi
    predict_and_score "$tf.$cell.single-task" "single-task.$tf" "$tf" "$cell"
    predict_and_score "$tf.$cell.multi-task" "multi-task.$mt_cell" "$tf" "$cell"
    bag_and_score "$tf.$cell.rank-average" "$tf" "$cell" \
        "$tf.$cell.single-task" "$tf.$cell.multi-task"
done
experiment_report
