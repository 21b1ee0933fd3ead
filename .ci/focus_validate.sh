#!/usr/bin/env bash
# Checks FOCUS files with the FinOps Foundation's validator (focus-validator
# 1.0.0, FOCUS 1.0 rules), relative to the FinOps sample file:
#
#   bash .ci/focus_validate.sh FILE.csv [FILE.parquet ...]
#
# The validator exits 0 even when rules fail, and its 1.0 rule set has rules
# that no FOCUS 1.0 file passes (it requires the 0.5 column names Provider,
# Publisher, InvoiceIssuer, ResourceID and ChargeType). So this script runs
# it on the FinOps sample
# (data/focus/finops-focus-sample-data_FOCUS-1.0_focus_sample_1000.csv) to
# learn which rules a good file passes, then on each FILE, and fails if a
# FILE fails any of those rules. Rules the sample fails (11 of 133: also its
# four date columns, which lack the "Z", ChargeFrequency "Usage-based" and
# null ContractedCost rows) are not checked for the files. Results are read
# from the validator's JUnit-XML report (--output-type unittest), not from
# its console text; the console text is only shown for failing rules.
#
# Exit status: 0 all files pass every rule the sample passes; 1 some file
# fails such a rule; 2 usage error, install failure or validator crash.
#
# Environment:
#   FOCUS_VALIDATOR_VENV    venv to install into and reuse
#                           (default ~/.cache/tokentra-focus-validator)
#   FOCUS_VALIDATOR_PYTHON  interpreter for the venv (default: the first of
#                           python3, python3.12, python3.11 that is 3.11 or
#                           3.12, the versions the pinned wheels exist for)
#   FOCUS_VALIDATOR_SAMPLE  reference file (default: the FinOps sample)
set -euo pipefail

FV_VERSION=1.0.0
FOCUS_VERSION=1.0
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${FOCUS_VALIDATOR_VENV:-${HOME:-/tmp}/.cache/tokentra-focus-validator}
SAMPLE=${FOCUS_VALIDATOR_SAMPLE:-$REPO_ROOT/data/focus/finops-focus-sample-data_FOCUS-1.0_focus_sample_1000.csv}

# Exact versions, resolved for CPython 3.11/3.12 on x86_64 Linux. numpy<2
# (required by focus-validator 1.0.0) has no wheels for Python 3.13+;
# pandera 0.17 breaks with multimethod>=2.
PINNED_REQUIREMENTS="focus-validator==$FV_VERSION
multimethod==1.12
annotated-types==0.8.0
certifi==2026.10.19.post1
charset-normalizer==3.5.3
idna==3.20
mypy_extensions==1.2.0
numpy==1.26.4
packaging==26.4
pandas==2.3.3
pandasql==0.7.3
pandera==0.17.2
pyarrow==26.0.1
pydantic==2.14.4
pydantic_core==2.50.5
python-dateutil==4.0.0
pytz==2023.4
PyYAML==6.0.4
requests==2.34.2
SQLAlchemy==2.1.9
sqlglot==18.17.0
tabulate==0.10.0
typeguard==4.6.1
typing-inspect==0.9.0
typing-inspection==0.4.5
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
wrapt==2.5.2"

die() { echo "focus_validate: $*" >&2; exit 2; }
log() { echo "focus_validate: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

if [ $# -eq 0 ]; then usage >&2; exit 2; fi
case "$1" in -h|--help) usage; exit 0 ;; esac

# ---------------------------------------------------------------- install
python_ok() { # $1 interpreter, $2 min minor, $3 max minor
    "$1" -c "import sys; sys.exit(not (3, $2) <= sys.version_info[:2] <= (3, $3))" >/dev/null 2>&1
}

pick_python() {
    local c
    if [ -n "${FOCUS_VALIDATOR_PYTHON:-}" ]; then echo "$FOCUS_VALIDATOR_PYTHON"; return; fi
    for c in python3 python3.12 python3.11; do
        command -v "$c" >/dev/null 2>&1 && python_ok "$c" 11 12 && { echo "$c"; return; }
    done
    # No 3.11/3.12: the unpinned fallback below may still work on 3.9/3.10.
    command -v python3 >/dev/null 2>&1 && { echo python3; return; }
    die "no python3 found"
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else "$@"; fi; }

make_venv() { # $1 interpreter
    rm -rf "$VENV"
    if "$1" -m venv "$VENV" >/dev/null 2>&1; then return; fi
    rm -rf "$VENV"
    command -v apt-get >/dev/null 2>&1 || die "'$1 -m venv' failed and there is no apt-get to install python3-venv"
    local ver
    ver=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    log "'$1 -m venv' failed; installing python3-venv (python$ver-venv) with apt-get"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv \
        || DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "python$ver-venv" \
        || die "could not install python3-venv"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "python$ver-venv" >/dev/null 2>&1 || true
    "$1" -m venv "$VENV" || die "'$1 -m venv $VENV' failed even with python3-venv installed"
}

pip_install() {
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q --prefer-binary "$@"
}

ensure_validator() {
    local stamp_want stamp_file="$VENV/.tokentra-focus-validator-stamp"
    stamp_want="focus-validator $FV_VERSION pins $(printf '%s' "$PINNED_REQUIREMENTS" | sha256sum | cut -c1-16)"
    if [ -f "$stamp_file" ] && [ "$(head -1 "$stamp_file")" = "$stamp_want" ] \
        && [ -x "$VENV/bin/focus-validator" ] \
        && "$VENV/bin/python" -c 'import focus_validator' >/dev/null 2>&1; then
        return
    fi
    local py t0=$SECONDS
    py=$(pick_python)
    log "installing focus-validator $FV_VERSION into $VENV (python: $py, $("$py" -V 2>&1))"
    mkdir -p "$(dirname "$VENV")"
    make_venv "$py"
    local req="$VENV/pinned-requirements.txt"
    printf '%s\n' "$PINNED_REQUIREMENTS" >"$req"
    if pip_install -r "$req"; then
        echo "$stamp_want" >"$stamp_file"
    else
        log "WARNING: the pinned set did not install (python $("$py" -V 2>&1)); installing focus-validator==$FV_VERSION 'multimethod<2' with unpinned dependencies, results may differ"
        pip_install "focus-validator==$FV_VERSION" 'multimethod<2' \
            || die "pip install focus-validator==$FV_VERSION failed (it needs numpy<2, which has no wheels for Python 3.13+; set FOCUS_VALIDATOR_PYTHON to a 3.11 or 3.12 interpreter)"
        echo "focus-validator $FV_VERSION unpinned" >"$stamp_file"
    fi
    "$VENV/bin/python" -m pip freeze --disable-pip-version-check >>"$stamp_file"
    log "installed in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- run
[ -f "$SAMPLE" ] || die "sample file not found: $SAMPLE"
files=()
for f in "$@"; do
    [ -f "$f" ] || die "no such file: $f"
    case "$f" in *.csv|*.parquet) ;; *) die "$f: the validator only reads *.csv and *.parquet" ;; esac
    files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
done

ensure_validator

# The validator opens focus_validator/utils/currency_codes.csv relative to the
# working directory, so it runs from the directory that holds the package.
PKG_PARENT=$("$VENV/bin/python" -c 'import os, focus_validator; print(os.path.dirname(os.path.dirname(os.path.abspath(focus_validator.__file__))))')
[ -f "$PKG_PARENT/focus_validator/utils/currency_codes.csv" ] || die "currency_codes.csv missing under $PKG_PARENT"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/focus-validate.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# $1 data file (absolute), $2 JUnit XML out, $3 log out, [$4 output type]
run_validator() {
    local type=${4:-unittest}
    local args=(--data-file "$1" --validate-version "$FOCUS_VERSION")
    if [ "$type" = unittest ]; then
        args+=(--output-type unittest --output-destination "$2")
        rm -f "$2"
    fi
    if ! (cd "$PKG_PARENT" && "$VENV/bin/focus-validator" "${args[@]}") >"$3" 2>&1; then
        cat "$3" >&2
        die "focus-validator crashed on $1"
    fi
    if [ "$type" = unittest ] && [ ! -s "$2" ]; then
        cat "$3" >&2
        die "focus-validator wrote no report for $1"
    fi
}

# Reads the validator's JUnit XML: one testcase per rule, named
# "<rule id> :: <check type>", with a <failure>, <error> or <skipped> child
# unless it passed. Compares a file's report with the sample's.
compare() { # $1 sample xml, $2 file xml, $3 display name, $4 console log of the file (may be absent)
    "$VENV/bin/python" - "$@" <<'PY'
import sys, xml.etree.ElementTree as ET

def results(path):
    root = ET.parse(path).getroot()
    out = {}
    for tc in root.iter("testcase"):
        rule = tc.get("name", "").split(" :: ", 1)[0].strip()
        status, msg = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = tc.find(tag)
            if el is not None:
                status, msg = tag, el.get("message", "")
                break
        if not rule:
            print(f"unreadable testcase in {path}: {ET.tostring(tc)!r}", file=sys.stderr)
            sys.exit(2)
        out[rule] = (status, msg)
    declared = int(root.get("tests", "-1"))
    if declared != len(out) or not out:
        print(f"{path}: report declares {declared} tests but lists {len(out)} rules", file=sys.stderr)
        sys.exit(2)
    return out

sample_xml, file_xml, name = sys.argv[1:4]
sample, got = results(sample_xml), results(file_xml)
sample_pass = {r for r, (s, _) in sample.items() if s == "passed"}
failed = {r for r, (s, _) in got.items() if s in ("failure", "error")}
# A rule the sample passes that is missing from the file's report counts as failed.
regress = sorted((failed | (sample_pass - got.keys())) & sample_pass)
print(f"focus-validator {name}: {len(got)} rules checked, {len(failed)} failed, "
      f"{len(regress)} failed that the sample passes")
if regress:
    details = {}
    if len(sys.argv) > 4:
        # Console output blocks: "<rule> failed:\n\tDescription: ..\n\tRows: ..\n\tExample values: ..\n"
        try:
            block, rule = [], None
            for line in open(sys.argv[4], encoding="utf-8", errors="replace"):
                line = line.rstrip("\n")
                if not line.startswith("\t") and line.endswith(" failed:"):
                    rule = line[: -len(" failed:")].strip()
                    details[rule] = []
                elif rule and line.startswith("\t"):
                    text = line.strip()
                    details[rule].append(text if len(text) <= 200 else text[:200] + "...")
        except OSError:
            pass
    for r in regress:
        status, msg = got.get(r, ("missing", "rule missing from the report"))
        print(f"  FAIL {r}: {msg or status}")
        for d in details.get(r, []):
            if not d.startswith("Description:"):
                print(f"       {d}")
    sys.exit(1)
PY
}

log "FOCUS $FOCUS_VERSION rules on the reference sample $(basename "$SAMPLE")"
run_validator "$SAMPLE" "$WORK/sample.xml" "$WORK/sample.log"
"$VENV/bin/python" - "$WORK/sample.xml" <<'PY' >&2
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
bad = [tc.get("name").split(" :: ")[0] for tc in root.iter("testcase")
       if any(tc.find(t) is not None for t in ("failure", "error"))]
print(f"focus_validate: sample: {root.get('tests')} rules, fails {len(bad)} (ignored for the files): {' '.join(bad)}")
PY

status=0
i=0
for f in "${files[@]}"; do
    i=$((i + 1))
    run_validator "$f" "$WORK/file$i.xml" "$WORK/file$i.log"
    out=$(compare "$WORK/sample.xml" "$WORK/file$i.xml" "$f") && rc=0 || rc=$?
    case $rc in
        0) echo "$out" ;;
        1)  # Re-run with console output to show rows and example values.
            run_validator "$f" "" "$WORK/file$i.console" console
            compare "$WORK/sample.xml" "$WORK/file$i.xml" "$f" "$WORK/file$i.console" || true
            status=1 ;;
        *) die "could not compare the reports for $f" ;;
    esac
done
exit $status
