#!/bin/bash
# 1 → 2 rank scaling of `crustsolve bands --solver chebyshev` in both layouts:
# 1 rank, 2 ranks as 2 k-groups, 2 ranks as one k-group (domain decomposition). Writes
# benchmarks/out/scaling.json (wall times, efficiencies, max |ΔE| against the 1-rank run).
#
#   crustsolve layer --density 0.03 --points 16 --out layer_16.h5
#   FIELD=layer_16.h5 bash benchmarks/scaling.sh            # NEV=400 KMESH=3 by default
set -euo pipefail
FIELD=$(realpath "${FIELD:?set FIELD to a field file, e.g. from crustsolve layer}")
NEV=${NEV:-400}
KMESH=${KMESH:-3}
OUT=$(realpath -m "${OUT:-$(dirname "$0")/out}")
command -v crustsolve >/dev/null || {
    echo "scaling.sh: 'crustsolve' is not on PATH (run scripts/setup.sh, or put its venv's bin first)" >&2
    exit 2
}
# The Python that runs crustsolve (the venv of scripts/setup.sh), for the summary below.
PY=${PYTHON:-$(head -1 "$(command -v crustsolve)" | sed 's/^#!//')}
mkdir -p "$OUT"
cd "$OUT"
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
       OMPI_MCA_rmaps_base_oversubscribe=1
common=("$FIELD" --solver chebyshev --nev "$NEV" --kmesh "$KMESH" --shift --order 8 --tol 1e-8)
timed() {  # name, command...
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > "scal_$name.log" 2>&1
    t1=$(date +%s.%N)
    python3 -c "print($t1 - $t0)" > "scal_$name.seconds"
    echo "$name: $(cat "scal_$name.seconds") s"
}
timed 1 crustsolve bands "${common[@]}" --out scal_1.h5
timed 2k mpiexec -n 2 crustsolve bands "${common[@]}" --kgroups 2 --out scal_2k.h5
timed 2d mpiexec -n 2 crustsolve bands "${common[@]}" --kgroups 1 --out scal_2d.h5
"$PY" - <<'PY'
import json
import numpy as np
from crustsolve.cli.bands import read_bands
runs = {k: read_bands(f"scal_{k}.h5") for k in ("1", "2k", "2d")}
wall = {k: float(open(f"scal_{k}.seconds").read()) for k in runs}
out = {"wall_seconds": wall,
       "efficiency_2_ranks": {k: wall["1"] / (2 * wall[k]) for k in ("2k", "2d")},
       "max_abs_dE_vs_1_rank_MeV": {k: float(np.max(np.abs(runs[k]["energies"] -
                                                           runs["1"]["energies"])))
                                    for k in ("2k", "2d")},
       "per_k_seconds": {k: runs[k]["seconds"].tolist() for k in runs},
       "iterations": {k: runs[k]["iterations"].tolist() for k in runs}}
json.dump(out, open("scaling.json", "w"), indent=1)
print(json.dumps({k: out[k] for k in ("efficiency_2_ranks", "max_abs_dE_vs_1_rank_MeV")}))
PY
