"""Build a checkpoint with GPT-2's shapes and random weights, in seconds, for the README's steps that need the
real GPT-2 where it cannot be downloaded:

    .venv/bin/python scripts/gpt2_shaped.py /tmp/gpt2-shaped            # 124M's shapes (about 500 MB)
    .venv/bin/python scripts/gpt2_shaped.py /tmp/gpt2-medium-shaped medium

With it, shapes, times and memory mean what they mean for GPT-2 (--trace, --kv-cache against the naive loop,
the grids' cost); the tokens it chooses and every probability mean nothing: its weights were never trained.
It is the checkpoint scripts/benchmark.py builds, with GPT-2's real tokenizer files.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchmark import SHAPES, build_checkpoint  # noqa: E402

if __name__ == "__main__":
    if not 2 <= len(sys.argv) <= 3 or (len(sys.argv) == 3 and sys.argv[2] not in SHAPES):
        sys.exit(f"usage: {sys.argv[0]} FOLDER [{'|'.join(SHAPES)}]")
    folder = build_checkpoint(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "small")
    print(f"{folder}: a GPT-2-shaped checkpoint with random weights; try ./run.sh \"Hello\" --model {folder} --trace")
