# Shared by the experiment scripts (experiments/<paper>/<name>.sh); sourced, never run.
#
# A script sets `usage` (its --help text, which should end with $COMMON_FLAGS_HELP) and calls
#     experiment_init <paper>/<name> "$@"
# which parses the flags every experiment has and leaves the script's own in the array REST:
#     MODE      demo | full
#     OUT       the run folder (absolute)
#     DATA      the data root of ffn-fetch (full mode)
#     DEMO      the demo dataset (demo mode; made with ffn-demo when absent)
# Then `ffn <command> <args...>` runs one of the package's commands and logs it to
# $OUT/commands.log, and `experiment_report` writes results.tsv/.md, the plots and run.json.

COMMON_FLAGS_HELP="common flags:
  --demo             Run on the built-in demo data, in minutes, with small settings.
                     (default: full mode, the paper's data and settings)
  -o, --out DIR      Run folder. (default: results/<paper>/<name>, demo-results/... with --demo)
  --data DIR         Data root written by ffn-fetch (full mode). (default: data)
  --demo_data DIR    An existing ffn-demo dataset to use (demo mode). (default: OUT/demo-data,
                     made by ffn-demo when absent)
  --overwrite        Replace the results of an earlier run in the run folder.
  -h, --help         Show this help and exit."

experiment_error() {  # one-line error naming the experiment, exit 2
    echo "$EXPERIMENT: error: $*" >&2
    exit 2
}

# The package's commands: the checkout's virtualenv when the script runs from a checkout,
# otherwise the ones on PATH.
find_commands() {
    local here checkout
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    checkout=$(dirname "$here")
    if [ -x "$checkout/.venv/bin/ffn-train" ]; then
        FFN_BIN="$checkout/.venv/bin"
    elif command -v ffn-train > /dev/null; then
        FFN_BIN=$(dirname "$(command -v ffn-train)")
    else
        experiment_error "the fiddle_factornet commands are not installed: run 'pip install -e .' in the checkout (or activate its virtualenv)"
    fi
}

experiment_init() {
    EXPERIMENT=$1
    shift
    MODE=full OUT= DATA=data DEMO= OVERWRITE=false REST=()
    while [ $# -gt 0 ]; do
        case $1 in
            -h | --help | -help) printf '%s\n' "$usage"; exit 0 ;;
            --demo) MODE=demo ;;
            -o | --out | --data | --demo_data)
                [ $# -ge 2 ] || experiment_error "$1 needs a value (see --help)"
                case $1 in
                    -o | --out) OUT=$2 ;;
                    --data) DATA=$2 ;;
                    --demo_data) DEMO=$2 ;;
                esac
                shift ;;
            --overwrite) OVERWRITE=true ;;
            *) REST+=("$1") ;;
        esac
        shift
    done
    find_commands
    local prefix=results
    [ "$MODE" = demo ] && prefix=demo-results
    OUT=${OUT:-$prefix/$EXPERIMENT}
    if [ -e "$OUT/results.tsv" ] && [ "$OVERWRITE" != true ]; then
        experiment_error "$OUT holds the results of an earlier run: give --overwrite to replace them, or another -o"
    fi
    if [ "$MODE" = full ]; then  # before anything is written
        [ -d "$DATA" ] || experiment_error "no data folder $DATA: fetch the data first (ffn-fetch, see README 'Data') or give --data"
        DATA=$(cd "$DATA" && pwd)
    fi
    OUT=$(realpath -m "$OUT")  # made by the first command run (after the inputs are checked)
    LOG_STARTED=false
    if [ "$MODE" = demo ]; then
        DEMO=${DEMO:-$OUT/demo-data}
        if [ ! -e "$DEMO/run.json" ]; then
            ffn ffn-demo -oc "$DEMO" > /dev/null
        fi
        DEMO=$(cd "$DEMO" && pwd)
    fi
}

# A script's own flags must be known: call after parsing REST, with what was left over.
reject_unknown() {
    [ $# -eq 0 ] || experiment_error "unknown argument '$1' (see --help)"
}

ffn() {  # run a package command, logged in the run folder
    local command=$1
    shift
    if [ "$LOG_STARTED" != true ]; then
        mkdir -p "$OUT"
        : > "$OUT/commands.log"
        LOG_STARTED=true
    fi
    printf '%s\n' "$command $*" >> "$OUT/commands.log"
    "$FFN_BIN/$command" "$@"
}

experiment_report() {
    ffn ffn-experiment-report --experiment "$EXPERIMENT" -oc "$OUT" --mode "$MODE"
}
