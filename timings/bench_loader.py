"""Clips/s per core of the training loader on web-encoded videos and on their `mfb prepare` copy, interleaved.

The real training path: `VideoClipDataset.__getitem__` with FAME's two 16-frame windows at stride 2 (`--mode clip`:
one window), uint8 collation, `video_dls` with N worker processes of one torch thread each. The videos (320×240 at
25 fps and 340×256 at 30 fps, 10 s, x264 defaults: keyframe interval 250, B-frames, moving content) are generated
once into `--cache` and prepared once (`prepare_dataset`, resumable), so reruns measure only. A clip is one 16-frame
window; per core = clips/s ÷ workers. `ClipToFloat` is left out: in training it runs on the GPU.

    .venv/bin/python timings/bench_loader.py [--workers 1 2] [--videos 16] [--batches 10] [--reps 3]
"""
import argparse, os, statistics, time, av, numpy as np, torch
from pathlib import Path
from fastai.data.core import Pipeline
from mac_fame_be.data import UCF101, VideoClipDataset
from mac_fame_be.loaders import video_dls
from mac_fame_be.prepare import prepare_dataset

GPU_GOAL = 600   # clips/s that R(2+1)D-18 at 16×112² trains at on one GPU (the figure)

def make_video(path, w, h, fps, seconds=10, seed=0):
    "Camera pan over a detailed texture, a moving ball, sensor noise; x264's defaults (keyint 250, B-frames)."
    rng = np.random.default_rng(seed)
    H, W = h + seconds * fps, w + 2 * seconds * fps       # texture large enough for the pan
    tex = sum(np.kron(rng.uniform(-1, 1, (H // k + 1, W // k + 1, 3)), np.ones((k, k, 1)))[:H, :W] * a
              for k, a in [(1, 25), (4, 35), (16, 45), (64, 40)]) + 128
    yy, xx = np.mgrid[0:h, 0:w]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), 'w') as c:
        s = c.add_stream('libx264', rate=fps)
        s.width, s.height, s.pix_fmt = w, h, 'yuv420p'
        for t in range(seconds * fps):
            ph = t / fps
            img = tex[t // 2:t // 2 + h, 2 * t:2 * t + w].copy()
            cx, cy = w / 2 + w / 3 * np.sin(ph * 2 + seed), h / 2 + h / 3 * np.cos(ph * 1.7)
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < (h / 6) ** 2] = (240, 40, 40)
            img += rng.normal(0, 3, img.shape)
            for p in s.encode(av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format='rgb24')): c.mux(p)
        for p in s.encode(): c.mux(p)

def make_dataset(root, n_videos):
    "A UCF101-layout folder of `n_videos` videos, half 320×240 at 25 fps, half 340×256 at 30 fps (cached)."
    root = Path(root); lst = root/'trainlist01.txt'
    names = [f"{c}/v_{c}_g{k:02d}_c01.mp4" for k in range(n_videos) for c in ['A' if k % 2 == 0 else 'B']]
    if lst.exists() and lst.read_text().split() [::2] == names and all((root/n).exists() for n in names): return root
    for k, n in enumerate(names):
        if not (root/n).exists():
            tmp = root/(n + '.part.mp4')
            make_video(tmp, *((320, 240, 25) if k % 2 == 0 else (340, 256, 30)), seed=k); os.replace(tmp, root/n)
    (root/'classInd.txt').write_text('1 A\n2 B\n')
    lst.write_text(''.join(f"{n} {1 + (k % 2)}\n" for k, n in enumerate(names)))
    return root

def clips_per_s(ds, workers, bs, batches, per_item):
    "Clips/s of `video_dls(ds)` with `workers` processes over `batches` batches after one warm-up batch."
    dl = video_dls(ds, bs=bs, num_workers=workers).train
    dl.after_batch = Pipeline([])          # no ClipToFloat: on the GPU in training
    it = iter(dl); next(it)                # workers started, one batch out
    t = time.perf_counter()
    n = sum(next(it)[0].shape[0] for _ in range(batches))
    dt = time.perf_counter() - t
    it.close(); dl.shutdown_workers()
    return n * per_item / dt

def main(workers=(1, 2), n_videos=16, batches=10, reps=3, bs=8, size=(128, 170), mode='two_clips', short_side=128, gop=16,
         cache=None):
    torch.set_num_threads(1)
    cache = Path(cache or os.environ.get('MFB_BENCH_CACHE', Path.home()/'.cache'/'mac_fame_be'/'bench_loader'))
    src = make_dataset(cache/'original', n_videos)
    dst = cache/f'prepared_s{short_side}_g{gop}'
    prepare_dataset(src, dst, short_side=short_side, gop=gop, workers=1, progress=False)
    n_items, per_item = (batches + 1) * bs * max(workers), 2 if mode == 'two_clips' else 1
    def dataset(root):
        items = UCF101(root).items
        return VideoClipDataset((items * -(-n_items // len(items)))[:n_items], n_frames=16, stride=2, size=size, mode=mode)
    data = dict(original=dataset(src), prepared=dataset(dst))
    load0 = os.getloadavg()
    res = {(w, k): [] for w in workers for k in data}
    for r in range(reps):                  # interleaved: every configuration once per round
        for w in workers:
            for k, ds in data.items(): res[w, k].append(clips_per_s(ds, w, bs, batches, per_item))
    load1 = os.getloadavg()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    print(f"machine: {cores} cores, load average {load0[0]:.2f} before, {load1[0]:.2f} after (1 min)")
    mb = lambda root: sum(p.stat().st_size for p, _ in UCF101(root).items) / 2**20
    print(f"videos: {n_videos} (320x240 25 fps and 340x256 30 fps, 10 s, x264 defaults) in {src}: {mb(src):.1f} MB; "
          f"prepared (short side {short_side}, gop {gop}, crf 23, fastdecode): {mb(dst):.1f} MB")
    print(f"loader: {mode} (16 frames, stride 2, decoded at {size[0]}x{size[1]}), bs {bs}, {batches} batches per measurement, "
          f"{reps} interleaved rounds (median); workers with 1 torch thread each, main process 1 thread; ClipToFloat left out")
    print(f"{'workers':>7} {'data':>9} {'clips/s':>8} {'clips/s/core':>12} {'16 cores':>9} {'x GPU goal':>10}")
    for w in workers:
        for k in data:
            v = statistics.median(res[w, k])
            print(f"{w:>7} {k:>9} {v:8.1f} {v / w:12.1f} {16 * v / w:9.0f} {16 * v / w / GPU_GOAL:10.2f}")
    for w in workers:
        ratio = statistics.median(res[w, 'prepared']) / statistics.median(res[w, 'original'])
        per_round = ', '.join(f"{p / o:.2f}" for p, o in zip(res[w, 'prepared'], res[w, 'original']))
        print(f"ratio prepared / original, {w} worker(s): {ratio:.2f}x (rounds: {per_round})")
    best = max(statistics.median(res[w, 'prepared']) / w for w in workers)
    print(f"GPU goal {GPU_GOAL} clips/s (R(2+1)D-18, 16x112^2); targets: prepared >= 3x original per core, "
          f">= 100 clips/s per core (best prepared per core here: {best:.1f})")
    return res

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    p.add_argument('--videos', type=int, default=16)
    p.add_argument('--batches', type=int, default=10)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--bs', type=int, default=8)
    p.add_argument('--mode', default='two_clips', choices=['clip', 'two_clips'])
    p.add_argument('--cache', default=None, help='folder for the generated and prepared videos (default ~/.cache/mac_fame_be/bench_loader)')
    a = p.parse_args()
    main(tuple(a.workers), a.videos, a.batches, a.reps, a.bs, mode=a.mode, cache=a.cache)
