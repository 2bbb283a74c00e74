#!/usr/bin/env bash
# FactorNet's Fig. S3 (Quang & Xie 2019): NANOG in induced pluripotent stem cells from H1-hESC, the
# multi-task model against single-task models trained with 1, 2, 5 and 10 negatives a positive
# (see --help).
set -euo pipefail

# Full mode: the TF, the one reference cell type with its ChIP-seq, the test cell type
TF=NANOG
TRAIN=H1-hESC
TEST=induced_pluripotent_stem_cell
# The single-task models' negatives per positive (-n)
NEGATIVES=(1 2 5 10)
# Demo mode: a demo TF, one demo cell type, the third as the test cell type
DEMO_TF=HNF4A
DEMO_CELL=demoA

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/lib.sh"
source "$here/lib_factornet.sh"
usage="usage: experiments/factornet/nanog-negatives.sh [--demo] [-o DIR] [--data DIR]

Reproduces FactorNet's Fig. S3 (Quang & Xie, Methods 2019): $TF binding in $TEST (a
final-round pair) predicted by models trained on $TRAIN, the only reference cell type with $TF
ChIP-seq: the multi-task model and the single-task model with -n ${NEGATIVES[*]} negatives per
positive (5 models); each predicts the test cell type's test regions and is scored against the
final-round labels (ffn-evaluate): auROC, auPR, recall at 50 % and 10 % FDR, the paper's figures
beside ours, and a bar plot.

models (recipes and their sources: experiments/lib_factornet.sh):
  single-task  the original's $TF recipe (${ST_FOLDER[$TF]}: ${ST_FLAGS[$TF]},
               $ORIGINAL_SHAPE, tracks ${ST_TRACKS[$TF]//_/ + }) with -n ${NEGATIVES[*]}
  multi-task   $MT_FLAGS $ORIGINAL_SHAPE on $MT_TRACKS alone, every TF of $TRAIN

inputs (full mode, under --data):
  $TRAIN/, $TEST/   cell-type folders ('ffn-fetch dream-<cell type>';
                      the DNase bigWigs are on Synapse: ffn-fetch prints how to get them)
  $GENOME_FA   'ffn-fetch hg19', then gunzip $GENOME_FA.gz
  $BLACKLIST_BED, $ANNOTATION_DIR/   'ffn-fetch factornet-resources'
  $TEST_REGIONS, $LABELS_DIR/$TF.test.labels.tsv.gz
                      the challenge's test regions and final-round labels
                      ('ffn-fetch $FINAL_ROUND_GROUP'; Synapse)

outputs (in the run folder):
  models/multi-task/, models/single-task.nN/   the model folders (ffn-train)
  predictions/..., scores/{multi-task,single-task.nN}.{tsv,json}   submissions, scores
  results.tsv, results.md, scores.png, run.json

settings and run time:
  full mode   the recipes above. Not timed here (no GPU and no ENCODE-DREAM data on the machine
              this was written on). An estimate for two CPU cores from the README's figures
              (training: 562 samples/s for a model of ffn-train's default size, slower for
              larger ones; prediction: 6,017 bins/s): a single-task epoch holds (1 + n) x
              6,699 NANOG peaks: 24 s (-n 1) to 131 s (-n 10), up to 100 epochs; each of the 5
              predictions scores the ~8.8 M test bins of chr1, chr8 and chr21 in about 25
              minutes (multi-task epochs: not estimated).
  demo mode   $DEMO_TF, trained on $DEMO_CELL, scored on $DEMO_TEST; single-task $DEMO_ST_FLAGS,
              multi-task $DEMO_MT_FLAGS: 4.7 minutes (3.3 minutes of CPU) on a
              two-core machine shared with other work.

$COMMON_FLAGS_HELP"

experiment_init factornet/nanog-negatives "$@"
reject_unknown "${REST[@]+"${REST[@]}"}"

factornet_inputs
if [ "$MODE" = demo ]; then
    tf=$DEMO_TF train=$DEMO_CELL test=$DEMO_TEST
else
    tf=$TF train=$TRAIN test=$TEST
    need_common "$tf"
    need_cells "$train" "$test"
fi

train_multi_task multi-task "$train"
predict_and_score multi-task multi-task "$tf" "$test"
for n in "${NEGATIVES[@]}"; do
    train_single_task "single-task.n$n" "$tf" "$train" -n "$n"
    predict_and_score "single-task.n$n" "single-task.n$n" "$tf" "$test"
done
experiment_report
