"""The benchmark's final runs (benchmark chapter, "Selection protocol", step 4): every row at the setting the tuning
grid chose for it, on fresh data draws, every metric.

Each pretraining method runs at its own best (τ, lr) from `nbs/11_benchmark_results/tuning/<arch>.jsonl`
(`choose_settings`; the grid must be complete: every setting with every tuning seed); random init and the two
supervised rows have nothing to tune. For each of the draws `DRAWS` (SynthMotion generator seeds never used for
anything else) and each initialisation seed, a run pretrains the backbone, evaluates it on every split
(`bench_run`) and stores one JSON row in `nbs/11_benchmark_results/final/<arch>.jsonl`. Runs already stored with the
same settings are skipped, so the runs can be made in pieces and side by side:

    python nbs/11_benchmark_final.py --arch plain3d [--methods moco fame] [--shard 0/2]

With `--calibration` it runs the two calibration checks instead (`calibrate`: supervised on `train_unbiased` and
on `train`) for every seed at 600 and 1,500 steps, on the development draw (a change of SynthMotion would be chosen
there), stored in `nbs/11_benchmark_results/calibration.jsonl`. 1 torch thread per process."""
import argparse, functools, importlib.util, json, os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]   # the repository (this file sits in nbs/)
RESULTS = ROOT / 'nbs' / '11_benchmark_results'
OUT = RESULTS / 'final'
DRAWS, SEEDS = (101, 102, 103), 5
CALIBRATION_STEPS = (600, 1500)

def _tune():
    "The tuning script beside this one (its grid and stored rows)."
    spec = importlib.util.spec_from_file_location('bench_tune', Path(__file__).with_name('11_benchmark_tune.py'))
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

def chosen_settings(arch):
    """`{method: {'tau', 'lr'}}`: each tuned method's best setting on the development draw (`choose_settings`). A
    `ValueError` names the grid runs still missing: a choice is only made on the whole grid."""
    from mac_fame_be.report import choose_settings
    T = _tune()
    rows = T.stored(arch)
    have = {(r['method'], r['tau'], r['lr'], r['seed']) for r in rows}
    missing = [(m, hp['tau'], hp['lr'], s) for m in T.METHODS for hp in T.grid(m) for s in T.SEEDS if (m, hp['tau'], hp['lr'], s) not in have]
    if missing: raise ValueError(f"{arch}: the tuning grid lacks {len(missing)} run(s), e.g. {missing[:3]} (method, τ, lr, seed); "
                                 f"run `python nbs/11_benchmark_tune.py --arch {arch}` first")
    return choose_settings(rows)[1]

@functools.lru_cache(maxsize=None)   # every draw stays decoded (about 70 MB each)
def draw_splits(draw, data='data', n_clips=None):
    "Every split of the SynthMotion draw with generator seed `draw`, decoded once per process: `(root, splits)`."
    from mac_fame_be import benchmark as B
    from mac_fame_be.synth import make_synthmotion
    root = make_synthmotion(ROOT / data, seed=draw, progress=False)
    s = B.BENCH_DEFAULTS
    return root, B.load_synth_splits(root, s['n_frames'], s['stride'], s['size'], n_clips or s['n_clips'])

def calibration(arch, seeds, k, n, data='data'):
    "Shard `k` of `n` of the calibration runs (seeds × `CALIBRATION_STEPS`) on the development draw; stored ones are read back."
    from mac_fame_be import benchmark as B
    root, splits = draw_splits(_tune().DEV_SEED, data, n_clips=4)     # `calibrate`'s clips: 4 per video
    for steps, seed in [(st, s) for st in CALIBRATION_STEPS for s in range(seeds)][k::n]:   # both shards get both budgets
        tab = B.calibrate(root, steps, seed, arch, out=RESULTS, progress=False, splits=splits)
        print(f"calibration {arch} {steps} steps seed {seed}: gap {tab.loc['train', 'gap']}/{tab.loc['train', 'videos']} videos, "
              f"unbiased → swapped {tab.loc['train_unbiased', 'test_swapped']}", flush=True)

def stored(arch):
    from mac_fame_be.report import read_results
    f = OUT / f'{arch}.jsonl'
    return read_results(f).to_dict('records') if f.exists() else []

def main():
    from mac_fame_be.report import BENCH_METHODS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--arch', default='plain3d')
    ap.add_argument('--methods', nargs='+', default=list(BENCH_METHODS))
    ap.add_argument('--draws', nargs='+', type=int, default=list(DRAWS))
    ap.add_argument('--seeds', type=int, default=SEEDS)
    ap.add_argument('--data', default='data', help='folder (relative to the repository) where the draws are generated')
    ap.add_argument('--shard', default='0/1', help='K/N: run every N-th of the runs to do, from the K-th (N processes side by side)')
    ap.add_argument('--calibration', action='store_true', help='run the calibration checks (development draw) instead')
    a = ap.parse_args()
    k, n = (int(x) for x in a.shard.split('/'))
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch
    torch.set_num_threads(1)
    if a.calibration: return calibration(a.arch, a.seeds, k, n, a.data)
    from mac_fame_be import benchmark as B
    choice = chosen_settings(a.arch)
    print(f"{a.arch}: settings chosen on the development draw: {choice}", flush=True)
    key_of = lambda root, m: B.bench_key(root, dict(arch=a.arch), choice.get(m, {}))
    done = lambda: {(r['method'], r['seed'], r['draw'], json.dumps(r['settings'], sort_keys=True)) for r in stored(a.arch)}
    # seed-major order, the supervised references last: an interrupted run leaves whole seeds of the compared rows behind
    order = [m for m in a.methods if not m.startswith('supervised')] + [m for m in a.methods if m.startswith('supervised')]
    todo = [(d, s, m) for sup in (False, True) for s in range(a.seeds) for d in a.draws for m in order if m.startswith('supervised') == sup][k::n]
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{a.arch}: {len(todo)} runs in this shard (stored ones are skipped)", flush=True)
    for d, s, m in todo:
        root, splits = draw_splits(d, a.data)
        key = key_of(root, m)
        if (m, s, d, json.dumps(key, sort_keys=True)) in done(): continue   # stored, by this or another process
        row = B.bench_run(m, s, splits, key)
        with open(OUT / f'{a.arch}.jsonl', 'a') as f: f.write(json.dumps(row) + '\n')
        print(f"draw {d} {m} seed {s}: unbiased_swapped {row['unbiased_swapped']:.3f} ({row['seconds']:.0f} s)", flush=True)

if __name__ == '__main__': main()
