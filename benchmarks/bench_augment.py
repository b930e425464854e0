"""Batched augmentations against straightforward per-sample loops (CPU, batch 32, 16 frames, 112²).

Run: .venv/bin/python benchmarks/bench_augment.py [--bs 32] [--frames 16] [--size 112] [--reps 3] [--threads 2]
Prints, for each function, the best wall time (of runs interleaved with the naive ones) of the batched version and of the per-sample loop, and
naive/batched (> 1: the batched version is faster). The naive versions are the ones in nbs/04_augment.ipynb.
"""
import argparse, math, time
import torch
import kornia
import kornia.augmentation as K
from kornia.enhance import (adjust_brightness_accumulative, adjust_contrast_with_mean_subtraction,
                            adjust_saturation_with_gray_subtraction, adjust_hue)
from kornia.geometry.transform import crop_and_resize
from mac_fame_be.augment import (VideoAugment, MACAugment, FAMEAugment, mac_blend, fame_merge, be_distract,
                                 derangement, alpha_from_index)
from mac_fame_be.masks import mac_masks, fame_masks


# --- naive per-sample versions (as in nbs/04_augment.ipynb) ---------------------------------------------------
def mac_blend_naive(clip, masks, alpha):
    out = torch.empty_like(clip)
    for b in range(clip.shape[0]):
        m, a = masks[b][None], alpha[b][None, :, None, None]
        out[b] = a * (m * clip[b]) + (1 - m) * clip[b]
    return out

def fame_merge_naive(clip, masks, perm):
    out = torch.empty_like(clip)
    for b in range(clip.shape[0]):
        m = masks[b].to(clip.dtype)
        out[b] = clip[b] * m + clip[perm[b]] * (1 - m)
    return out

def be_distract_naive(clip, be_lam, frame_idx):
    out = torch.empty_like(clip)
    for b in range(clip.shape[0]):
        static = clip[b, :, frame_idx[b]][:, None]
        out[b] = (1 - be_lam[b]) * clip[b] + be_lam[b] * static
    return out

def box_points(boxes, flip=None):
    x0, y0, x1, y1 = boxes.unbind(-1)
    if flip is not None: x0, x1 = torch.where(flip, x1, x0), torch.where(flip, x0, x1)
    return torch.stack([torch.stack([x0, y0], -1), torch.stack([x1, y0], -1),
                        torch.stack([x1, y1], -1), torch.stack([x0, y1], -1)], 1)

_STEPS = (adjust_brightness_accumulative, adjust_contrast_with_mean_subtraction,
          adjust_saturation_with_gray_subtraction, lambda x, f: adjust_hue(x, f * 2 * math.pi))

def video_augment_naive(aug, clip, params):
    out = []
    for b in range(clip.shape[0]):
        fr = clip[b].transpose(0, 1)
        T = fr.shape[0]
        y = crop_and_resize(fr, box_points(params['boxes'][b:b + 1], params['flip'][b:b + 1]).repeat(T, 1, 1), aug.crop)
        if params['jitter'][b]:
            y = y.clamp(0, 1)
            for o in params['order'].tolist(): y = _STEPS[o](y, params['factors'][b, o].expand(T))
            y = y.clamp(0, 1)
        if params['gray'][b]: y = kornia.color.rgb_to_grayscale(y).expand(-1, 3, -1, -1)
        if params['blur'][b]:
            s = float(params['sigma'][b])
            y = kornia.filters.gaussian_blur2d(y.contiguous(), (aug.blur_kernel,) * 2, (s, s))
        out.append(y.transpose(0, 1))
    return torch.stack(out)

def mac_augment_naive(clip, k_alpha=4, n_sub=2):
    "Per sample, as the official code does in its data loader: mask, draw the α indices, blend."
    outs, T = [], clip.shape[2]
    for b in range(clip.shape[0]):
        x = clip[b:b + 1]
        idx = torch.randint(k_alpha, (1, n_sub))
        a = alpha_from_index(idx, k_alpha).repeat_interleave(T // n_sub, 1)
        outs.append(mac_blend_naive(x, mac_masks(x), a))
    return torch.cat(outs)

def fame_augment_naive(clip):
    perm = derangement(clip.shape[0])
    masks = torch.cat([fame_masks(clip[b:b + 1]) for b in range(clip.shape[0])])
    return fame_merge_naive(clip, masks, perm)


def timeit_pair(fast, slow, reps):
    "Best of `reps` runs of each, the two interleaved so that a change in machine load hits both alike."
    fast(); slow()
    tf, ts = [], []
    for _ in range(reps):
        t0 = time.perf_counter(); fast(); t1 = time.perf_counter(); slow(); t2 = time.perf_counter()
        tf.append(t1 - t0); ts.append(t2 - t1)
    return min(tf), min(ts)

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
        tb, tn = timeit_pair(fast, slow, a.reps)
        print(f"{name:16s} {tb * 1e3:11.1f} {tn * 1e3:10.1f} {tn / tb:14.2f}")
    # VideoSequential is kornia's own batched container (its naive column: one call per clip); it is listed to
    # compare with VideoAugment's batched column.

if __name__ == '__main__':
    main()
