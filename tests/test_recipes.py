"Every paper-scale recipe starts and trains a few steps on tiny SynthMotion laid out as the recipe's dataset."
import csv, json, os
import pytest, torch
from mac_fame_be.synth import make_synthmotion
from mac_fame_be.steps import StopAfter
from mac_fame_be.recipes import RECIPES, get_recipe, run_recipe, recipe_targets

TINY = dict(preset='small', size=32, n_frames=16, progress=False)
# The clip is shrunk (4 frames of 32², batch 2, two steps) and, for CPU time, the backbone is tiny3d in the per-recipe
# test (R(2+1)D-18 takes 15-25 s a recipe on the shared 2-core CPU); every other hyper-parameter stays the recipe's.
# `test_recipe_with_its_backbone` runs one recipe with R(2+1)D-18 itself.
SHRINK = dict(n_frames=4, crop=32, bs=2, epochs=1)

@pytest.fixture(scope='module')
def ucf_root(tmp_path_factory):
    return make_synthmotion(tmp_path_factory.mktemp('recipes') / 'data', **TINY)

@pytest.fixture(scope='module')
def k400_root(ucf_root, tmp_path_factory):
    "The SynthMotion training videos in the Kinetics-400 layout: train.csv and train/<label>/<id>_<start>_<end>.mp4."
    root = tmp_path_factory.mktemp('k400')
    rows = []
    for i, line in enumerate((ucf_root / 'trainlist01.txt').read_text().splitlines()):
        rel = line.split()[0]
        label, yid = rel.split('/')[0], f"synth{i:05d}"
        dst = root / 'train' / label / f"{yid}_{0:06d}_{10:06d}.mp4"
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(ucf_root / rel, dst)   # a hard link: inside the root (a symbolic link out of it is refused)
        rows.append(dict(label=label, youtube_id=yid, time_start=0, time_end=10, split='train'))
    with open(root / 'train.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=['label', 'youtube_id', 'time_start', 'time_end', 'split'])
        w.writeheader(); w.writerows(rows)
    return root

def _run(name, root, out, arch):
    torch.set_num_threads(1)
    r = get_recipe(name)
    assert r['arch'] == 'r2plus1d_18' and (r['n_frames'], r['crop']) == (16, 112)
    stop = StopAfter(2)
    run_recipe(name, root, out=out, progress=False, cbs=[stop], arch=arch, **SHRINK)
    assert stop.k == 2                                       # two optimiser steps ran
    cfg = json.loads((out / 'config.json').read_text())      # the configuration run_pretrain trained with
    assert cfg['method'] == r['method'] and cfg['arch'] == arch and cfg['n_frames'] == 4
    for k, v in r['config'].items():
        if k != 'epochs': assert cfg[k] == (list(v) if isinstance(v, tuple) else v), k

@pytest.mark.parametrize('name', sorted(RECIPES))
def test_recipe_trains(name, ucf_root, k400_root, tmp_path):
    _run(name, k400_root if RECIPES[name]['dataset'] == 'k400' else ucf_root, tmp_path / name, 'tiny3d')

def test_recipe_with_its_backbone(ucf_root, tmp_path):
    _run('mac_ucf101', ucf_root, tmp_path / 'mac', 'r2plus1d_18')

def test_recipes_name_their_targets():
    for name in ('mac_ucf101', 'mac_k400', 'fame_k400', 'be_k400'): assert len(recipe_targets(name)) > 0
    with pytest.raises(ValueError, match="unknown recipe"): get_recipe('mac_hmdb51')
