#!/usr/bin/env bash
# FactorNet's Fig. 3 (Quang & Xie 2019): the kernels of a HepG2 multi-task model as motifs,
# matched to known TF motifs, with their DNase footprints (see --help).
set -euo pipefail

# --- Full mode. The model: the original's multiTask recipe (its README: 'train.py -i data/HepG2
# -k 128 -r 128 -d 256 -oc multiTask_Unique35_DGF_HepG2'; every other flag train.py's default)
INTERPRET_CELL=HepG2
INTERPRET_TRACKS=Unique35_DGF
INTERPRET_FLAGS="-k 128 -r 128 -d 256"
# The original's visualize.py: windows centred on a peak BED (its -b) on one chromosome (its -c,
# default chr11), both layers (conv, time-distributed dense). The BED here: every conservative
# peak of the cell type's TFs (chip.txt), the sites the multi-task model learned from
INTERPRET_CHROMS=chr11
# Motif databases: JASPAR CORE vertebrates (pyjaspar, offline) and the original's HOCOMOCO v9
# (its resources/HOCOMOCOv9.meme; 'ffn-fetch factornet-resources')
HOCOMOCO_MEME=resources/HOCOMOCOv9.meme
# --- Demo mode: a small multi-task model of demoA's two TFs (CTCF, HNF4A), its kernels read at
# demoA's peaks on every chromosome, matched to the demo's planted motifs and to JASPAR
DEMO_INTERPRET_CELL=demoA
DEMO_INTERPRET_FLAGS="-L 300 -k 64 -w 16 -r -1 -d 32 -e 20 -ep 20 -lr 0.003 --batchsize 32 -s 1"
DEMO_INTERPRET_CHROMS=all

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/lib.sh"
source "$here/lib_factornet.sh"
usage="usage: experiments/factornet/interpret.sh [--model DIR] [--demo] [-o DIR] [--data DIR]

Reproduces FactorNet's Fig. 3 (Quang & Xie, Methods 2019): what the kernels of a HepG2
multi-task model learned. Trains the model (or takes one, --model), turns the kernels of its
first two layers into motifs as the original's visualize.py did (ffn-motifs: the input under
each kernel's best activation in every window, both strands), matches them to known TF motifs
(TOMTOM; JASPAR CORE vertebrates and the original's HOCOMOCO v9) and measures the mean DNase
signal under them (the footprint). Table: every kernel with sites, its best match and q-value
in each database, its information content, sites and DNase footprint depth; plots: the
footprints of the best-matched kernels; the logo sheets are linked from results.md.

flags:
  --model DIR   A FactorNet model folder to read instead of training one, e.g. the original's
                own HepG2 multi-task model, converted: models/factornet/HNF4A/multiTask_DGF
                ('ffn-models --fetch_originals'; 19 TFs, DNase alone, -L 1002 -w 34). Its
                tracks are taken from the cell type's folder.

model (full mode): ffn-train -i <data>/$INTERPRET_CELL $INTERPRET_FLAGS on the tracks
  ${INTERPRET_TRACKS//_/ and }, every other setting the original's default (-L 1000 -w 26 -p 0.5,
  100 epochs, patience 20, validation on chr11): the original README's multiTask recipe.

inputs (full mode, under --data):
  $INTERPRET_CELL/   the cell type's folder (bigwig.txt, chip.txt, meta.txt and their files;
           'ffn-fetch dream-$INTERPRET_CELL'; its DNase bigWig is on Synapse: ffn-fetch says how)
  $GENOME_FA   'ffn-fetch hg19', then gunzip $GENOME_FA.gz
  $BLACKLIST_BED, $HOCOMOCO_MEME   'ffn-fetch factornet-resources'

outputs (in the run folder):
  models/multi-task.CELL/         the model (ffn-train; not with --model)
  peaks.CELL.bed.gz               the windows' centres: the cell type's conservative peaks
  motifs.jaspar/, motifs.hocomoco/ (demo: motifs.demo/, motifs.jaspar/)   ffn-motifs' outputs:
                  motifs.meme, motifs2.meme, kernels.tsv, matches.tsv, footprints.tsv,
                  <track>_meansignal[2].npy, logos/kernel_<i>.png, logo_sheet.png
  cells/TRACKS/CELL/              the cell type's folder with the model's tracks only
  results.tsv, results.md, footprints.png, run.json

settings and run time:
  full mode   the model above; windows at the peaks on $INTERPRET_CHROMS. Not timed here (no GPU and
              no ENCODE-DREAM data on the machine this was written on).
  demo mode   multi-task on $DEMO_INTERPRET_CELL (CTCF, HNF4A):
                  $DEMO_INTERPRET_FLAGS
              windows at its peaks on every chromosome; the demo's planted motifs
              (factornet/motifs.meme) and JASPAR. 2 min 37 s on two CPU cores.

$COMMON_FLAGS_HELP"

experiment_init factornet/interpret "$@"
model=
set -- "${REST[@]+"${REST[@]}"}"
while [ $# -gt 0 ]; do
    case $1 in
        --model)
            [ $# -ge 2 ] || experiment_error "--model needs a value (see --help)"
            model=$2
            shift 2 ;;
        *) break ;;
    esac
done
reject_unknown "$@"
if [ -n "$model" ]; then
    [ -e "$model/run.json" ] || experiment_error "--model $model: not a model folder (no \
run.json): convert the original's with ffn-convert or 'ffn-models --fetch_originals'"
    model=$(cd "$model" && pwd)
fi

factornet_inputs
motif_args=()
if [ "$MODE" = demo ]; then
    cell=$DEMO_INTERPRET_CELL chroms=$DEMO_INTERPRET_CHROMS
    read -ra flags <<< "$DEMO_INTERPRET_FLAGS"
    databases=(demo:"$DEMO/factornet/motifs.meme" jaspar:jaspar)
else
    cell=$INTERPRET_CELL chroms=$INTERPRET_CHROMS
    read -ra flags <<< "$INTERPRET_FLAGS"
    [ -e "$DATA/$GENOME_FA" ] || experiment_error "missing input $DATA/$GENOME_FA: get it with 'ffn-fetch hg19' and gunzip $DATA/$GENOME_FA.gz (see README 'Data')"
    need factornet-resources "$DATA/$BLACKLIST_BED" "$DATA/$HOCOMOCO_MEME"
    need_cells "$cell"
    need "dream-$cell" "$DATA/$cell/chip.txt"
    databases=(jaspar:jaspar hocomoco:"$DATA/$HOCOMOCO_MEME")
fi

if [ -z "$model" ]; then
    train "multi-task.$cell" "$INTERPRET_TRACKS" "$cell" "${flags[@]}"
    model=$OUT/models/multi-task.$cell
fi
if grep -qx gencode "$model/feature.txt" 2> /dev/null; then
    [ "$MODE" = full ] || experiment_error "--model $model uses annotation features, which the demo data lack"
    motif_args+=(-g "$DATA/$ANNOTATION_DIR")
fi

# the windows' centres: every conservative peak of the cell type (chip.txt's first column;
# gzipped files concatenated are one gzip stream)
peaks=$OUT/peaks.$cell.bed.gz
mkdir -p "$OUT"
(cd "$CELLS/$cell" && cut -f1 chip.txt | xargs cat) > "$peaks"
tracks=$(paste -sd_ "$model/bigwig.txt")
cell_dir=$(track_folders "$tracks" "$cell")
for database in "${databases[@]}"; do
    ffn ffn-motifs -i "$cell_dir" -m "$model" -b "$peaks" --chroms "$chroms" "${GENOME_ARGS[@]}" \
        "${motif_args[@]+"${motif_args[@]}"}" --motif_db "${database#*:}" \
        -oc "$OUT/motifs.${database%%:*}"
done
experiment_report
