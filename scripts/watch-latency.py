#!/usr/bin/env python3
"""How long `sidebyside verify --watch` takes to show a block's new verdict after a save.

    scripts/watch-latency.py [PAGES] [EDITS]        (defaults: 334 pages, i.e. 1,002 blocks; 5 edits)

Writes a load tree (benches/load/make-docs.sh, three blocks a page), fills the verdict cache with
one `verify`, starts `verify --watch TREE --out OUT`, then EDITS times: edits one line of one
block (a comment, so the block still passes), notes the moment the file was saved, and waits for
the first line of the watch's next round on its standard output (the verdicts come first; the
reports of --out are written after them). For each edit it prints the time from the save to that
line, the edited block's own run time (its `wall_s` in OUT/results.json), and the
difference: what the watch adds to the block's own run.

Uses target/release/sidebyside (build it first: cargo build --release), or $SIDEBYSIDE. Prints
the machine's load before and after.
"""
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    pages = int(sys.argv[1]) if len(sys.argv) > 1 else 334
    edits = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    binary = os.environ.get("SIDEBYSIDE", str(ROOT / "target/release/sidebyside"))
    if not os.access(binary, os.X_OK):
        print(f"no {binary}: run cargo build --release first (or set SIDEBYSIDE)", file=sys.stderr)
        return 2
    print("load before:", " ".join(open("/proc/loadavg").read().split()[:3]), f"on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        tree, out = work / "tree", work / "out"
        subprocess.run([str(ROOT / "benches/load/make-docs.sh"), str(tree), str(pages)],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"filling the verdict cache: {pages * 3} blocks ...", flush=True)
        subprocess.run([binary, "verify", str(tree)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        watch = subprocess.Popen([binary, "verify", "--watch", str(tree), "--out", str(out)],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            wait_for_round(watch)
            page = tree / "page-001.md"
            rows = []
            for edit in range(1, edits + 1):
                text = page.read_text()
                # One line of the first block: its first line gets a new trailing comment.
                marker = "async function fetchData() {"
                edited = text.replace(marker, f"{marker} // edit {edit} at {time.time()}", 1)
                time.sleep(0.3)  # the last round's output is all read; the machine settles
                saved = write_and_time(page, edited)
                shown = wait_for_verdicts(watch)
                wait_for_round(watch)  # the round's end; --out is written by then
                wall = block_wall(out / "results.json", page)
                rows.append((shown - saved, wall))
                print(f"   edit {edit}: verdict shown {1000 * (shown - saved):.0f} ms after the save; "
                      f"the block ran {1000 * wall:.0f} ms; the watch added {1000 * (shown - saved - wall):.0f} ms",
                      flush=True)
            added = [latency - wall for latency, wall in rows]
            print(f"median added by the watch: {1000 * statistics.median(added):.0f} ms "
                  f"(tree of {pages * 3} blocks, {edits} edits)")
        finally:
            watch.send_signal(signal.SIGINT)
            try:
                watch.wait(timeout=20)
            except subprocess.TimeoutExpired:
                watch.kill()
    print("load after:", " ".join(open("/proc/loadavg").read().split()[:3]))
    return 0


def write_and_time(path: pathlib.Path, text: str) -> float:
    """Writes the file as an editor does (a new file renamed over the old) and returns the
    monotonic moment the save was complete."""
    temporary = path.with_name(path.name + ".saving")
    temporary.write_text(text)
    os.replace(temporary, path)
    return time.monotonic()


def wait_for_verdicts(watch: subprocess.Popen) -> float:
    """The monotonic moment the round's first line (its verdicts come first) arrived."""
    line = watch.stdout.readline()
    if not line:
        raise SystemExit("the watch ended before it showed a round")
    return time.monotonic()


def wait_for_round(watch: subprocess.Popen) -> None:
    for line in watch.stdout:
        if line.startswith("[watch]"):
            return
    raise SystemExit("the watch ended before its round finished")


def block_wall(results: pathlib.Path, page: pathlib.Path) -> float:
    """The longest own run time of the page's blocks that ran again (not from the cache)."""
    document = json.loads(results.read_text())
    fresh = [run["wall_s"] for run in document["runs"]
             if run["source"]["path"].endswith(page.name) and "cached" not in run]
    if not fresh:
        raise SystemExit(f"no fresh run of {page.name} in {results}")
    return max(fresh)


if __name__ == "__main__":
    sys.exit(main())
