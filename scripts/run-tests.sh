#!/usr/bin/env bash
# Run the whole test suite: serial pytest, then the MPI-marked tests under
# mpiexec -n 2 and -n 3 (oversubscribed on small machines).
#   bash scripts/run-tests.sh [extra pytest args]
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CRUSTSOLVE_VENV:-$repo/.venv}"
py="$venv/bin/python"
[[ -x "$py" ]] || { echo "run-tests: no virtual environment at $venv; run scripts/setup.sh first" >&2; exit 1; }
cd "$repo"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# Open MPI refuses root and more ranks than cores unless told otherwise.
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1

# pytest exits 5 when a selection collects nothing: not a failure here.
ok() { local rc=$1; [[ $rc -eq 0 || $rc -eq 5 ]]; }

status=0
t0=$(date +%s)
echo "=== serial: pytest"
"$py" -m pytest -q "$@"; rc=$?; ok $rc || status=1
for n in 2 3; do
  echo "=== MPI: mpiexec -n $n pytest -m mpi"
  timeout 1200 mpiexec -n "$n" "$py" -m pytest -q -m mpi -p no:cacheprovider "$@"; rc=$?
  ok $rc || { echo "MPI run with $n ranks failed (exit $rc)"; status=1; }
done
echo "=== test suite finished in $(( $(date +%s) - t0 )) s, status $status"
exit $status
