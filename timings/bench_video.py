"""Clips/s (median over clips, the two readers interleaved) of `read_clip` (seek + convert only the wanted frames, resized in the conversion) against
decode-everything-then-index, for 16-frame clips at 112 px from a 10 s 320×240 video, in one process.

    .venv/bin/python timings/bench_video.py [--n_clips 20]
"""
import argparse, tempfile, time, av, numpy as np, torch
from pathlib import Path
from mac_fame_be.video import read_clip, write_video, video_info
from mac_fame_be._reference import toy_frames

def make_video(path, seconds=10, fps=25, h=240, w=320, seed=0):
    "The toy clip (`_reference.toy_frames`): a white 40×40 square moving over a noisy gradient."
    frames = toy_frames(T=seconds * fps, H=h, W=w, side=40, start=(0, 0), step=(2, 3), bg='gradient', bg_value=100 / 255,
                        noise=10 / 255, border='wrap', seed=seed)
    return write_video(path, frames, fps=fps, gop=fps * 2, bframes=2)

def decode_all_then_index(path, indices, size=112):
    "The naive baseline: decode and convert every frame at native size, index, then resize with torch."
    with av.open(str(path)) as c: x = np.stack([f.to_ndarray(format='rgb24') for f in c.decode(video=0)])
    clip = torch.from_numpy(x[indices]).permute(0, 3, 1, 2).float()
    h, w = clip.shape[-2:]; out = (size, round(w * size / h)) if h <= w else (round(h * size / w), size)
    return torch.nn.functional.interpolate(clip, size=out, mode='bilinear', antialias=True).round().byte().permute(0, 2, 3, 1)

def main(n_clips=20, seed=0):
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        p = make_video(Path(d) / 'bench.mp4')
        n = video_info(p).n_frames
        rng = np.random.default_rng(seed)
        starts = rng.integers(0, n - 16 * 2, n_clips)
        lists = [(s + 2 * np.arange(16)).tolist() for s in starts]  # 16 frames, stride 2
        fns = {'read_clip': lambda ix: read_clip(p, ix, size=112), 'decode_all': lambda ix: decode_all_then_index(p, ix)}
        times = {k: [] for k in fns}
        for k, fn in fns.items(): fn(lists[0])  # warm-up
        for ix in lists:  # interleaved, so both see the same load on a shared machine
            for k, fn in fns.items():
                t = time.perf_counter(); clip = fn(ix); times[k].append(time.perf_counter() - t)
        res = {k: 1 / float(np.median(v)) for k, v in times.items()}
        for k in fns: print(f"{k:>11}: {res[k]:7.2f} clips/s (median of {len(lists)}; clip {tuple(clip.shape)}, {n}-frame 320x240 video)")
        print(f"ratio read_clip / decode_all: {res['read_clip'] / res['decode_all']:.1f}x")
    return res

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--n_clips', type=int, default=20); a = ap.parse_args()
    main(a.n_clips)
