#!/usr/bin/env bash
# Check an Apptainer definition file without Apptainer.
#
# Emulates what "apptainer build" does with "Bootstrap: debootstrap":
#   parse      split the .def into sections; `sh -n` on the scripts; %files sources exist
#   bootstrap  debootstrap --variant=minbase <OSVersion> ROOT <mirror>   (reused if present)
#   post       copy %files into ROOT, mount /proc /dev /dev/pts /sys, run %post in chroot
#   test       run %test in chroot with %environment sourced, then %runscript with "info"
# and prints the wall-clock time of each phase.
#
# Usage (as root, from anywhere in the repository):
#   containers/check-recipe.sh [options] [DEFFILE]      (default: containers/crustsolve.def)
# Options:
#   --phase LIST   comma-separated subset of parse,bootstrap,post,test (default: all);
#                  "post" includes copying %files; parse always runs
#   --lint         same as --phase parse (no root, no network: any recipe, e.g. the MPICH one)
#   --root DIR     root file system (default: containers/.check/<recipe>-rootfs)
#   --mirror URL   Debian mirror (default: from /etc/apt/sources.list*, else the recipe's)
#   --fresh        delete an existing root and debootstrap again
#   --keep         keep the root afterwards (default)
#   --clean        delete the root at the end (after a successful or failed run)
#   --env VAR=VAL  extra variable for the chroot's %post/%test environment (repeatable)
#   --no-host-ca   do not pass the host's CA bundle to pip in the chroot (see below)
#   -h, --help
#
# Differences from a real build, on purpose kept small:
#   * %files sources are limited to files git knows about (tracked, or untracked but not
#     ignored) so that caches and containers/.check/ are not copied;
#   * %post runs as `/bin/sh -e -x` like Apptainer, WITHOUT %environment (Apptainer does not
#     source it during the build either); %test and %runscript run with it sourced;
#   * no namespaces: the chroot shares the host's network, PIDs and /dev;
#   * if the host's pip uses its own CA bundle (PIP_CERT, SSL_CERT_FILE or REQUESTS_CA_BUNDLE set,
#     e.g. behind a TLS-inspecting proxy), that bundle is copied to
#     ROOT/etc/ssl/check-recipe-host-ca.crt and PIP_CERT/SSL_CERT_FILE/REQUESTS_CA_BUNDLE point
#     to it inside the chroot, so that pip can reach PyPI (--no-host-ca to turn this off).
set -euo pipefail

die() { echo "check-recipe: error: $*" >&2; exit 1; }
log() { echo "check-recipe: $*" >&2; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/.." && pwd))

DEF=""
PHASES="parse,bootstrap,post,test"
ROOT=""
MIRROR=""
FRESH=0
CLEAN=0
EXTRA_ENV=()
HOST_CA_WANTED=1
HOST_CA=""

while [ $# -gt 0 ]; do
    case "$1" in
        --phase) [ $# -ge 2 ] || die "--phase needs an argument"; PHASES="parse,$2"; shift 2 ;;
        --phase=*) PHASES="parse,${1#*=}"; shift ;;
        --lint) PHASES="parse"; shift ;;
        --root) [ $# -ge 2 ] || die "--root needs an argument"; ROOT=$2; shift 2 ;;
        --root=*) ROOT=${1#*=}; shift ;;
        --mirror) [ $# -ge 2 ] || die "--mirror needs an argument"; MIRROR=$2; shift 2 ;;
        --mirror=*) MIRROR=${1#*=}; shift ;;
        --fresh) FRESH=1; shift ;;
        --keep) CLEAN=0; shift ;;
        --clean) CLEAN=1; shift ;;
        --env) [ $# -ge 2 ] || die "--env needs VAR=VALUE"; EXTRA_ENV+=("$2"); shift 2 ;;
        --no-host-ca) HOST_CA_WANTED=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$DEF" ] || die "only one definition file"; DEF=$1; shift ;;
    esac
done
[ -n "$DEF" ] || DEF="$SCRIPT_DIR/crustsolve.def"
[ -f "$DEF" ] || die "no such file: $DEF"
DEF=$(cd "$(dirname "$DEF")" && pwd)/$(basename "$DEF")
NAME=$(basename "$DEF" .def)
[ -n "$ROOT" ] || ROOT="$SCRIPT_DIR/.check/$NAME-rootfs"
mkdir -p "$(dirname "$ROOT")"
ROOT=$(cd "$(dirname "$ROOT")" && pwd)/$(basename "$ROOT")

has_phase() { case ",$PHASES," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
for p in ${PHASES//,/ }; do
    case "$p" in parse|bootstrap|post|test) ;; *) die "unknown phase '$p'" ;; esac
done

# ---------------------------------------------------------------- timing ----
declare -a TIMES=()
T0=0
phase_start() { log "=== phase $1 ==="; T0=$(date +%s.%N); }
phase_end() {
    local dt; dt=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    TIMES+=("$1 ${dt}s")
    log "=== phase $1 done in ${dt} s ==="
    mkdir -p "$SCRIPT_DIR/.check"
    echo "$(date -u +%FT%TZ) $NAME $1 ${dt}s" >> "$SCRIPT_DIR/.check/times.log"
}
summary() {
    [ ${#TIMES[@]} -gt 0 ] || return 0
    echo "check-recipe: summary for $NAME ($ROOT):"
    local t; for t in "${TIMES[@]}"; do echo "    $t"; done
}

# ----------------------------------------------------------------- parse ----
SECT=$(mktemp -d /tmp/check-recipe.XXXXXX)
parse_def() {
    # Header "Key: value" lines before the first section go to header.env (KEY=value);
    # each known section's body goes to <section>.txt verbatim. Section arguments
    # (e.g. "%post -c /bin/bash") go to <section>.args.
    awk -v out="$SECT" '
    BEGIN { sec = ""; known = "help setup files labels environment post runscript startscript test arguments" }
    function is_section(w,   n, a, i) {
        n = split(known, a, " "); for (i = 1; i <= n; i++) if (w == a[i]) return 1; return 0
    }
    {
        line = $0
        if (match(line, /^[ \t]*%[A-Za-z]+/)) {
            hdr = line; sub(/^[ \t]*%/, "", hdr)
            name = hdr; sub(/[ \t].*$/, "", name)
            if (is_section(name)) {
                sec = name
                args = hdr; sub(/^[A-Za-z]+[ \t]*/, "", args)
                printf "" > (out "/" sec ".txt")
                if (args != "") print args > (out "/" sec ".args")
                next
            }
            if (name ~ /^app/) { print "unsupported section %" name > "/dev/stderr"; exit 3 }
        }
        if (sec == "") {
            if (line ~ /^[ \t]*(#|$)/) next
            if (match(line, /^[ \t]*[A-Za-z]+[ \t]*:/)) {
                k = line; sub(/[ \t]*:.*/, "", k); sub(/^[ \t]*/, "", k)
                v = line; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
                print tolower(k) "=" v > (out "/header.env")
                next
            }
            print "unparsable header line: " line > "/dev/stderr"; exit 2
        }
        print line >> (out "/" sec ".txt")
    }' "$DEF" || die "cannot parse $DEF"
}
hdr() { # hdr key -> value from the header (case-insensitive key)
    [ -f "$SECT/header.env" ] || return 0
    awk -F= -v k="$(echo "$1" | tr 'A-Z' 'a-z')" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$SECT/header.env"
}
files_lines() { # non-comment, non-blank %files lines, whitespace-trimmed
    [ -f "$SECT/files.txt" ] || return 0
    sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$SECT/files.txt" | grep -v -e '^#' -e '^$' || true
}
lint() {
    local bs s ok=1
    bs=$(hdr bootstrap)
    log "recipe $DEF: Bootstrap=${bs:-?} OSVersion=$(hdr osversion) MirrorURL=$(hdr mirrorurl)"
    log "sections: $(cd "$SECT" && ls *.txt 2>/dev/null | sed 's/\.txt$//' | tr '\n' ' ')"
    [ -n "$bs" ] || { log "FAIL: no Bootstrap header"; ok=0; }
    for s in post test runscript environment setup; do
        [ -f "$SECT/$s.txt" ] || continue
        if [ -f "$SECT/$s.args" ] && grep -q -- '-c' "$SECT/$s.args"; then
            log "note: %$s uses its own interpreter ($(cat "$SECT/$s.args")); checking with bash -n"
            bash -n "$SECT/$s.txt" || { log "FAIL: %$s has a syntax error"; ok=0; }
        else
            sh -n "$SECT/$s.txt" || { log "FAIL: %$s has a syntax error (sh -n)"; ok=0; }
        fi
    done
    for s in post runscript; do
        [ -f "$SECT/$s.txt" ] || log "warning: no %$s section"
    done
    local src dst
    while read -r src dst; do
        [ -n "$src" ] || continue
        # Apptainer resolves relative sources against the build's working directory:
        # the documented build command runs from the repository root.
        if ! (cd "$REPO" && compgen -G "$src" > /dev/null); then
            log "FAIL: %files source '$src' does not exist (relative to $REPO)"; ok=0
        fi
    done < <(files_lines)
    if [ "$ok" = 1 ]; then log "lint OK"; return 0; fi
    # A bootstrap-only run does not need the %files yet.
    if [ "$PHASES" = "parse,bootstrap" ]; then log "lint FAILED (ignored for --phase bootstrap)"; return 0; fi
    die "lint failed for $DEF"
}

# -------------------------------------------------------------- mounting ----
MOUNTS=()
mounted_under_root() { awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts; }
do_mount() {
    mkdir -p "$ROOT/proc" "$ROOT/dev" "$ROOT/sys"
    if ! mountpoint -q "$ROOT/proc"; then mount -t proc proc "$ROOT/proc"; fi; MOUNTS+=("$ROOT/proc")
    if ! mountpoint -q "$ROOT/sys"; then mount -t sysfs sysfs "$ROOT/sys" 2>/dev/null \
        || mount --bind /sys "$ROOT/sys"; fi; MOUNTS+=("$ROOT/sys")
    if ! mountpoint -q "$ROOT/dev"; then mount --bind /dev "$ROOT/dev"; fi; MOUNTS+=("$ROOT/dev")
    mkdir -p "$ROOT/dev/pts"
    if ! mountpoint -q "$ROOT/dev/pts"; then mount --bind /dev/pts "$ROOT/dev/pts"; fi; MOUNTS+=("$ROOT/dev/pts")
}
do_umount() {
    local m i
    # Innermost first: whatever is mounted under ROOT, in reverse order of /proc/mounts.
    for m in $(mounted_under_root | tac); do
        for i in 1 2 3 4 5 6 7 8 9 10; do
            umount "$m" 2>/dev/null && break
            # mpiexec's daemons may still hold /dev for a moment
            [ "$i" = 10 ] && { log "warning: $m busy, lazy unmount"; umount -l "$m" || true; }
            sleep 1
        done
    done
    MOUNTS=()
    [ -z "$(mounted_under_root)" ] || log "warning: still mounted under $ROOT: $(mounted_under_root | tr '\n' ' ')"
}
remove_root() {
    [ -e "$ROOT" ] || return 0
    do_umount
    [ -z "$(mounted_under_root)" ] || die "refusing to delete $ROOT: something is still mounted under it"
    case "$ROOT" in /|/usr|/usr/*|/etc|/etc/*|/bin|/home|"") die "refusing to delete '$ROOT'" ;; esac
    log "deleting $ROOT"
    rm -rf --one-file-system "$ROOT"
}
cleanup() {
    local rc=$?
    if [ -d "$ROOT" ]; then do_umount; fi
    if [ "$CLEAN" = 1 ]; then remove_root || true; fi
    rm -rf "$SECT"
    summary
    if [ "$rc" = 0 ]; then log "OK"; else log "FAILED (exit $rc)"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------- chroot runs ----
chroot_env() { # the environment a build step sees: minimal, like Apptainer's
    local v
    echo "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    echo "HOME=/root"
    echo "TERM=${TERM:-dumb}"
    echo "LANG=C.UTF-8"
    echo "APPTAINER_CONTAINER=/"
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [ -n "${!v:-}" ] && echo "$v=${!v}"
    done
    if [ -n "$HOST_CA" ]; then
        for v in PIP_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE; do echo "$v=$HOST_CA"; done
    fi
    for v in "${EXTRA_ENV[@]+"${EXTRA_ENV[@]}"}"; do echo "$v"; done
}
in_chroot() { # in_chroot CMD... : run in ROOT with the minimal environment
    local -a envv=()
    local l
    while IFS= read -r l; do envv+=("$l"); done < <(chroot_env)
    chroot "$ROOT" /usr/bin/env -i "${envv[@]}" "$@"
}
install_scripts() { # like Apptainer's /.singularity.d layout
    mkdir -p "$ROOT/.singularity.d/env"
    { echo '#!/bin/sh'; [ -f "$SECT/environment.txt" ] && cat "$SECT/environment.txt"; } \
        > "$ROOT/.singularity.d/env/90-environment.sh"
    { echo '#!/bin/sh'; [ -f "$SECT/runscript.txt" ] && cat "$SECT/runscript.txt"; } \
        > "$ROOT/.singularity.d/runscript"
    { echo '#!/bin/sh'; [ -f "$SECT/test.txt" ] && cat "$SECT/test.txt"; } \
        > "$ROOT/.singularity.d/test"
    chmod 755 "$ROOT/.singularity.d/runscript" "$ROOT/.singularity.d/test" \
        "$ROOT/.singularity.d/env/90-environment.sh"
}

host_mirror() {
    local m=""
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}
               /^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }')
    echo "$m"
}

# ---------------------------------------------------------------- phases ----
phase_start parse
parse_def
lint
phase_end parse

if has_phase bootstrap || has_phase post || has_phase test; then
    [ "$(id -u)" = 0 ] || die "phases bootstrap/post/test need root (chroot, mount)"
    [ "$(hdr bootstrap)" = debootstrap ] || die "only 'Bootstrap: debootstrap' recipes can be run here (use --lint)"
fi

if has_phase bootstrap; then
    phase_start bootstrap
    [ "$FRESH" = 1 ] && remove_root
    if [ -f "$ROOT/.check-debootstrap-done" ]; then
        log "reusing $ROOT (debootstrapped $(cat "$ROOT/.check-debootstrap-done")); --fresh to redo"
    else
        [ -e "$ROOT" ] && { log "incomplete root file system, starting again"; remove_root; }
        suite=$(hdr osversion); suite=${suite:-bookworm}
        mirror=${MIRROR:-$(host_mirror)}; mirror=${mirror:-$(hdr mirrorurl)}
        mirror=${mirror:-http://deb.debian.org/debian}
        inc=$(hdr include | tr ' ' ',')
        log "debootstrap --variant=minbase ${inc:+--include=$inc }$suite $ROOT $mirror"
        debootstrap --variant=minbase ${inc:+--include="$inc"} "$suite" "$ROOT" "$mirror"
        date -u +%FT%TZ > "$ROOT/.check-debootstrap-done"
    fi
    phase_end bootstrap
fi

if has_phase post || has_phase test; then
    [ -f "$ROOT/.check-debootstrap-done" ] || die "no root file system at $ROOT: run the bootstrap phase first"
    # Apptainer binds the host's resolv.conf during the build.
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    if [ "$HOST_CA_WANTED" = 1 ]; then
        for f in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" "${REQUESTS_CA_BUNDLE:-}"; do
            if [ -n "$f" ] && [ -f "$f" ]; then
                mkdir -p "$ROOT/etc/ssl"
                cp -L "$f" "$ROOT/etc/ssl/check-recipe-host-ca.crt"
                HOST_CA=/etc/ssl/check-recipe-host-ca.crt
                log "host CA bundle $f made available to pip in the chroot ($HOST_CA)"
                break
            fi
        done
    fi
fi

if has_phase post; then
    phase_start files
    # %files: "src [dst]" with src relative to the build directory (the repository root).
    # Only files git knows about (tracked, or untracked and not ignored) are copied.
    filelist=$(mktemp /tmp/check-recipe-files.XXXXXX)
    if git -C "$REPO" rev-parse --git-dir > /dev/null 2>&1; then
        (cd "$REPO" && git ls-files --cached --others --exclude-standard) | sort -u > "$filelist"
    else    # not a git checkout (e.g. an unpacked sdist): everything but caches and the roots
        (cd "$REPO" && find . -type f -not -path './containers/.check/*' -not -path '*/__pycache__/*' \
            | sed 's|^\./||' | sort) > "$filelist"
    fi
    while read -r src dst; do
        [ -n "$src" ] || continue
        for s in $(cd "$REPO" && compgen -G "$src"); do
            s=${s%/}
            d=${dst:-/$s}
            case "$d" in /*) ;; *) d="/$d" ;; esac
            # cp -r semantics: into an existing directory -> d/basename(s)
            # cp -r semantics for a destination ending in '/': copy into that directory
            if [[ "$d" == */ ]]; then d="${d%/}/$(basename "$s")"; fi
            [ "$d" != / ] || die "%files: refusing to copy $s onto /"
            rm -rf --one-file-system "${ROOT:?}$d"
            if [ -d "$REPO/$s" ]; then
                n=0
                while read -r f; do
                    [ -e "$REPO/$f" ] || continue     # deleted but still in the index
                    mkdir -p "$ROOT$d/$(dirname "${f#"$s"/}")"
                    cp -L "$REPO/$f" "$ROOT$d/${f#"$s"/}"
                    n=$((n + 1))
                done < <(grep -F -- "$s/" "$filelist" | awk -v p="$s/" 'index($0, p) == 1')
                log "%files: $s/ -> $d ($n files)"
            else
                mkdir -p "$(dirname "$ROOT$d")"
                cp -L "$REPO/$s" "$ROOT$d"
                log "%files: $s -> $d"
            fi
        done
    done < <(files_lines)
    rm -f "$filelist"
    phase_end files

    phase_start post
    install_scripts
    if [ -f "$SECT/post.txt" ]; then
        cp "$SECT/post.txt" "$ROOT/.singularity.d/post.sh"
        do_mount
        interp=/bin/sh
        if [ -f "$SECT/post.args" ]; then
            interp=$(sed -n 's/.*-c[ \t]*\([^ \t]*\).*/\1/p' "$SECT/post.args"); interp=${interp:-/bin/sh}
        fi
        in_chroot "$interp" -e -x /.singularity.d/post.sh
        do_umount
    fi
    phase_end post
fi

if has_phase test; then
    phase_start test
    install_scripts
    do_mount
    if [ -f "$SECT/test.txt" ]; then
        log "--- %test ---"
        in_chroot /bin/sh -c '. /.singularity.d/env/90-environment.sh; exec /bin/sh -e /.singularity.d/test'
    else
        log "no %test section"
    fi
    if [ -f "$SECT/runscript.txt" ]; then
        log "--- %runscript info (as 'apptainer run image.sif info') ---"
        in_chroot /bin/sh -c '. /.singularity.d/env/90-environment.sh; exec /bin/sh /.singularity.d/runscript "$@"' runscript info
    fi
    do_umount
    phase_end test
    size=$(du -sh --one-file-system "$ROOT" 2>/dev/null | cut -f1)
    log "root file system size: $size ($ROOT)"
    TIMES+=("rootfs-size $size")
fi
