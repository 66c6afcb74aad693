#!/usr/bin/env bash
# The package's GPU checks, as one script for a lent CUDA machine.
#
# Run from the repository root on a machine with torch, timm, scikit-learn
# and scikit-image but possibly without skorch and captum: wheels of those
# in .whl/ (py3-none-any wheels, e.g. skorch 1.4.0 and captum 0.9.0, saved
# with pip download) are installed into /tmp/site first.
# Every step has its own time limit and writes its log to $OUT (default
# ./device_out); a failing step does not stop the others.
set -u
OUT=${OUT:-device_out}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
PY=${PYTHON:-python3}

step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "== $name: rc=$rc in $((SECONDS - start)) s"
    tail -n 25 "$OUT/$name.log"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

# 1. The tests of the related methods, the explainers and the attribution
#    metrics, on CUDA (device="auto" picks it).
step tests_related 240 $PY -m pytest -q -p no:cacheprovider -o addopts= \
    tests/models tests/explainers tests/nn tests/metrics/test_attribution.py \
    tests/metrics/test_stability.py tests/test_explanation_contract.py \
    tests/test_image_classifier_base.py
# 2. The claims' benchmarks, default settings, on CUDA.
step ersm 150 $PY benchmarks/ersm_deletion.py --device cuda ${ERSM_ARGS:-}
step sib 150 $PY benchmarks/sib_attribution.py --device cuda ${SIB_ARGS:-}
step adversarial 150 $PY benchmarks/adversarial_saliency.py --device cuda ${ADV_ARGS:-}
step agop 150 $PY benchmarks/agop_tetrominoes.py --device cuda ${AGOP_ARGS:-}
