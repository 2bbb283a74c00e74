#!/usr/bin/env bash
# Remake the README's figures of "Reading the models" from the demo (a few minutes on 2 cores):
#   bash docs/make_figures.sh [WORK_FOLDER]        (default: ./figures_work; needs .venv)
# A small CTCF model (global max pooling, 32 kernels of 30 bp, L = 300) is trained on demoA and
# demoB; its kernels are read at demoC's CTCF peaks and matched to JASPAR; attributions are taken
# at demoC's three strongest CTCF peaks on chr1 (a test chromosome).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/.venv/bin"
work=${1:-figures_work}
mkdir -p "$work"
[ -d "$work/demo" ] || "$bin/ffn-demo" -o "$work/demo"
cells="$work/demo/factornet"
genome="$work/demo/genome/demo.fa"
blacklist="$work/demo/genome/blacklist.bed.gz"
peaks="$cells/demoC/ChIPseq.demoC.CTCF.conservative.train.narrowPeak.gz"
"$bin/ffn-train" -i "$cells/demoA,$cells/demoB" -f CTCF --genome "$genome" --blacklist "$blacklist" \
    -L 300 -k 32 -w 30 -r -1 -d 16 -e 40 -ep 40 -lr 0.01 --batchsize 32 -s 1 -oc "$work/model"
"$bin/ffn-motifs" -i "$cells/demoC" -m "$work/model" -b "$peaks" --chroms all --genome "$genome" \
    --blacklist "$blacklist" -oc "$work/motifs"
gzip -dc "$peaks" | awk '$1 == "chr1"' | sort -k7,7gr | head -3 > "$work/sites.bed"
"$bin/ffn-attribute" -i "$cells/demoC" -m "$work/model" -f CTCF -b "$work/sites.bed" \
    --genome "$genome" -oc "$work/attributions"
out="$here/docs/figures"
cp "$work/motifs/logo_sheet.png" "$out/logo_sheet.png"
best=$(awk -F'\t' '$1 == "conv" && $3 == 1 && $5 == "CTCF" {print $8, $2}' "$work/motifs/matches.tsv" \
       | sort -g | head -1 | cut -d' ' -f2)
cp "$work/motifs/logos/kernel_${best}.png" "$out/kernel_footprint.png"
cp "$(ls "$work"/attributions/plots/*.png | head -1)" "$out/attribution.png"
echo "figures in $out (kernel $best: the best CTCF match)"
