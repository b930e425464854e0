"""Batched `mac_masks` / `fame_masks` against a per-sample loop of the naive versions of nbs/03_masks.ipynb (`_reference`).

CPU, batch 32, 16 frames, 112×112. Run: `.venv/bin/python timings/bench_masks.py [--bs 32] [--reps 3] [--threads 1]`.
A ratio below 1 (batched slower than the loop) is a defect."""
import argparse
import torch
from mac_fame_be.masks import mac_masks, fame_masks
from mac_fame_be._reference import mac_mask_naive, fame_mask_naive, time_pair   # the naive versions nbs/03_masks.ipynb shows

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bs', type=int, default=32); ap.add_argument('--frames', type=int, default=16)
    ap.add_argument('--size', type=int, default=112); ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: leave the default)')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    clip = torch.rand(a.bs, 3, a.frames, a.size, a.size, generator=torch.Generator().manual_seed(0))
    print(f"CPU, torch threads {torch.get_num_threads()}, clip {tuple(clip.shape)}, best of {a.reps} interleaved runs")
    rows = [('mac_masks (soft, dilate)', lambda: mac_masks(clip), lambda: [mac_mask_naive(x) for x in clip]),
            ('mac_masks (hard)', lambda: mac_masks(clip, soft=False), lambda: [mac_mask_naive(x, soft=False) for x in clip]),
            ('fame_masks', lambda: fame_masks(clip), lambda: [fame_mask_naive(x) for x in clip])]
    for name, batched, loop in rows:
        tb, tl = time_pair(batched, loop, a.reps)
        print(f"{name:26s} batched {tb * 1e3:8.1f} ms   per-sample loop {tl * 1e3:8.1f} ms   speed-up x{tl / tb:.2f}")

if __name__ == '__main__': main()
