"""Phase 1 of the bias chapter's SynthMotion experiment: train the backbones it evaluates.

For each seed: a supervised network on the biased `train` split (the benchmark's `train_supervised`, `sup_steps`
optimiser steps) and MoCo, MAC and FAME pretrained on `train` (`bench_model`, the benchmark's settings with
`--epochs` pretraining epochs). Each backbone's state dict is saved to `--models/<method>_<seed>.pt` (a classifier's
head too), with the seconds it took in `--models/times.jsonl`. Runs already saved are skipped. 1 torch thread.
`python nbs/07b_bias_models.py --root SYNTH --models DIR --seeds 0 1 2 --epochs 20`; phase 2 is `07b_bias_eval.py`."""
import argparse, json, time
from pathlib import Path
import torch

def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--root', required=True); p.add_argument('--models', required=True)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2]); p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--methods', nargs='+', default=['supervised', 'moco', 'mac', 'fame'])
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    from mac_fame_be.benchmark import load_synth_splits, bench_model, train_supervised, BENCH_DEFAULTS
    out = Path(a.models); out.mkdir(parents=True, exist_ok=True)
    s = BENCH_DEFAULTS
    splits = load_synth_splits(a.root, s['n_frames'], s['stride'], s['size'], s['n_clips'], splits=('train',))
    for seed in a.seeds:
        for m in a.methods:
            f = out / f"{m}_{seed}.pt"
            if f.exists(): continue
            t = time.time()
            if m == 'supervised':
                ds = splits['train']
                epochs = -(-s['sup_steps'] // (len(ds) // s['bs']))
                model = train_supervised(ds, len(ds.classes), s['arch'], epochs=epochs, bs=s['bs'], seed=seed, progress=False)
                sd = model.state_dict()
            else:
                sd = bench_model(m, splits, seed=seed, epochs=a.epochs, progress=False).state_dict()
            torch.save(sd, f)
            with open(out / 'times.jsonl', 'a') as fh:
                fh.write(json.dumps(dict(method=m, seed=seed, epochs=a.epochs if m != 'supervised' else None,
                                         seconds=round(time.time() - t, 1), threads=torch.get_num_threads())) + '\n')
            print(m, seed, round(time.time() - t, 1), flush=True)

if __name__ == '__main__': main()
