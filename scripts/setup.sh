#!/usr/bin/env bash
# crustsolve set-up for Debian 12 (bookworm): complex PETSc/SLEPc from Debian, a
# virtual environment made from /usr/bin/python3 that sees them, crustsolve in it,
# and the `crustsolve` command on PATH. Idempotent: a second run checks and exits
# in a few seconds.
#
#   bash scripts/setup.sh            # as root: apt packages + venv + /usr/local/bin/crustsolve
#   CRUSTSOLVE_VENV=/opt/cs bash scripts/setup.sh   # venv elsewhere (default: <repo>/.venv)
#
# Non-root users: the script stops with the apt-get command to ask an admin for,
# unless the packages are already there; the command is linked into ~/.local/bin.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CRUSTSOLVE_VENV:-$repo/.venv}"
t0=$(date +%s)

packages=(
  python3-petsc4py-complex python3-slepc4py-complex python3-petsc4py python3-slepc4py
  libpetsc-complex-dev libslepc-complex-dev
  python3-mpi4py python3-pyfftw python3-numpy python3-scipy python3-h5py python3-matplotlib
  python3-pytest python3-venv python3-setuptools python3-pip openmpi-bin
  libopenblas0-pthread
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "crustsolve setup: missing Debian packages: ${missing[*]}" >&2
    echo "ask an administrator to run: apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "crustsolve setup: installing ${#missing[@]} Debian packages (complex PETSc/SLEPc, MPI, ...)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# A venv from Debian's interpreter with --system-site-packages sees Debian's
# petsc4py/slepc4py (built for /usr/bin/python3 and numpy 1.24); --no-deps keeps
# pip from pulling a PyPI numpy 2.x into it.
if [[ ! -x "$venv/bin/python" ]]; then
  echo "crustsolve setup: creating virtual environment $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
stamp="$venv/.crustsolve-installed"
want="$(sha1sum "$repo/pyproject.toml" | cut -c1-40) $repo"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "crustsolve setup: installing crustsolve (editable) into $venv"
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation --no-index -e "$repo"
  echo "$want" > "$stamp"
fi

if [[ $(id -u) -eq 0 ]]; then bindir=/usr/local/bin; else bindir="$HOME/.local/bin"; mkdir -p "$bindir"; fi
ln -sf "$venv/bin/crustsolve" "$bindir/crustsolve"

# Check the result the way a user would (fails loudly on a real or missing PETSc).
"$venv/bin/crustsolve" info --quiet > /dev/null || { "$venv/bin/crustsolve" info; exit 1; }
echo "crustsolve setup: ready in $(( $(date +%s) - t0 )) s — 'crustsolve' is $bindir/crustsolve"
