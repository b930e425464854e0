"""Batched `mac_masks` / `fame_masks` against a per-sample loop of the naive versions from nbs/03_masks.ipynb.

CPU, batch 32, 16 frames, 112×112. Run: `.venv/bin/python benchmarks/bench_masks.py [--bs 32] [--reps 3] [--threads 1]`.
A ratio below 1 (batched slower than the loop) is a defect."""
import argparse, math, time
import torch, torch.nn.functional as F, kornia
from mac_fame_be.masks import mac_masks, fame_masks

# The naive versions, as shown in nbs/03_masks.ipynb (one clip at a time).
def mac_mask_naive(x, lam=30/255, m=0.5, soft=True, dilate=True):
    g = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    bg, out = g[0].clone(), []
    for t in range(len(g)):
        d = (g[t] - bg).abs()
        bg = (1 - m) * g[t] + m * bg
        f = torch.where(d > lam, d, torch.zeros_like(d))
        if soft: mk = (f - f.min()) / (f.max() - f.min()) if f.max() > f.min() else torch.zeros_like(f)
        else: mk = (d > lam).float()
        if dilate:
            p = F.pad(mk, (1, 0, 1, 0))
            mk = torch.maximum(mk, torch.maximum(p[:-1, 1:], p[1:, :-1]))
        out.append(mk)
    out[0] = out[1]
    return torch.stack(out)

def fame_score_naive(x, hue_fix=True):
    C, T, H, W = x.shape
    g = int(0.1 * min(H, W)) // 2 * 2 + 1
    blur = lambda a: kornia.filters.gaussian_blur2d(a[None, None], (g, g), (g / 3, g / 3))[0, 0]
    norm = lambda a: (a - a.min()) / max(float(a.max() - a.min()), 1e-8)
    seed = norm(blur(sum((x[:, t + 1] - x[:, t]).abs().sum(0) for t in range(T - 1)) / (T - 1))).flatten()
    h, s, v = kornia.color.rgb_to_hsv(x.mean(1)[None])[0]
    if not hue_fix: h = h * 2 * math.pi
    q = lambda a: torch.round(a * 9).long().clamp(0, 9)
    col = (q((s * torch.cos(h) + 1) / 2) + 10 * q((s * torch.sin(h) + 1) / 2) + 100 * q(v)).flatten()
    order = seed.argsort(descending=True)
    fg, bg = col[order[:int(0.5 * H * W)]], col[order.flip(0)[:int(0.1 * H * W)]]
    p_fg = torch.bincount(fg, minlength=1000).float(); p_fg /= p_fg.sum()
    p_bg = torch.bincount(bg, minlength=1000).float() + 1; p_bg /= p_bg.sum()
    r = (p_fg[col] / (p_fg[col] + p_bg[col])).view(H, W)
    return norm(blur(r))

def fame_mask_naive(x, beta=0.5, hue_fix=True):
    sc = fame_score_naive(x, hue_fix).flatten()
    mk = torch.zeros_like(sc); mk[sc.argsort(descending=True)[:int(beta * sc.numel())]] = 1
    return mk.view_as(x[0, 0])

def bench(f, reps):
    f()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bs', type=int, default=32); ap.add_argument('--frames', type=int, default=16)
    ap.add_argument('--size', type=int, default=112); ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: leave the default)')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    clip = torch.rand(a.bs, 3, a.frames, a.size, a.size, generator=torch.Generator().manual_seed(0))
    print(f"CPU, torch threads {torch.get_num_threads()}, clip {tuple(clip.shape)}, best of {a.reps}")
    rows = [('mac_masks (soft, dilate)', lambda: mac_masks(clip), lambda: [mac_mask_naive(x) for x in clip]),
            ('mac_masks (hard)', lambda: mac_masks(clip, soft=False), lambda: [mac_mask_naive(x, soft=False) for x in clip]),
            ('fame_masks', lambda: fame_masks(clip), lambda: [fame_mask_naive(x) for x in clip])]
    for name, batched, loop in rows:
        tb, tl = bench(batched, a.reps), bench(loop, a.reps)
        print(f"{name:26s} batched {tb * 1e3:8.1f} ms   per-sample loop {tl * 1e3:8.1f} ms   speed-up x{tl / tb:.2f}")

if __name__ == '__main__': main()
