"""All performance benchmarks, one after the other, with the machine they ran on.

Runs ``superpixels.py``, ``inference.py``, ``training.py`` (with a
``tiny_cnn`` and a ``resnet18`` classifier) and ``memory.py`` in fresh
processes, one at a time (running them side by side would make them compete
for the cores and spoil every ratio), prints each one's tables and writes
them, with a header describing the machine, to ``<output-dir>/performance.txt``.
The tables in ``docs/benchmarks.rst`` come from this command.

Run:  .venv/bin/python benchmarks/performance.py [--output-dir benchmarks/results]
      (or ``make benchmark-performance``; about 9 minutes on 2 CPU cores)
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from _common import cpu_name

HERE = Path(__file__).resolve().parent

#: (script, extra arguments), in the order they run.
BENCHMARKS = [
    ("superpixels.py", []),
    ("inference.py", []),
    ("training.py", ["--backbones", "tiny_cnn", "resnet18"]),
    ("memory.py", []),
]


def machine_header():
    lines = [f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; "
             f"Python {platform.python_version()}, torch {torch.__version__}"]
    if torch.cuda.is_available():
        lines.append(f"GPU: {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})")
    else:
        lines.append("GPU: none (CPU only: read the ratios; absolute times depend on the machine)")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    sections = [machine_header()]
    print(sections[0], flush=True)
    for script, extra in BENCHMARKS:
        command = [sys.executable, str(HERE / script), *extra]
        title = f"$ python benchmarks/{script} {' '.join(extra)}".rstrip()
        print(f"\n{title}", flush=True)
        start = time.perf_counter()
        # stderr (torch's profiler chatter) is left on the terminal.
        result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        print(result.stdout, end="", flush=True)
        sections.append(f"{title}\n({time.perf_counter() - start:.0f} s)\n\n{result.stdout}")
    out = args.output_dir / "performance.txt"
    out.write_text("\n\n".join(sections))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
