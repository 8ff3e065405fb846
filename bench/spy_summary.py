"""Summarise py-spy raw (collapsed) stacks: where a process spends its samples.

    python bench/spy_summary.py SAMPLES.txt [--top 25] [--match core/ dashboard/ panel bokeh datashader]
        [--thread MainThread] [--under DocHandler.get]

Prints the sample count, the functions with the most *inclusive* samples (a
function counts once per sample however deep it recurses), and for each
``--match`` substring the share of samples with a frame whose file contains it.
Frames are ``function (file:line)``; the line is dropped so a function counts as one.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def read(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        head, _, count = line.rpartition(" ")
        if not head or not count.isdigit():
            continue
        stacks.append((head.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "wt-lat/", "main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{match['func']} ({file})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", nargs="*", default=[])
    parser.add_argument("--buckets", nargs="*", default=[],
                        help="ordered substrings: each sample counts once, for the first that one of its frames holds")
    parser.add_argument("--thread", default=None, help="only samples of threads whose name contains this")
    parser.add_argument("--under", default=None, help="only samples with a frame containing this; "
                        "functions are then listed below its first occurrence")
    args = parser.parse_args()
    for path in args.samples:
        stacks = read(path)
        if args.thread:
            stacks = [(f, c) for f, c in stacks if args.thread in f[0]]
        if args.under:
            cut = []
            for frames, count in stacks:
                hits = [i for i, f in enumerate(frames) if args.under in f]
                if hits:
                    cut.append((frames[:1] + frames[hits[0]:], count))
            stacks = cut
        total = sum(c for _, c in stacks)
        inclusive: Counter = Counter()
        matched: Counter = Counter()
        threads: Counter = Counter()
        for frames, count in stacks:
            threads[frames[1] if frames and frames[0].startswith("process") and len(frames) > 1 else frames[0]] += count
            for name in {short(f) for f in frames if not f.startswith(("process", "thread"))}:
                inclusive[name] += count
            for pattern in args.match:
                if any(pattern in f for f in frames):
                    matched[pattern] += count
        print(f"== {path}: {total} samples")
        for thread, count in threads.most_common(8):
            print(f"  thread {thread}: {count}")
        if args.buckets:
            buckets: Counter = Counter()
            for frames, count in stacks:
                name = next((b for b in args.buckets if any(b in f for f in frames)), "(other)")
                buckets[name] += count
            for name in [*args.buckets, "(other)"]:
                print(f"  bucket {name!r}: {buckets[name]} ({buckets[name] / max(total, 1):.0%})")
        for pattern in args.match:
            print(f"  frames matching {pattern!r}: {matched[pattern]} ({matched[pattern] / max(total, 1):.0%})")
        for name, count in inclusive.most_common(args.top):
            print(f"  {count:6d} {count / max(total, 1):5.0%}  {name}")


if __name__ == "__main__":
    main()
