"""Reader time and peak memory on large word2vec files, against the size of the result.

Synthesises word2vec text files (header + one line per word, 6 decimals, as
gensim and fastText write them) of 400,000 x 50 and 400,000 x 300 in a
temporary folder, then reads each in a fresh subprocess and reports the wall
time and the peak resident memory above the baseline of that process (the
baseline is taken after numpy, pandas and embmap are imported, so import
costs are not counted as reading costs, and after reading a 3-line file
of the same kind, so lazily imported modules are not counted either). ``result MB`` is the float32
matrix alone (n x d x 4 bytes); the word list adds about 60 bytes per word.

Usage::

    python benchmarks/bench_io.py                       # embmap, and gensim if installed
    python benchmarks/bench_io.py --old-io OTHER_IO.py  # also another embmap/io.py, to compare
    python benchmarks/bench_io.py --shapes 400000x50    # one size only

Timings depend on the machine and its load; run it on an idle machine for
numbers to compare.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import importlib.util, json, sys, time
import numpy as np, pandas  # noqa: F401  (imported before the baseline)

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024  # MB
    return float("nan")

reader, path = sys.argv[1], sys.argv[2]
if reader == "embmap":
    from embmap.io import load_embedding as read
elif reader == "gensim":
    from gensim.models import KeyedVectors
    read = lambda p: KeyedVectors.load_word2vec_format(p, binary=False)
else:  # a path to another io.py, read the same way
    spec = importlib.util.spec_from_file_location("old_io", reader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_io"] = module
    spec.loader.exec_module(module)
    read = module.load_embedding
# Warm-up on a tiny file of the same kind, so lazy imports are not counted as reading.
import os, tempfile
tiny = os.path.join(tempfile.mkdtemp(), "tiny.txt")
with open(path) as handle, open(tiny, "w") as out:
    header = handle.readline().split()
    dim = header[1] if len(header) == 2 else None
    out.write(f"3 {dim}\n" if dim else "")
    for _ in range(3):
        out.write(handle.readline())
read(tiny)
base = rss("VmRSS")
start = time.perf_counter()
result = read(path)
seconds = time.perf_counter() - start
vectors = getattr(result, "vectors")
print(json.dumps({"seconds": seconds, "peak_mb": rss("VmHWM") - base,
                  "shape": list(vectors.shape), "dtype": str(vectors.dtype),
                  "checksum": float(np.float64(vectors[::997].sum()))}))
"""


def synthesise(path: Path, n: int, d: int, seed: int = 0, pool: int = 2000) -> None:
    """A word2vec text file with a header, ``n`` words ``w0 ...`` and normal values.

    Each row's values are drawn from a pool of ``pool`` pre-formatted random
    rows (6 decimals): formatting 120 million floats would dominate the
    benchmark, and a reader's cost does not depend on rows repeating.
    """
    rng = np.random.default_rng(seed)
    rows = [" ".join(f"{v:.6f}" for v in rng.normal(scale=0.4, size=d)) for _ in range(pool)]
    pick = rng.integers(pool, size=n)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{n} {d}\n")
        handle.writelines(f"w{i} {rows[pick[i]]}\n" for i in range(n))


def measure(reader: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, reader, str(path)], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["400000x50", "400000x300"])
    parser.add_argument("--old-io", help="path to another embmap/io.py to compare against")
    parser.add_argument("--no-gensim", action="store_true")
    args = parser.parse_args(argv)
    readers = ["embmap"]
    if args.old_io:
        readers.append(str(Path(args.old_io).resolve()))
    if not args.no_gensim:
        try:
            import gensim  # noqa: F401

            readers.append("gensim")
        except ImportError:
            pass
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for shape in args.shapes:
            n, d = (int(x) for x in shape.lower().split("x"))
            path = Path(folder) / f"synthetic_{n}x{d}.txt"
            start = time.perf_counter()
            synthesise(path, n, d)
            size_mb = path.stat().st_size / 2**20
            print(f"{shape}: wrote {size_mb:.0f} MB of text in {time.perf_counter() - start:.0f} s",
                  flush=True)
            result_mb = n * d * 4 / 2**20
            for reader in readers:
                r = measure(reader, path)
                name = "other io.py" if reader not in ("embmap", "gensim") else reader
                row = {"file": shape, "reader": name, "result_mb": round(result_mb), **r}
                if "peak_mb" in r:
                    row["peak_over_result"] = round(r["peak_mb"] / result_mb, 2)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| file | reader | time (s) | peak above baseline (MB) | result (MB) | peak / result |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['file']} | {r['reader']} | error: {r['error']} | | | |")
        else:
            print(f"| {r['file']} | {r['reader']} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | "
                  f"{r['result_mb']} | {r['peak_over_result']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
