#!/usr/bin/env python3
"""Extract the FOCUS column table from a checkout of the FOCUS_Spec repository.

Usage:
    python3 extract.py CHECKOUT [--focus-version 1.2] [--tag-commit SHA]
                                [--dataset cost_and_usage] [--header]

CHECKOUT is a directory holding the repository's files at one commit (a
`git worktree`, a clone checked out at a tag, or `git archive TAG | tar -x`).
Rows are written to standard output as CSV with the columns

    focus_version,tag_commit,column_id,display_name,column_type,
    feature_level,allows_nulls,data_type,introduced,allowed_values

Where the columns live:
  * up to 1.2: specification/columns/*.md, in the order of
    specification/columns/columns.mdpp (the !INCLUDE list the published
    document is built from);
  * from 1.3: specification/datasets/<dataset>/columns/ (default dataset
    cost_and_usage), again following that folder's columns.mdpp.

From each column page it reads the "## Column ID", "## Display Name" and
"## Introduced (version)" sections and the "Content Constraints" table
(Column type, Feature level, Allows nulls, Data type). allowed_values is
read from the first Markdown table after a line "Allowed values:" (or a
heading "Allowed values"); the value column is the one headed "Value", else
the one headed like the column's display name (ServiceCategory,
ServiceSubcategory), else the first. Values are joined with "|"; the field is
empty when the page has no allowed-values table. Markdown emphasis and
backticks are stripped from values.

Only the Python standard library is used.
"""
import argparse
import csv
import os
import re
import sys

HEADER = [
    "focus_version", "tag_commit", "column_id", "display_name", "column_type",
    "feature_level", "allows_nulls", "data_type", "introduced", "allowed_values",
]


def column_dir(checkout, dataset):
    old = os.path.join(checkout, "specification", "columns")
    new = os.path.join(checkout, "specification", "datasets", dataset, "columns")
    if os.path.isdir(new):
        return new
    if os.path.isdir(old):
        return old
    sys.exit("no column folder found under %s (looked for %s and %s)" % (checkout, old, new))


def column_files(folder):
    mdpp = os.path.join(folder, "columns.mdpp")
    if os.path.exists(mdpp):
        names = []
        with open(mdpp, encoding="utf-8") as f:
            for line in f:
                m = re.match(r'\s*!INCLUDE\s+"([^"]+\.md)"', line)
                if m:
                    names.append(m.group(1))
        if names:
            return [os.path.join(folder, n) for n in names]
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".md"))


def sections(text):
    """Map lower-cased '## ' heading -> list of body lines (top-level ## only)."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^##\s+(.*?)\s*$", line)
        if m:
            cur = m.group(1).strip().lower()
            out.setdefault(cur, [])
            continue
        if cur is not None:
            out[cur].append(line)
    return out


def first_value(lines):
    for line in lines:
        s = line.strip()
        if s:
            return s
    return ""


def split_row(line):
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|"):
        s = s[:-1]
    return [c.strip() for c in s.split("|")]


def is_rule(cells):
    return all(re.fullmatch(r":?-{2,}:?", c.replace(" ", "")) for c in cells if c) and any(cells)


def read_table(lines, start):
    """Read the Markdown table beginning at or after lines[start]."""
    i = start
    while i < len(lines) and not lines[i].strip().startswith("|"):
        if lines[i].strip().startswith("#"):
            return None
        i += 1
    rows = []
    while i < len(lines) and lines[i].strip().startswith("|"):
        rows.append(split_row(lines[i]))
        i += 1
    if len(rows) < 2 or not is_rule(rows[1]):
        return None
    return rows[0], rows[2:]


def clean(value):
    v = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", value)  # [text](link) -> text
    v = v.replace("`", "").replace("*", "").replace("\\", "")
    return v.strip()


def constraints(text):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^##\s+content constraints\s*$", line.strip(), re.I):
            t = read_table(lines, i + 1)
            if t:
                return {clean(r[0]).lower(): clean(r[1]) for r in t[1] if len(r) >= 2}
    return {}


def allowed_values(text, display_name):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        s = line.strip().rstrip(":").strip("#* ").strip().lower()
        if s == "allowed values":
            t = read_table(lines, i + 1)
            if not t:
                continue
            head = [clean(h).lower() for h in t[0]]
            if "value" in head:
                k = head.index("value")
            elif display_name.lower() in head:
                k = head.index(display_name.lower())
            else:
                k = 0
            vals = [clean(r[k]) for r in t[1] if len(r) > k and clean(r[k])]
            return "|".join(vals)
    return ""


def parse(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    sec = sections(text)
    cid = first_value(sec.get("column id", []))
    name = first_value(sec.get("display name", []))
    intro = first_value(sec.get("introduced (version)", []))
    c = constraints(text)
    return {
        "column_id": clean(cid),
        "display_name": clean(name),
        "column_type": c.get("column type", ""),
        "feature_level": c.get("feature level", ""),
        "allows_nulls": c.get("allows nulls", ""),
        "data_type": c.get("data type", ""),
        "introduced": clean(intro),
        "allowed_values": allowed_values(text, clean(name)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkout")
    ap.add_argument("--focus-version", default="")
    ap.add_argument("--tag-commit", default="")
    ap.add_argument("--dataset", default="cost_and_usage",
                    help="dataset folder for 1.3+ layouts (default cost_and_usage)")
    ap.add_argument("--header", action="store_true", help="write the CSV header first")
    a = ap.parse_args()
    w = csv.writer(sys.stdout, lineterminator="\n")
    if a.header:
        w.writerow(HEADER)
    folder = column_dir(a.checkout, a.dataset)
    for path in column_files(folder):
        row = parse(path)
        missing = [k for k in ("column_id", "column_type", "feature_level", "allows_nulls", "data_type")
                   if not row[k]]
        if missing:
            print("warning: %s: missing %s" % (os.path.relpath(path, a.checkout), ", ".join(missing)),
                  file=sys.stderr)
        w.writerow([a.focus_version, a.tag_commit] + [row[k] for k in HEADER[2:]])


if __name__ == "__main__":
    main()
