"""The bridge between the reference experiment and the project's benchmark (benchmark chapter, "The bridge").

Each step runs one or more (method, seed) pairs through the benchmark's own path (`bench_model`, `split_features`,
`evaluate_features`) with one thing changed, and appends a JSON row per run to
`nbs/11_benchmark_results/bridge/<step>.jsonl`. `python nbs/11_benchmark_bridge.py STEP` reruns a step of `STEPS`.
Some steps read the reference experiment's data: its `synth.py` is imported from `--reference` (by default
`../shared/reference/ssl-prototype`, next to the repository); nothing of it is copied here. 1 torch thread."""
import argparse, json, multiprocessing, os, sys, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F

V2 = dict(layout='free', n_frames=32)                               # SynthMotion before the bridge (version 2 defaults)
CLIP8 = dict(n_frames=8, stride=2, size=32, n_clips=1)              # 8 frames at stride 2, 32², the whole video
PRETEXT = dict(w_con=0.0, w_ss=1.0)
HARD = dict(PRETEXT, soft=False)
# the benchmark's rows when v3 ran with tiny3d (kept as they were, whatever BENCH_METHODS becomes)
BENCHMARK_V3 = ('random', 'supervised', 'supervised_unbiased', 'moco', 'mac', 'mac-pretext', 'fame', 'be', 'mac+fame')
OLD_TAU = dict(tau=0.2)   # before the recipe fixed τ = 0.1 for every method, MoCo and MAC ran at their papers' τ = 0.2
STEPS = {   # step: (data, bench settings, [(method, pretraining overrides)], extra: same_clip / reference data / random_start)
    'v2-jit0':               (dict(V2, jitter_px=0), dict(n_clips=4), [('moco', OLD_TAU), ('fame', {})], {}),
    'v2-fame-same-clip':     (V2, dict(n_clips=4), [('fame', {})], dict(same_clip=True)),
    'v2-mac-hard':           (V2, dict(n_clips=4), [('mac', HARD)], {}),
    'v2-mac-hard-jit0':      (dict(V2, jitter_px=0), dict(n_clips=4), [('mac', HARD)], {}),
    'v2-mac-hard-obj024':    (dict(V2, obj_size=0.24), dict(n_clips=4), [('mac', HARD)], {}),
    'v2-mac-hard-16f':       (dict(V2, n_frames=16), dict(n_clips=4), [('mac', HARD)], {}),
    'v2-mac-hard-16x48':     (V2, dict(n_frames=16, stride=2, size=48, n_clips=1), [('mac', HARD)], {}),
    'ref-16x48':             ({}, dict(n_frames=16, stride=1, size=48, n_clips=1), [('mac', HARD), ('fame', {})], dict(reference=True, same_clip=True)),
    'ref-8x32':              ({}, CLIP8, [('mac', HARD), ('fame', {}), ('moco', OLD_TAU)], dict(reference=True, same_clip=True)),
    'ref-8x32-tau0.1':       ({}, CLIP8, [('moco', {}), ('random', {})], dict(reference=True)),   # the benchmark's own defaults
    'ref-8x32-random-start': ({}, CLIP8, [('mac', HARD), ('fame', {}), ('moco', OLD_TAU)], dict(reference=True, same_clip=True, random_start=True)),
    'v3-mac-hard':           ({}, CLIP8, [('mac', HARD)], {}),
    'v3-mac-pretext':        ({}, CLIP8, [('mac', PRETEXT)], {}),
    'v3-moco-tau0.2':        ({}, CLIP8, [('moco', dict(tau=0.2))], {}),
    'v3-mac-tau0.2':         ({}, CLIP8, [('mac', dict(tau=0.2))], {}),
    'v3-moco-bc-jitter':     ({}, CLIP8, [('moco', dict(tau=0.2, jitter=(0.4, 0.4, 0.0, 0.0)))], {}),
    'v3-moco-tau0.1-q1024':  ({}, CLIP8, [('moco', dict(tau=0.1, queue_size=1024))], {}),
    'v3-moco-tau0.1':        ({}, CLIP8, [('moco', dict(tau=0.1))], {}),
    'v3-fame-q1024':         ({}, CLIP8, [('fame', dict(tau=0.1, queue_size=1024))], {}),
    'v3-fame-tau0.2':        ({}, CLIP8, [('fame', dict(tau=0.2))], {}),
    'v3-mac-tau0.1':         ({}, CLIP8, [('mac', dict(tau=0.1))], {}),
    'v3-random-obj0.24':     (dict(obj_size=0.24), CLIP8, [('random', {})], {}),   # the floor: what an untrained tiny3d holds
    'v3-random-obj0.16':     (dict(obj_size=0.16), CLIP8, [('random', {})], {}),
    'v3-obj0.24':            (dict(obj_size=0.24), CLIP8, [('moco', {}), ('fame', {})], {}),
    'v3-obj0.24-mac-pretext': (dict(obj_size=0.24), CLIP8, [('mac', PRETEXT)], {}),
    # MoCo on the reference's data at the benchmark's defaults, one of the reference's choices at a time
    'ref-8x32-moco-const-lr':   ({}, CLIP8, [('moco', dict(schedule='const'))], dict(reference=True)),
    'ref-8x32-moco-bc-jitter':  ({}, CLIP8, [('moco', dict(jitter=(0.4, 0.4, 0.0, 0.0)))], dict(reference=True)),
    'ref-8x32-moco-crop0.4':    ({}, CLIP8, [('moco', dict(scale=(0.4, 1.0)))], dict(reference=True)),
    'ref-8x32-moco-head64':     ({}, CLIP8, [('moco', dict(hidden=128, dim=64))], dict(reference=True)),
    'ref-8x32-moco-q1024':      ({}, CLIP8, [('moco', dict(queue_size=1024))], dict(reference=True)),
    # the network: tiny3d (every step above) against plain3d (the reference's kind of network, the benchmark's since)
    'v3-benchmark-tiny3d':      ({}, CLIP8, [(m, {}) for m in BENCHMARK_V3], {}),   # stored by `bench` (5 seeds)
    'v3-be-consistency-tiny3d': ({}, CLIP8, [('be', dict(be_consistency=True))], {}),   # stored by `bench` (3 seeds)
    'ref-8x32-plain3d':         ({}, dict(CLIP8, arch='plain3d'), [('random', {}), ('moco', {})], dict(reference=True)),
    'v3-plain3d':               ({}, dict(CLIP8, arch='plain3d'), [(m, {}) for m in ('random', 'moco', 'mac-pretext', 'fame', 'mac', 'be', 'supervised', 'mac+fame')], {}),
    'v3-plain3d-epochs30':      ({}, dict(CLIP8, arch='plain3d', epochs=30), [('fame', {}), ('moco', {})], {}),
}

def reference_splits(seed, n_frames, stride, n_clips, size, random_start=False, reference='../shared/reference/ssl-prototype'):
    """The reference's five splits (its `synth.make_split` with FIXED=1, R 0.12, drawn in the order its `sslexp.py`
    draws them; `test_static` is a copy of `test_iid`, unused) as in-memory datasets of the benchmark's kind."""
    from mac_fame_be.data import InMemoryClips
    os.environ.update(FIXED='1', R0='0.12', R1='0.12')
    sys.path.insert(0, str(Path(reference).resolve()))
    import synth as rs
    if random_start: rs.trajectory = _random_start(rs.trajectory)
    rng = np.random.default_rng(seed)
    drawn = [rs.make_split(60, 0.9, rng), rs.make_split(25, 0.9, rng), rs.make_split(25, 0, rng, swapped=True), rs.make_split(30, 1 / 8, rng)]
    def ds(X, Y):
        d = object.__new__(InMemoryClips)   # the decoded videos are given, nothing to read from disk
        d.items, d.missing, d.classes = [(Path(f'ref{i}.mp4'), int(y)) for i, y in enumerate(Y)], [], list(range(8))
        d.n_frames, d.stride, d.size, d.mode, d.n_clips, d.frame_crop = n_frames, stride, size, 'uniform', n_clips, None
        d.on_missing, d.return_index, d.on_error, d.max_retries, d._lengths = 'raise', False, 'raise', 0, {}
        d.skipped = multiprocessing.Value('i', 0)
        X = X if X.shape[-1] == size else torch.stack([F.interpolate(x, size=(size, size), mode='bilinear', antialias=True) for x in X])
        d.videos = list((X * 255).round().to(torch.uint8))
        return d
    from mac_fame_be.benchmark import scufo
    (Xb, Yb, _), (Xi, Yi, _), (Xs, Ys, _), (Xu, Yu, _) = drawn
    sw = ds(Xs, Ys)
    return dict(train=ds(Xb, Yb), train_unbiased=ds(Xu, Yu), test_iid=ds(Xi, Yi), test_swapped=sw, test_static=ds(Xi, Yi), test_scufo=scufo(sw))

def _random_start(trajectory):
    "The reference's motions, each from a uniformly random start on the torus (SynthMotion v2's 'free' layout)."
    def shifted(cls, T, rng):
        p = trajectory(cls, T, rng)
        return (p - p[:1] + rng.uniform(0, 1, 2)) % 1.0
    return shifted

def l2_probe(feats, steps=500):
    "The reference's probe, for comparison: L2-normalised raw features, a linear layer, Adam 1e-2, logits ×10, full batch."
    torch.manual_seed(0)
    (xu, yu), (xs, ys) = feats['train_unbiased'], feats['test_swapped']
    xu, xs = F.normalize(xu.float(), dim=1), F.normalize(xs.float(), dim=1)
    lin = torch.nn.Linear(xu.shape[1], int(yu.max()) + 1); opt = torch.optim.Adam(lin.parameters(), 1e-2)
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.cross_entropy(lin(xu) * 10, yu); opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad(): return (lin(xs).argmax(1) == ys).float().mean().item()

def run(step, seeds=(0,), data_dir='data', out='nbs/11_benchmark_results/bridge', reference='../shared/reference/ssl-prototype', validation=False):
    "Run `step` for `seeds`; with `validation`, only the validation numbers (no test split is evaluated) into `<step>.validation.jsonl`."
    from mac_fame_be import benchmark as B
    from mac_fame_be.report import VAL_METRICS
    from mac_fame_be.synth import make_synthmotion
    from mac_fame_be.pretrain import SYNTH_DEFAULTS
    torch.set_num_threads(1)
    data, settings, runs, extra = STEPS[step]
    s = {**B.BENCH_DEFAULTS, 'arch': 'tiny3d', **settings}   # the steps before the network changed ran tiny3d; later ones name their arch
    if extra.get('reference'):
        splits = lambda seed: reference_splits(seed, s['n_frames'], s['stride'], s['n_clips'], s['size'], extra.get('random_start', False), reference)
    else:
        root = make_synthmotion(data_dir, progress=False, **data)
        loaded = B.load_synth_splits(root, s['n_frames'], s['stride'], s['size'], s['n_clips'],
                                     splits=tuple(B.PROBE_SOURCES.values()) if validation else B.SPLITS)
        splits = lambda seed: loaded
    mode_of = B.data_mode
    if extra.get('same_clip'): B.data_mode = lambda m: 'clip'   # FAME's key from the query's own clip, as the reference
    try:
        for seed in seeds:
            sp = {k: d for k, d in splits(seed).items() if not validation or k in B.PROBE_SOURCES.values()}   # no test split decoded
            for m, ov in runs:
                t0 = time.time()
                feats = B.split_features(B.bench_model(m, sp, seed, s['arch'], s['epochs'], s['sup_steps'], s['bs'], progress=False, **ov), sp)
                row = dict(step=step, method=m, seed=seed, **B.evaluate_features(feats, seed=seed, test=not validation))
                if not validation: row['l2_probe_swapped'] = l2_probe(feats)
                row.update(seconds=round(time.time() - t0, 1), threads=1, data=data, settings=settings, overrides=ov, synth_defaults=SYNTH_DEFAULTS, **extra)
                Path(out).mkdir(parents=True, exist_ok=True)
                with open(Path(out) / f"{step}{'.validation' if validation else ''}.jsonl", 'a') as f: f.write(json.dumps(B._jsonable(row)) + '\n')
                shown = VAL_METRICS if validation else ('unbiased_val', 'unbiased_swapped')
                print(f"{step} {m} seed {seed}: " + ', '.join(f"{k} {row[k]:.3f}" for k in shown) + f" ({row['seconds']:.0f} s)", flush=True)
    finally: B.data_mode = mode_of

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('step', choices=list(STEPS)); p.add_argument('--seeds', default='0')
    p.add_argument('--data-dir', default='data'); p.add_argument('--reference', default='../shared/reference/ssl-prototype')
    p.add_argument('--validation', action='store_true', help='validation numbers only (the mode every choice of a setting uses): no test split is evaluated')
    a = p.parse_args()
    run(a.step, tuple(int(x) for x in a.seeds.split(',')), a.data_dir, reference=a.reference, validation=a.validation)
