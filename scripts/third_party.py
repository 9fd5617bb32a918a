#!/usr/bin/env python3
"""Write THIRD-PARTY.md: every Rust crate compiled into the shipped programs (normal
dependencies of jingwei-cli and jingwei-desktop for one target, from `cargo metadata`) and
every npm package bundled into the web UI, with version, licence and repository.

Usage: third_party.py TARGET_TRIPLE OUT.md
"""
import collections
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ROOTS = ("jingwei-cli", "jingwei-desktop")


def crates(triple):
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--locked", "--format-version", "1", "--filter-platform", triple],
        cwd=ROOT))
    pkgs = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    todo = [i for i, p in pkgs.items() if p["name"] in ROOTS]
    seen = set()
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        for d in nodes[i]["deps"]:
            # Normal dependencies only: build scripts and dev-dependencies are not shipped.
            if any(k["kind"] is None for k in d["dep_kinds"]):
                todo.append(d["pkg"])
    out = [pkgs[i] for i in seen if pkgs[i]["source"]]  # the workspace's own crates excluded
    return sorted(out, key=lambda p: (p["name"], p["version"]))


def npm():
    ui = ROOT / "ui"
    pkg = json.loads((ui / "package.json").read_text())
    # What the page imports is bundled into it, devDependency or not; the build tools are not.
    build_tools = {"typescript", "vite"}
    deps = {**pkg.get("dependencies", {}),
            **{k: v for k, v in pkg.get("devDependencies", {}).items() if k not in build_tools}}
    rows = []
    for name in sorted(deps):
        pj = json.loads((ui / "node_modules" / name / "package.json").read_text())
        repo = pj.get("repository", "")
        repo = repo.get("url", "") if isinstance(repo, dict) else repo
        rows.append((name, pj["version"], pj.get("license", "?"), repo))
    return rows


def main():
    triple, out = sys.argv[1], pathlib.Path(sys.argv[2])
    cs = crates(triple)
    ns = npm()
    count = collections.Counter(p.get("license") or "?" for p in cs)
    lines = [
        "# Third-party software in Jingwei",
        "",
        f"The programs of this package ({', '.join(ROOTS)} for `{triple}`) compile in "
        f"{len(cs)} Rust crates from crates.io and bundle {len(ns)} npm packages in the web UI. "
        "They link the system's GDAL, PROJ, GEOS, SQLite, WebKitGTK and their dependencies, "
        "which Debian packages with their own copyright files.",
        "",
        "## Licences of the Rust crates",
        "",
        "| licence (SPDX) | crates |",
        "|---|---:|",
    ]
    lines += [f"| {lic} | {n} |" for lic, n in count.most_common()]
    lines += ["", "## Rust crates", "", "| crate | version | licence | repository |", "|---|---|---|---|"]
    lines += [f"| {p['name']} | {p['version']} | {p.get('license') or p.get('license_file') or '?'} | "
              f"{p.get('repository') or ''} |" for p in cs]
    lines += ["", "## npm packages in the web UI", "", "| package | version | licence | repository |", "|---|---|---|---|"]
    lines += [f"| {n} | {v} | {l} | {r} |" for n, v, l, r in ns]
    out.write_text("\n".join(lines) + "\n")
    unknown = [p["name"] for p in cs if not p.get("license")]
    print(f"third_party: {len(cs)} crates, {len(ns)} npm packages"
          + (f"; without an SPDX licence: {', '.join(unknown)}" if unknown else ""))


if __name__ == "__main__":
    main()
