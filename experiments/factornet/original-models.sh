#!/usr/bin/env bash
# The original FactorNet's published ENCODE-DREAM models: every one predicts its TF's final-round
# test cell type(s), the two models of each TF are bagged into the submission file (see --help).
set -euo pipefail

# The original's final-round models: its models/ folder (git ls-tree uci-cbcl/FactorNet HEAD
# models/), two per TF; models/README.md: 'The final submissions are either rank averages or
# averages of scores from two respective models' (which one per TF is not documented)
declare -A FINAL_MODELS=(
    [CTCF]="metaGENCODE_RNAseq_Unique35_DGF meta_RNAseq_Unique35_DGF"
    [E2F1]="GENCODE_Unique35_DGF onePeak_Unique35_DGF"
    [EGR1]="meta_RNAseq_Unique35_DGF onePeak_DGF"
    [FOXA1]="multiTask_DGF onePeak_DGF"
    [FOXA2]="multiTask_DGF onePeak_Unique35_DGF"
    [GABPA]="metaGENCODE_RNAseq_Unique35_DGF meta_RNAseq_Unique35_DGF"
    [HNF4A]="multiTask_DGF onePeak_Unique35_DGF"
    [JUND]="meta_Unique35_DGF meta_Unique35_DGF_2"
    [MAX]="onePeak_Unique35_DGF onePeak_Unique35_DGF_2"
    [NANOG]="GENCODE_Unique35_DGF onePeak_Unique35_DGF"
    [REST]="GENCODE_Unique35_DGF GENCODE_Unique35_DGF_2"
    [TAF1]="GENCODE_Unique35_DGF onePeak_Unique35_DGF")
TFS=(CTCF E2F1 EGR1 FOXA1 FOXA2 GABPA HNF4A JUND MAX NANOG REST TAF1)
# ENCODE-DREAM's final round: the test cell type(s) of each TF (13 TF / cell type pairs)
declare -A TEST_CELLS=(
    [CTCF]="PC-3 induced_pluripotent_stem_cell" [E2F1]=K562 [EGR1]=liver [FOXA1]=liver
    [FOXA2]=liver [GABPA]=liver [HNF4A]=liver [JUND]=liver [MAX]=liver
    [NANOG]=induced_pluripotent_stem_cell [REST]=liver [TAF1]=liver)
# Full mode: the challenge's ladder regions (Synapse), under --data
LADDER_REGIONS=resources/ladder_regions.blacklistfiltered.bed.gz
SAMPLE_LADDER_REGIONS=resources/sample_ladder_regions.blacklistfiltered.bed.gz
# Demo mode: the TFs whose two models are both shipped (models/factornet/), on a synthetic cell
# type (ffn-models --check_inputs: hg19 chromosome names, random Unique35 and DGF tracks, meta
# features, annotation BEDs), every bin of its chromosomes
DEMO_TFS=(E2F1 EGR1 GABPA NANOG)
DEMO_CELL=synthetic

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/lib.sh"
source "$here/lib_factornet.sh"
checkout_models=$(dirname "$here")/models/factornet
usage="usage: experiments/factornet/original-models.sh [--tf TF,...] [--models DIR | --originals DIR]
       [--regions BED] [--labels DIR] [--demo] [-o DIR] [--data DIR]

The original FactorNet's published ENCODE-DREAM models (its models/ folder: two per TF, 24 in
all), converted: each predicts the challenge's ladder regions in its TF's final-round test cell
type(s) (ffn-predict), and the two models of each TF are bagged by rank average (ffn-bag) into
the submission file F.<TF>.<cell type>.tab.gz, as the final submissions were; with --labels,
every submission is scored (ffn-evaluate). Table: TF, cell type, the two models, bins
predicted, the two models' agreement (Spearman) and, with labels, the scores.

flags:
  --tf TF,...      The TFs to run. (default: all:
                   ${TFS[*]};
                   demo: ${DEMO_TFS[*]})
  --models DIR     The converted models, DIR/<TF>/<model folder>. (default: the checkout's
                   models/factornet: the twelve shipped there, and the others after
                   'ffn-models --fetch_originals')
  --originals DIR  Convert the original's model folders DIR/<TF>/<model folder> (ffn-convert)
                   into the run folder and use those instead.
  --regions BED    The bins to predict. (default: the challenge's ladder regions,
                   <data>/$LADDER_REGIONS;
                   <data>/$SAMPLE_LADDER_REGIONS
                   is the original's 100,000-bin sample of them, 'ffn-fetch factornet-resources')
  --labels DIR     Score the submissions against DIR/<TF>.test.labels.tsv.gz (ENCODE-DREAM
                   label files, a column per cell type, on the same bins).

bagging: rank average (ffn-bag; a bin 0 in both models, blacklisted, stays 0). The original's
  models/README.md says the final submissions were 'either rank averages or averages' of the two
  models and does not say which TF got which, so every TF gets the rank average.

inputs (full mode, under --data):
  <cell type>/  the test cell types' folders: PC-3, induced_pluripotent_stem_cell, K562, liver
                ('ffn-fetch dream-<cell type>'; the DNase bigWigs are on Synapse: ffn-fetch says how)
  $GENOME_FA   'ffn-fetch hg19', then gunzip $GENOME_FA.gz
  $BLACKLIST_BED, $ANNOTATION_DIR/ (the -g BEDs)   'ffn-fetch factornet-resources'
  $LADDER_REGIONS   the challenge's ladder regions
                ('ffn-fetch $FINAL_ROUND_GROUP'; Synapse)
  the models: 'ffn-models --fetch_originals' (or --originals DIR)

outputs (in the run folder):
  predictions/<TF>.<cell type>.<model folder>.tab.gz   each model's predictions (ffn-predict)
  predictions/F.<TF>.<cell type>.tab.gz   the bagged submissions (ffn-bag)
  scores/*.{tsv,json}   with --labels (ffn-evaluate); models/: with --originals (ffn-convert)
  cells/TRACKS/<cell type>/   the cell types' folders with a model's tracks only
  results.tsv, results.md, agreement.png, run.json

settings and run time:
  full mode   the published models as they are; the ladder regions. Not timed here (no
              ENCODE-DREAM data on the machine this was written on): each model scores the
              ladder's bins at about 6,000 bins/s on two CPU cores (README, 'The fast path').
  demo mode   the shipped pairs of ${DEMO_TFS[*]} on the synthetic cell type
              '$DEMO_CELL' (ffn-models --check_inputs), every 200 bp bin every 50 bp of its two chromosomes
              (ffn-predict --chroms all: 794 bins); --labels DIR works there too. 1 min 25 s on
              two CPU cores.

$COMMON_FLAGS_HELP"

experiment_init factornet/original-models "$@"
tf_list= models_dir=$checkout_models originals= regions= labels=
set -- "${REST[@]+"${REST[@]}"}"
while [ $# -gt 0 ]; do
    case $1 in
        --tf | --models | --originals | --regions | --labels)
            [ $# -ge 2 ] || experiment_error "$1 needs a value (see --help)"
            case $1 in
                --tf) tf_list=$2 ;;
                --models) models_dir=$2 ;;
                --originals) originals=$2 ;;
                --regions) regions=$2 ;;
                --labels) labels=$2 ;;
            esac
            shift 2 ;;
        *) break ;;
    esac
done
reject_unknown "$@"

known=("${TFS[@]}")
[ "$MODE" = demo ] && known=("${DEMO_TFS[@]}")
if [ -n "$tf_list" ]; then
    IFS=, read -ra tfs <<< "$tf_list"
    for tf in "${tfs[@]}"; do
        [[ " ${known[*]} " == *" $tf "* ]] || experiment_error "unknown --tf '$tf': one of ${known[*]}"
    done
else
    tfs=("${known[@]}")
fi

factornet_inputs
LABELS=$labels
if [ "$MODE" = full ]; then
    regions=${regions:-$DATA/$LADDER_REGIONS}
    [ -e "$DATA/$GENOME_FA" ] || experiment_error "missing input $DATA/$GENOME_FA: get it with 'ffn-fetch hg19' and gunzip $DATA/$GENOME_FA.gz (see README 'Data')"
    need factornet-resources "$DATA/$BLACKLIST_BED" "$DATA/$ANNOTATION_DIR/cpgisland.bed.gz"
    need "$FINAL_ROUND_GROUP" "$regions"
    cells=()
    for tf in "${tfs[@]}"; do
        read -ra test_cells <<< "${TEST_CELLS[$tf]}"
        cells+=("${test_cells[@]}")
    done
    need_cells $(printf '%s\n' "${cells[@]}" | sort -u)
fi
for tf in "${tfs[@]}"; do
    if [ -n "$labels" ]; then
        [ -e "$labels/$tf.test.labels.tsv.gz" ] || experiment_error "--labels $labels: no $tf.test.labels.tsv.gz there (the final-round labels: 'ffn-fetch $FINAL_ROUND_GROUP')"
    fi
    for variant in ${FINAL_MODELS[$tf]}; do
        if [ -n "$originals" ]; then
            [ -e "$originals/$tf/$variant/model.json" ] || experiment_error "missing original model $originals/$tf/$variant/model.json"
        else
            [ -e "$models_dir/$tf/$variant/run.json" ] || experiment_error "missing model $models_dir/$tf/$variant: fetch and convert the original's models with 'ffn-models --fetch_originals' (or give --originals DIR)"
        fi
    done
done
[ -n "$originals" ] && models_dir=$OUT/models

if [ "$MODE" = demo ]; then
    # the synthetic cell type the shipped models are checked on
    synthetic=$OUT/synthetic
    rm -rf "$synthetic"
    ffn ffn-models --check_inputs "$synthetic"
    mv "$synthetic/cell" "$synthetic/$DEMO_CELL"
    CELLS=$synthetic
    GENOME_ARGS=(--genome "$synthetic/genome.fa" --blacklist "$synthetic/blacklist.bed")
    bins_args=(--chroms all -g "$synthetic/annotations")
else
    bins_args=(-b "$regions" -g "$DATA/$ANNOTATION_DIR")
fi

for tf in "${tfs[@]}"; do
    read -ra variants <<< "${FINAL_MODELS[$tf]}"
    if [ -n "$originals" ]; then
        mkdir -p "$models_dir/$tf"
        for variant in "${variants[@]}"; do
            ffn ffn-convert -i "$originals/$tf/$variant" -oc "$models_dir/$tf/$variant"
        done
    fi
    cells=("$DEMO_CELL")
    [ "$MODE" = full ] && read -ra cells <<< "${TEST_CELLS[$tf]}"
    for cell in "${cells[@]}"; do
        names=()
        for variant in "${variants[@]}"; do
            model=$models_dir/$tf/$variant
            tracks=$(paste -sd_ "$model/bigwig.txt")
            ffn ffn-predict -i "$(track_folders "$tracks" "$cell")" -m "$model" -f "$tf" \
                "${bins_args[@]}" "${GENOME_ARGS[@]}" -oc "$OUT/predictions/$tf.$cell.$variant.tab.gz"
            names+=("$tf.$cell.$variant")
        done
        ffn ffn-bag -i "$(printf "$OUT/predictions/%s.tab.gz," "${names[@]}" | sed 's/,$//')" \
            -oc "$OUT/predictions/F.$tf.$cell.tab.gz"
        if [ -n "$labels" ]; then
            for name in "${names[@]}" "F.$tf.$cell"; do
                score "$name" "$tf" "$cell"
            done
        fi
    done
done
experiment_report
