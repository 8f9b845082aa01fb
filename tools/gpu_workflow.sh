#!/usr/bin/env bash
# The Snakemake workflow itself, with device=cuda, on a GPU machine that has PyTorch and JAX but
# neither Snakemake, Keras, TensorFlow nor a network: the lent device machine
# (docs/performance.md, "GPU figures", gives the one call that runs it there).
#
#   bash tools/gpu_workflow.sh prepare   # here, with the package index: .gpu-wheels/ and .gpu-mnist/
#   bash tools/gpu_workflow.sh run       # there: install the wheels, run the workflow, figures to $OUT
#
# prepare: downloads tools/gpu-wheels.txt's packages at constraints.txt's versions as wheels for
# the machine's Python (DEVICE_PYTHON, 3.12) into .gpu-wheels/, builds connection-pool's wheel
# (an sdist only), copies MNIST's four files from the dataset mirror (MIRROR, ../shared/datasets)
# into .gpu-mnist/mnist/, and checks that the tree and both folders stay under the device's
# 64 MiB. Both folders are git-ignored: a device call names them in its carry list.
#
# run: installs the wheels into /tmp/site (--no-deps: each one was chosen), then ONE Snakemake
# run, MNIST from .gpu-mnist: the main comparison with device=cuda for every GPU-capable framework
# whose packages are there (torch, jax, keras-jax; Keras on TensorFlow only where TensorFlow is
# installed, which the machine's image is not) and presets/devices.yaml's study (each of them on
# the CPU and on CUDA). Snakemake's greedy scheduler: its default (ILP) needs PuLP, 17 MB of
# solver binaries to carry for nothing here. It stops at BUDGET_S seconds (Snakemake ends its
# jobs), then copies what there is to $OUT: throughput.csv, summary.csv, run.json, report.html,
# devices-summary.csv, devices-report.html, workflow.log and results.tgz (every result file but
# models and arrays, and the jobs' logs), and prints the tables. Knobs (environment):
# FRAMEWORKS ("torch, jax, keras-jax" or a subset), SEEDS ("0, 1, 2"), EPOCHS (10, where the
# recipe allows 30: nine steady epochs per run are enough for its speed, and the whole run fits
# a 15-minute device lease with time to spare), BUDGET_S (300), CORES (all), DEVICE (cuda;
# cpu only to try the script on a machine without a GPU, with STUDY= empty), STUDY (devices, a
# preset's name; empty: the main comparison alone), DATASET (mnist; digits needs no files),
# SNAKEMAKE_ARGS (more options, e.g. -n).
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=${WHEELS:-.gpu-wheels}
DATA=${DATA:-.gpu-mnist}
LIMIT_MIB=64

prepare() {
    local python=${PYTHON:-.venv/bin/python}
    local target=${DEVICE_PYTHON:-3.12}
    local mirror=${MIRROR:-../shared/datasets}
    mkdir -p "$WHEELS" "$DATA/mnist"
    local platforms=()
    for tag in manylinux2014 manylinux_2_17 manylinux_2_27 manylinux_2_28 manylinux_2_34; do
        platforms+=(--platform "${tag}_x86_64")
    done
    "$python" -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
        --python-version "$target" "${platforms[@]}" -d "$WHEELS" \
        -r tools/gpu-wheels.txt -c constraints.txt
    # connection-pool publishes no wheel; it is pure Python, so its wheel runs anywhere.
    "$python" -m pip wheel --quiet --no-deps -w "$WHEELS" connection-pool -c constraints.txt
    for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
        t10k-labels-idx1-ubyte; do
        cp "$mirror/mnist/$name.gz" "$DATA/mnist/"
    done
    local tree wheels data
    tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1)
    wheels=$(du -sb "$WHEELS" | cut -f1)
    data=$(du -sb "$DATA" | cut -f1)
    local total=$(((tree + wheels + data) / 1048576))
    echo "carry: tree $((tree / 1048576)) MiB + $WHEELS $((wheels / 1048576)) MiB" \
        "($(ls "$WHEELS" | wc -l) wheels) + $DATA $((data / 1048576)) MiB = $total MiB" \
        "(limit $LIMIT_MIB MiB)"
    if ((total >= LIMIT_MIB)); then
        echo "too large to travel to the device machine" >&2
        return 1
    fi
}

run() {
    : "${OUT:?set OUT to the folder the figures go to}"
    local python=${PYTHON:-python3}
    local site=${SITE:-/tmp/site}
    local device=${DEVICE:-cuda}
    local dataset=${DATASET:-mnist}
    local start=$SECONDS
    mkdir -p "$OUT"
    "$python" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$site" "$WHEELS"/*.whl
    export PYTHONPATH="$site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
    if [[ $device == cuda ]]; then
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    fi
    local frameworks=${FRAMEWORKS:-$(usable_frameworks "$python")}
    local data=() study=()
    [[ $dataset == digits ]] || data=(mirror="$PWD/$DATA")
    [[ -z ${STUDY-devices} ]] || study=(--configfile "presets/${STUDY-devices}.yaml")
    echo "frameworks: $frameworks; device: $device; dataset: $dataset; $(nproc) CPUs"
    local status=0
    timeout --signal=TERM --kill-after=30 "${BUDGET_S:-300}" \
        "$python" -m snakemake --cores "${CORES:-$(nproc)}" --scheduler greedy --keep-going \
        "${study[@]}" \
        --config comparison=true datasets="[$dataset]" "${data[@]}" device="$device" \
        frameworks="[$frameworks]" seeds="[${SEEDS:-0, 1, 2}]" \
        training="{epochs: ${EPOCHS:-10}}" ${SNAKEMAKE_ARGS-} >"$OUT/workflow.log" 2>&1 ||
        status=$?
    echo "snakemake: exit $status after $((SECONDS - start)) s (124: stopped at BUDGET_S)"
    tail -n 5 "$OUT/workflow.log"
    collect "$OUT" "$python"
    return "$status"
}

# The GPU-capable frameworks of the registry whose packages are installed here.
usable_frameworks() {
    "$1" - <<'EOF'
import importlib.util
from mlpcompare import frameworks
needs = {"keras": ["keras", "tensorflow"], "keras-jax": ["keras", "jax"]}
print(", ".join(
    name for name in frameworks.GPU_CAPABLE
    if all(importlib.util.find_spec(m) for m in needs.get(name, frameworks.get(name).packages[:1]))
))
EOF
}

collect() {
    local out=$1 python=$2 study=results/studies/devices
    local name
    for name in throughput.csv summary.csv run.json report.html; do
        [[ -f results/$name ]] && cp "results/$name" "$out/$name"
    done
    [[ -f $study/summary.csv ]] && cp "$study/summary.csv" "$out/devices-summary.csv"
    [[ -f $study/report.html ]] && cp "$study/report.html" "$out/devices-report.html"
    find results logs -type f ! -name '*.npz' ! -name '*.pt' ! -name '*.keras' ! -name '*.onnx' \
        -print0 2>/dev/null | tar -czf "$out/results.tgz" --null -T -
    ls -l "$out"
    if [[ -f results/throughput.csv && -f results/summary.csv ]]; then
        "$python" -m mlpcompare.aggregating.throughput_table results/throughput.csv \
            results/summary.csv || true
    fi
    if [[ -f $study/summary.csv ]]; then
        "$python" - "$study/summary.csv" <<'EOF' || true
import sys
import pandas as pd
table = pd.read_csv(sys.argv[1])
print(table.to_string(index=False, max_colwidth=24))
EOF
    fi
}

case ${1:-} in
prepare) prepare ;;
run) run ;;
*)
    echo "usage: bash tools/gpu_workflow.sh prepare|run" >&2
    exit 2
    ;;
esac
