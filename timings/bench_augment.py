"""Batched augmentations against straightforward per-sample loops (CPU, batch 32, 16 frames, 112²).

Run: .venv/bin/python timings/bench_augment.py [--bs 32] [--frames 16] [--size 112] [--reps 3] [--threads 2]
Prints, for each function, the best wall time (of runs interleaved with the naive ones) of the batched version and of the per-sample loop, and
naive/batched (> 1: the batched version is faster). The naive versions are the chapters' (nbs/03a_transforms.ipynb,
nbs/04_augment.ipynb), imported from the private `_reference` module.
"""
import argparse
import torch
import kornia
import kornia.augmentation as K
from mac_fame_be.transforms import VideoAugment
from mac_fame_be.augment import MACAugment, FAMEAugment, mac_blend, fame_merge, be_distract, derangement
from mac_fame_be._reference import (mac_blend_naive, fame_merge_naive, be_distract_naive, video_augment_naive,
                                    mac_augment_naive, fame_augment_naive, time_pair)   # as nbs/03a_transforms and 04_augment show them


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--bs', type=int, default=32); ap.add_argument('--frames', type=int, default=16)
    ap.add_argument('--size', type=int, default=112); ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    B, T, S = a.bs, a.frames, a.size
    clip = torch.rand(B, 3, T, S, S)
    masks, alpha = torch.rand(B, T, S, S), torch.rand(B, T)
    fmask, perm = (torch.rand(B, S, S) > 0.5).float(), derangement(B)
    lam, k = torch.rand(B) * 0.3, torch.randint(T, (B,))
    aug = VideoAugment(crop=S)
    params = aug.draw_params(B, S, S)
    vs = K.VideoSequential(K.RandomResizedCrop((S, S), scale=(0.2, 1.)), K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
                           K.RandomGrayscale(p=0.2), K.RandomHorizontalFlip(p=0.5),
                           K.RandomGaussianBlur((aug.blur_kernel,) * 2, (0.1, 2.), p=0.5),
                           data_format='BCTHW', same_on_frame=True)
    mac, fame = MACAugment(n_sub=2), FAMEAugment()
    rows = [('mac_blend', lambda: mac_blend(clip, masks, alpha), lambda: mac_blend_naive(clip, masks, alpha)),
            ('fame_merge', lambda: fame_merge(clip, fmask, perm), lambda: fame_merge_naive(clip, fmask, perm)),
            ('be_distract', lambda: be_distract(clip, be_lam=lam, frame_idx=k), lambda: be_distract_naive(clip, lam, k)),
            ('VideoAugment', lambda: aug.apply(clip, params), lambda: video_augment_naive(aug, clip, params)),
            ('VideoSequential', lambda: vs(clip), lambda: [vs(clip[b:b + 1]) for b in range(B)]),
            ('MACAugment', lambda: mac(clip), lambda: mac_augment_naive(clip)),
            ('FAMEAugment', lambda: fame(clip), lambda: fame_augment_naive(clip))]
    print(f"CPU, {a.threads} threads, batch {B}, {T} frames, {S}x{S}, best of {a.reps} interleaved runs (torch {torch.__version__}, kornia {kornia.__version__})")
    print(f"{'function':16s} {'batched ms':>11s} {'naive ms':>10s} {'naive/batched':>14s}")
    for name, fast, slow in rows:
        tb, tn = time_pair(fast, slow, a.reps)
        print(f"{name:16s} {tb * 1e3:11.1f} {tn * 1e3:10.1f} {tn / tb:14.2f}")
    # VideoSequential is kornia's own batched container (its naive column: one call per clip); it is listed to
    # compare with VideoAugment's batched column.

if __name__ == '__main__':
    main()
