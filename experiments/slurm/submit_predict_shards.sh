#!/usr/bin/env bash
# Submit a genome-wide FactorNet prediction to SLURM as a job array of SHARDS shards
# (predict_shards.sbatch) and a merge job that starts when all of them ended well
# (merge_shards.sbatch). Settings come from the environment, with these defaults:
#
#     SHARDS=16 CELL=data/liver MODEL=models/CTCF TF=CTCF GENOME=hg19.fa
#     BLACKLIST=blacklist.bed.gz BINS='--chroms all' OUT=predictions/CTCF.liver
#     experiments/slurm/submit_predict_shards.sh [sbatch flags for both jobs, e.g. --partition=gpu]
#
# The outputs: $OUT.tab.gz and $OUT.bw (with the shards' $OUT.K-of-N.* beside them).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SHARDS=${SHARDS:-16} CELL=${CELL:-data/liver} MODEL=${MODEL:-models/CTCF} TF=${TF:-CTCF}
export GENOME=${GENOME:-hg19.fa} BLACKLIST=${BLACKLIST:-blacklist.bed.gz}
export BINS=${BINS:---chroms all} OUT=${OUT:-predictions/CTCF.liver}
mkdir -p "$(dirname "$OUT")"
array=$(sbatch --parsable --array="1-$SHARDS" --export=ALL "$@" "$here/predict_shards.sbatch")
echo "shards: job array $array (tasks 1-$SHARDS)"
merge=$(sbatch --parsable --dependency="afterok:${array%%;*}" --export=ALL "$@" \
    "$here/merge_shards.sbatch")
echo "merge: job $merge, after every shard ended well"
