#!/usr/bin/env bash
# FactorNet's Fig. S2C-D (Quang & Xie 2019): E2F1 in K562 predicted by single-task and multi-task
# models trained on GM12878 or on HeLa-S3, whose E2F1 ChIP-seq used other antibodies (see --help).
set -euo pipefail

# Full mode: the TF, the cell types each model is trained on (one at a time), the test cell type
TF=E2F1
TRAINING=(GM12878 HeLa-S3)
TEST=K562
# Demo mode: a demo TF, each of two demo cell types, the third as the test cell type
DEMO_TF=CTCF
DEMO_TRAINING=(demoA demoB)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/lib.sh"
source "$here/lib_factornet.sh"
usage="usage: experiments/factornet/e2f1-antibody.sh [--demo] [-o DIR] [--data DIR]

Reproduces FactorNet's Fig. S2C-D (Quang & Xie, Methods 2019): $TF binding in $TEST (a final-round
pair) predicted by models trained on one reference cell type, ${TRAINING[0]} or ${TRAINING[1]}, the
only two with $TF ChIP-seq, each a single-task and a multi-task model (4 models); every model
predicts $TEST's test regions and is scored against the final-round labels (ffn-evaluate):
auROC, auPR, recall at 50 % and 10 % FDR, the paper's figures beside ours.

models (recipes and their sources: experiments/lib_factornet.sh):
  single-task  the original's $TF recipe (${ST_FOLDER[$TF]}: ${ST_FLAGS[$TF]},
               $ORIGINAL_SHAPE, tracks ${ST_TRACKS[$TF]//_/ + }) on one cell type
  multi-task   $MT_FLAGS $ORIGINAL_SHAPE on $MT_TRACKS alone, every TF of the cell type

inputs (full mode, under --data):
  ${TRAINING[0]}/, ${TRAINING[1]}/, $TEST/   cell-type folders ('ffn-fetch dream-<cell type>'; the
                      DNase bigWigs are on Synapse: ffn-fetch prints how to get them)
  $GENOME_FA   'ffn-fetch hg19', then gunzip $GENOME_FA.gz
  $BLACKLIST_BED, $ANNOTATION_DIR/   'ffn-fetch factornet-resources'
  $TEST_REGIONS, $LABELS_DIR/$TF.test.labels.tsv.gz
                      the challenge's test regions and final-round labels
                      ('ffn-fetch $FINAL_ROUND_GROUP'; Synapse)

outputs (in the run folder):
  models/{single-task,multi-task}.CELL/   the model folders (ffn-train)
  predictions/..., scores/{single-task,multi-task}.CELL.{tsv,json}   submissions, scores
  results.tsv, results.md, scores.png, run.json

settings and run time:
  full mode   the recipes above. Not timed here (no GPU and no ENCODE-DREAM data on the machine
              this was written on). An estimate for two CPU cores from the README's figures
              (training: 562 samples/s for a model of ffn-train's default size, slower for
              larger ones; prediction: 6,017 bins/s): a single-task epoch takes about 43 s
              (GM12878: 12,190 E2F1 peaks, one negative each) or 32 s (HeLa-S3: 8,857), up to
              100 epochs; each of the 4 predictions scores the ~8.8 M test bins of chr1, chr8
              and chr21 in about 25 minutes (multi-task epochs: not estimated).
  demo mode   $DEMO_TF trained on ${DEMO_TRAINING[0]} or ${DEMO_TRAINING[1]}, scored on $DEMO_TEST; single-task
              $DEMO_ST_FLAGS, multi-task $DEMO_MT_FLAGS: 3.5 minutes
              (2.4 minutes of CPU) on a two-core machine shared with other work.

$COMMON_FLAGS_HELP"

experiment_init factornet/e2f1-antibody "$@"
reject_unknown "${REST[@]+"${REST[@]}"}"

factornet_inputs
if [ "$MODE" = demo ]; then
    tf=$DEMO_TF test=$DEMO_TEST training=("${DEMO_TRAINING[@]}")
else
    tf=$TF test=$TEST training=("${TRAINING[@]}")
    need_common "$tf"
    need_cells "${training[@]}" "$test"
fi

for cell in "${training[@]}"; do
    train_single_task "single-task.$cell" "$tf" "$cell"
    predict_and_score "single-task.$cell" "single-task.$cell" "$tf" "$test"
    train_multi_task "multi-task.$cell" "$cell"
    predict_and_score "multi-task.$cell" "multi-task.$cell" "$tf" "$test"
done
experiment_report
