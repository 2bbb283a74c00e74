# What the FactorNet experiments share (experiments/factornet/{challenge,e2f1-antibody,
# nanog-negatives,validation-curves}.sh): the original's training recipes, the inputs of each
# mode, and the train / predict / bag / score steps. Sourced after lib.sh, never run; the
# functions below need experiment_init to have run (MODE, OUT, DATA, DEMO, ffn).
#
# A run folder holds models/NAME/ (ffn-train), predictions/NAME.tab.gz (ffn-predict, ffn-bag),
# scores/NAME.{tsv,json} (ffn-evaluate) and cells/TRACKS/<cell type>/ (cell-type folders that
# list only some tracks); fiddle_factornet/experiments/factornet_scores.py reads them back.

# --- Full mode: the layout ffn-fetch writes under --data (the original's data/<cell type>/
# folders at the top, its resources/ folder), and the challenge's final-round files
GENOME_FA=resources/hg19.fa             # 'ffn-fetch hg19', then gunzip resources/hg19.fa.gz
BLACKLIST_BED=resources/blacklist.bed.gz                                 # factornet-resources
ANNOTATION_DIR=resources            # factornet-resources: the six GENCODE/CpG BEDs of -g
TEST_REGIONS=resources/test_regions.blacklistfiltered.bed.gz  # the challenge's test regions
LABELS_DIR=labels                   # the final-round labels: labels/<TF>.test.labels.tsv.gz
FINAL_ROUND_GROUP=dream-final-round # the ffn-fetch group of those two (ENCODE-DREAM, Synapse)

# --- The original's single-task recipe per TF. Source: the model folders of its final
# submission (git ls-tree uci-cbcl/FactorNet HEAD models/: models/<TF>/<folder>, two per TF);
# where a TF has two single-task folders, the one its README's example command trains (CTCF,
# GABPA, MAX, REST), else the plainer variant (onePeak before meta/GENCODE). The folder's name
# gives the variant (meta: -m; GENCODE: -g; metaGENCODE: both) and the tracks (Unique35_DGF or
# DGF); its model.json gives -k (Convolution1D nb_filter), -r (LSTM output_dim), -d (Dense
# output_dim) and -p (the Dropout after the LSTM), and the shape every recipe shares, -L 1002
# -w 34 (inputs of 1002 bp, kernels of 34, pooling 17); the README's examples give -n (GABPA 5,
# MAX 3); -e 50 where history.pkl ends at epoch 50 before the patience of 20 ran out (FOXA1) or
# the README's folder name says 50e (MAX), else the original's default 100 (early stopping ends
# most runs sooner). Everything else: ffn-train's defaults, the original's.
declare -A ST_FOLDER=(
    [CTCF]=metaGENCODE_RNAseq_Unique35_DGF [E2F1]=onePeak_Unique35_DGF [EGR1]=onePeak_DGF
    [FOXA1]=onePeak_DGF [FOXA2]=onePeak_Unique35_DGF [GABPA]=meta_RNAseq_Unique35_DGF
    [HNF4A]=onePeak_Unique35_DGF [JUND]=meta_Unique35_DGF [MAX]=onePeak_Unique35_DGF_2
    [NANOG]=onePeak_Unique35_DGF [REST]=GENCODE_Unique35_DGF [TAF1]=onePeak_Unique35_DGF)
declare -A ST_TRACKS=(
    [CTCF]=Unique35_DGF [E2F1]=Unique35_DGF [EGR1]=DGF [FOXA1]=DGF [FOXA2]=Unique35_DGF
    [GABPA]=Unique35_DGF [HNF4A]=Unique35_DGF [JUND]=Unique35_DGF [MAX]=Unique35_DGF
    [NANOG]=Unique35_DGF [REST]=Unique35_DGF [TAF1]=Unique35_DGF)
declare -A ST_FLAGS=(
    [CTCF]="-k 128 -r 64 -d 128 -p 0.5"        [E2F1]="-k 32 -r 32 -d 64 -p 0.2"
    [EGR1]="-k 32 -r 32 -d 64 -p 0.2"          [FOXA1]="-k 32 -r 32 -d 64 -p 0.2 -e 50"
    [FOXA2]="-k 32 -r 32 -d 64 -p 0.2"         [GABPA]="-n 5 -k 32 -r 32 -d 64 -p 0.2"
    [HNF4A]="-k 32 -r 32 -d 64 -p 0.2"         [JUND]="-k 128 -r 64 -d 128 -p 0.5"
    [MAX]="-n 3 -e 50 -k 128 -r 64 -d 128 -p 0.5" [NANOG]="-k 32 -r 32 -d 64 -p 0.2"
    [REST]="-k 64 -r 32 -d 128 -p 0.5"         [TAF1]="-k 128 -r 64 -d 128 -p 0.5")
ORIGINAL_SHAPE="-L 1002 -w 34"
# The reference cell types of each TF: the original's data/ folders whose chip.txt lists it
# (the README's example commands train CTCF, GABPA, MAX and REST on exactly these)
declare -A REFERENCE_CELLS=(
    [CTCF]=A549,H1-hESC,HeLa-S3,HepG2,IMR-90,K562,MCF-7 [E2F1]=GM12878,HeLa-S3
    [EGR1]=GM12878,H1-hESC,HCT116,MCF-7 [FOXA1]=HepG2 [FOXA2]=HepG2
    [GABPA]=GM12878,H1-hESC,HeLa-S3,HepG2,MCF-7 [HNF4A]=HepG2
    [JUND]=HCT116,HeLa-S3,HepG2,K562,MCF-7 [MAX]=A549,GM12878,H1-hESC,HCT116,HeLa-S3,HepG2,K562
    [NANOG]=H1-hESC [REST]=H1-hESC,HeLa-S3,HepG2,MCF-7,Panc1 [TAF1]=GM12878,H1-hESC,HeLa-S3,K562)

# --- The multi-task recipe: the original's multiTask_DGF models (FOXA1, FOXA2 and HNF4A's
# final submissions: DGF only, model.json -k 128 -r 128 -d 256 -p 0.2, history.pkl 20 epochs;
# the README's 'train.py -i data/HepG2 -k 128 -r 128 -d 256'), trained on HepG2, whose 19 TFs
# their chip.txt lists (the README: HepG2 'has the most TFs'). For a TF that HepG2 lacks, our
# choice: the reference cell type with the most TFs.
MT_TRACKS=DGF
MT_FLAGS="-k 128 -r 128 -d 256 -p 0.2 -e 20"
declare -A MT_CELL=(
    [CTCF]=HepG2 [E2F1]=HeLa-S3 [EGR1]=H1-hESC [FOXA1]=HepG2 [FOXA2]=HepG2 [GABPA]=HepG2
    [HNF4A]=HepG2 [JUND]=HepG2 [MAX]=HepG2 [NANOG]=H1-hESC [REST]=HepG2 [TAF1]=H1-hESC)

# --- Demo mode: the same flow on the demo data (two TFs, three cell types), small models and
# two epochs, so that each experiment runs in minutes on two CPU cores
DEMO_REFERENCE_CELLS=demoA,demoB    # single-task reference cell types
DEMO_MT_CELL=demoA                  # the multi-task model's cell type
DEMO_TEST=demoC                     # the test cell type
DEMO_ST_FLAGS="-k 16 -r 16 -d 32 -e 2 -ep 2"
DEMO_MT_FLAGS="-k 16 -r 16 -d 32 -e 2 -ep 2"

# factornet_inputs: set the inputs of the mode: CELLS (the folder of the cell-type folders),
# GENOME_ARGS (--genome, --blacklist), PREDICT_ARGS (the test regions, -g in full mode) and
# LABELS (the folder of the final-round labels, <TF>.test.labels.tsv.gz)
factornet_inputs() {
    if [ "$MODE" = demo ]; then
        CELLS=$DEMO/factornet
        GENOME_ARGS=(--genome "$DEMO/genome/demo.fa" --blacklist "$DEMO/genome/blacklist.bed.gz")
        PREDICT_ARGS=(-b "$DEMO/factornet/regions/test_regions.blacklistfiltered.bed.gz")
        LABELS=$DEMO/factornet/labels
    else
        CELLS=$DATA
        GENOME_ARGS=(--genome "$DATA/$GENOME_FA" --blacklist "$DATA/$BLACKLIST_BED")
        PREDICT_ARGS=(-b "$DATA/$TEST_REGIONS" -g "$DATA/$ANNOTATION_DIR")
        LABELS=$DATA/$LABELS_DIR
    fi
}

# need GROUP PATH...: stop, naming the ffn-fetch group to get, when a path is missing
need() {
    local group=$1 path
    shift
    for path in "$@"; do
        [ -e "$path" ] \
            || experiment_error "missing input $path: get it with 'ffn-fetch $group' (see README 'Data')"
    done
}

# need_genome: full mode's genome and blacklist
need_genome() {
    [ -e "$DATA/$GENOME_FA" ] || experiment_error "missing input $DATA/$GENOME_FA: get it with" \
        "'ffn-fetch hg19' and gunzip $DATA/$GENOME_FA.gz (see README 'Data')"
    need factornet-resources "$DATA/$BLACKLIST_BED"
}

# need_common TF...: full mode's genome, resources, test regions and the TFs' final-round labels
need_common() {
    local tf
    need_genome
    need factornet-resources "$DATA/$ANNOTATION_DIR/cpgisland.bed.gz" \
        "$DATA/$ANNOTATION_DIR"/wgEncodeGencodeBasicV19.{cds,intron,promoter,utr5,utr3}.merged.bed.gz
    need "$FINAL_ROUND_GROUP" "$DATA/$TEST_REGIONS"
    for tf in "$@"; do
        need "$FINAL_ROUND_GROUP" "$LABELS/$tf.test.labels.tsv.gz"
    done
}

# need_cells CELL...: full mode's cell-type folders, with every file their bigwig.txt and
# chip.txt name
need_cells() {
    local cell dir
    for cell in "$@"; do
        dir=$DATA/$cell
        need "dream-$cell" "$dir/bigwig.txt" "$dir/meta.txt"
        # shellcheck disable=SC2046  # one path a word: the files contain no blanks
        need "dream-$cell" $(awk -v d="$dir" 'NF { print ($1 ~ /^\//) ? $1 : d "/" $1 }' \
                                 "$dir/bigwig.txt")
        [ -e "$dir/chip.txt" ] || continue
        # shellcheck disable=SC2046
        need "dream-$cell" $(awk -v d="$dir" \
            '{ for (i = 1; i <= NF; i += 2) print ($i ~ /^\//) ? $i : d "/" $i }' "$dir/chip.txt")
    done
}

# track_folders TRACKS CELL,...: copies of the cell-type folders $CELLS/CELL that list only the
# tracks TRACKS ("_"-joined names, as the original's model folders name them: DGF,
# Unique35_DGF), in $OUT/cells/TRACKS/CELL, naming the original files by absolute paths; prints
# them comma-separated (an -i list). Call it as 'dirs=$(track_folders ...)', so that its error
# stops the script.
track_folders() {
    local tracks=$1 cell cells src dst copies=()
    IFS=, read -ra cells <<< "$2"
    for cell in "${cells[@]}"; do
        src=$(cd "$CELLS/$cell" && pwd)
        dst=$OUT/cells/$tracks/$cell
        mkdir -p "$dst"
        awk -v d="$src" -v keep="_${tracks}_" -v OFS='\t' \
            'index(keep, "_" $2 "_") { if ($1 !~ /^\//) $1 = d "/" $1; print }' \
            "$src/bigwig.txt" > "$dst/bigwig.txt"
        [ "$(wc -l < "$dst/bigwig.txt")" -eq "$(tr _ '\n' <<< "$tracks" | wc -l)" ] \
            || experiment_error "$src/bigwig.txt: the tracks ${tracks//_/, } are not all there"
        if [ -e "$src/chip.txt" ]; then
            awk -v d="$src" -v OFS='\t' \
                'NF { for (i = 1; i <= NF; i += 2) if ($i !~ /^\//) $i = d "/" $i; print }' \
                "$src/chip.txt" > "$dst/chip.txt"
        fi
        cp "$src/meta.txt" "$dst/meta.txt"
        copies+=("$dst")
    done
    (IFS=,; echo "${copies[*]}")
}

# train NAME TRACKS CELL,... FLAGS...: ffn-train on copies of the cell types with the tracks
# TRACKS, into $OUT/models/NAME
train() {
    local name=$1 dirs
    dirs=$(track_folders "$2" "$3")
    shift 3
    ffn ffn-train -i "$dirs" "$@" "${GENOME_ARGS[@]}" -oc "$OUT/models/$name"
}

# train_single_task NAME TF CELL,... [FLAGS...]: the TF's single-task recipe of the mode (the
# extra flags come last, so they win), trained on the cell types given; the variant of the
# recipe's model folder adds -m (meta) and -g (GENCODE)
train_single_task() {
    local name=$1 tf=$2 cells=$3 flags tracks=Unique35_DGF
    shift 3
    if [ "$MODE" = demo ]; then
        read -ra flags <<< "$DEMO_ST_FLAGS"
    else
        read -ra flags <<< "$ORIGINAL_SHAPE ${ST_FLAGS[$tf]}"
        tracks=${ST_TRACKS[$tf]}
        case ${ST_FOLDER[$tf]} in meta*) flags+=(-m) ;; esac
        case ${ST_FOLDER[$tf]} in *GENCODE*) flags+=(-g "$DATA/$ANNOTATION_DIR") ;; esac
    fi
    train "$name" "$tracks" "$cells" -f "$tf" "${flags[@]}" "$@"
}

# train_multi_task NAME CELL: the multi-task recipe of the mode: every TF of the cell type
train_multi_task() {
    local flags
    if [ "$MODE" = demo ]; then
        read -ra flags <<< "$DEMO_MT_FLAGS"
    else
        read -ra flags <<< "$ORIGINAL_SHAPE $MT_FLAGS"
    fi
    train "$1" "$MT_TRACKS" "$2" "${flags[@]}"
}

# predict_and_score NAME MODEL TF CELL: the model $OUT/models/MODEL predicts TF in the test
# regions of the cell type CELL (with the model's tracks), into $OUT/predictions/NAME.tab.gz,
# scored into $OUT/scores/NAME
predict_and_score() {
    local name=$1 model=$2 tf=$3 cell=$4 dir
    dir=$(track_folders "$(paste -sd_ "$OUT/models/$model/bigwig.txt")" "$cell")
    ffn ffn-predict -i "$dir" -m "$OUT/models/$model" -f "$tf" "${PREDICT_ARGS[@]}" \
        "${GENOME_ARGS[@]}" -oc "$OUT/predictions/$name.tab.gz"
    score "$name" "$tf" "$cell"
}

# bag_and_score NAME TF CELL NAME...: the rank average (ffn-bag) of the predictions NAME...
bag_and_score() {
    local name=$1 tf=$2 cell=$3 inputs=() each
    shift 3
    for each in "$@"; do
        inputs+=("$OUT/predictions/$each.tab.gz")
    done
    ffn ffn-bag -i "$(IFS=,; echo "${inputs[*]}")" -oc "$OUT/predictions/$name.tab.gz"
    score "$name" "$tf" "$cell"
}

# score NAME TF CELL: ffn-evaluate of $OUT/predictions/NAME.tab.gz against the TF's final-round
# labels of the cell type, into $OUT/scores/NAME (.tsv, .json)
score() {
    ffn ffn-evaluate -i "$OUT/predictions/$1.tab.gz" -l "$LABELS/$2.test.labels.tsv.gz" -c "$3" \
        -oc "$OUT/scores/$1" > /dev/null
}
