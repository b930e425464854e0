"""The benchmark's tuning grid (benchmark chapter, "Selection protocol"), on validation numbers only.

Every pretraining method of the benchmark gets the same grid on a development draw of SynthMotion (generator seed
`DEV_SEED`, never used for a reported number): τ ∈ `TAUS` × lr ∈ `LRS`, seeds `SEEDS`, at the benchmark's settings
for each network. A run pretrains the backbone (`bench_model`), extracts the features of `train` and `train_unbiased`
only (no test split is decoded or evaluated), and stores the validation accuracy of the two probes (`tuned_probe`:
the held-out fifth of the probe's training split) as one JSON row in `nbs/11_benchmark_results/tuning/<arch>.jsonl`.
Runs already stored are skipped, so the grid can be run in pieces:

    python nbs/11_benchmark_tune.py --arch plain3d [--methods moco fame] [--shard 0/2]

1 torch thread per process."""
import argparse, functools, json, os, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]   # the repository (this file sits in nbs/)
OUT = ROOT / 'nbs' / '11_benchmark_results' / 'tuning'
DEV_SEED = 100                                   # the development draw's generator seed
TAUS, LRS, SEEDS = (0.07, 0.1, 0.2), (0.05, 0.1), (0, 1)
METHODS = ('moco', 'mac', 'mac-pretext', 'fame', 'be', 'mac+fame')
NO_TAU = ('mac-pretext',)                         # τ acts only through the contrastive term, whose weight is 0 here
DEFAULT = dict(tau=0.1, lr=0.05)                 # the setting a tie falls back to

def grid(method):
    taus = (DEFAULT['tau'],) if method in NO_TAU else TAUS
    return [dict(tau=t, lr=l) for t in taus for l in LRS]

@functools.lru_cache(maxsize=1)
def dev_splits(data='data'):
    "The development draw's two training splits, decoded once per process (no test split is decoded)."
    from mac_fame_be import benchmark as B
    from mac_fame_be.synth import make_synthmotion
    root = make_synthmotion(ROOT / data, seed=DEV_SEED, progress=False)
    s = B.BENCH_DEFAULTS
    splits = B.load_synth_splits(root, s['n_frames'], s['stride'], s['size'], s['n_clips'], splits=tuple(B.PROBE_SOURCES.values()))
    return root, splits

def run(arch, method, hp, seed, data='data'):
    "One grid run: pretrain, then the validation numbers only (`evaluate_features(test=False)`)."
    import torch
    torch.set_num_threads(1)
    from mac_fame_be import benchmark as B
    root, splits = dev_splits(data)
    s = B.BENCH_DEFAULTS
    t0 = time.time()
    model = B.bench_model(method, splits, seed, arch, s['epochs'], s['sup_steps'], s['bs'], progress=False, **hp)
    val = B.evaluate_features(B.split_features(model, splits), seed=seed, test=False)
    row = dict(method=method, arch=arch, seed=seed, **hp, val_biased=val['biased_val'], val_unbiased=val['unbiased_val'])
    cfg = json.loads((root / 'config.json').read_text())
    row.update(seconds=round(time.time() - t0, 1), settings=dict(s, arch=arch, data_seed=cfg['seed'], data_digest=cfg['files']['digest']))
    return row

def stored(arch):
    f = OUT / f'{arch}.jsonl'
    if not f.exists(): return []
    return [json.loads(l) for l in f.read_text().splitlines() if l.strip()]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--arch', default='plain3d')
    ap.add_argument('--methods', nargs='+', default=list(METHODS))
    ap.add_argument('--data', default='data', help='folder (relative to the repository) where the development draw is generated')
    ap.add_argument('--shard', default='0/1', help='K/N: run every N-th of the runs to do, from the K-th (N processes side by side)')
    a = ap.parse_args()
    k, n = (int(x) for x in a.shard.split('/'))
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    # the shard is cut from the whole grid, not from what is left of it: shards started at different moments (with
    # different runs stored) would otherwise overlap and run the same setting twice
    todo = [(m, hp, s) for s in SEEDS for m in a.methods for hp in grid(m)][k::n]
    print(f"{a.arch}: {len(todo)} runs in this shard (stored ones are skipped)", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    for m, hp, s in todo:
        if (m, hp['tau'], hp['lr'], s) in {(r['method'], r['tau'], r['lr'], r['seed']) for r in stored(a.arch)}: continue   # another process did it
        row = run(a.arch, m, hp, s, a.data)
        with open(OUT / f'{a.arch}.jsonl', 'a') as f: f.write(json.dumps(row) + '\n')
        print(f"{m} τ={hp['tau']} lr={hp['lr']} seed {s}: val unbiased {row['val_unbiased']:.3f} biased {row['val_biased']:.3f} ({row['seconds']:.0f} s)", flush=True)

if __name__ == '__main__': main()
