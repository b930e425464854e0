"Benchmark integration tests: the demo end to end on tiny SynthMotion, resuming, bad input, the papers' numbers."
import json
import pytest, torch
torch.set_num_threads(1)   # tiny models: one thread avoids contention on the shared 2-core CPU
from mac_fame_be.synth import make_synthmotion
from mac_fame_be.benchmark import bench, demo, evaluate_features, load_synth_splits
from mac_fame_be.report import read_results, summarize, METRICS, BENCH_METHODS
from mac_fame_be.evaluate import tuned_probe
from mac_fame_be.recipes import PAPER_RESULTS, paper_results
from mac_fame_be.scenes import SPLITS

TINY = dict(preset='small', size=32, n_frames=16, progress=False)
FAST = dict(epochs=1, bs=8, n_clips=2, sup_steps=2)

@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_synthmotion(tmp_path_factory.mktemp('bench') / 'data', **TINY)

def test_demo_end_to_end(root, tmp_path, capsys):
    out = tmp_path / 'demo'
    tab = demo(out=out, root=root, methods=('random', 'moco'), progress=False, **FAST)
    assert list(tab.index) == ['random', 'moco']
    assert {'chart.png', 'motion.png', 'summary.csv', 'results.jsonl'} <= {p.name for p in out.iterdir()}
    printed = capsys.readouterr().out
    assert 'biased_swapped' in printed and 'demo finished' in printed
    assert '1 seed' in printed and '±' not in printed                   # one seed: no "± 0.00"
    assert 'random init: ' in printed and 'MoCo: ' in printed and 'on swapped backgrounds' in printed   # a sentence per method
    df = read_results(out)
    assert len(df) == 2 and set(METRICS) <= set(df.columns)
    assert all(0 <= df[m].min() and df[m].max() <= 1 for m in METRICS if m != 'gap')
    # the same settings with a second seed: only the new run is trained, and the table gets a spread
    tab = bench(seeds=2, methods=('random',), out=out, root=root, progress=False, **FAST)
    assert len(read_results(out)) == 3
    assert tab.loc['random', ('seeds', '')] == 2 and tab.loc['random', ('unbiased_swapped', 'std')] >= 0
    assert tab.loc['random', ('unbiased_swapped', 'ci95')] >= 0 and '±' in capsys.readouterr().out   # two seeds: an interval

def test_bad_input(root, tmp_path):
    with pytest.raises(ValueError, match="method must be one of"): bench(methods=('simclr',), out=tmp_path, root=root)
    with pytest.raises(ValueError, match="seeds must be"): bench(seeds=-1, out=tmp_path, root=root)
    with pytest.raises(ValueError, match="unknown bench setting"): bench(out=tmp_path, root=root, lr=0.1)
    with pytest.raises(FileNotFoundError, match="no benchmark results"): read_results(tmp_path / 'nothing')
    with pytest.raises(FileNotFoundError, match="not a SynthMotion root"): load_synth_splits(tmp_path)
    with pytest.raises(ValueError, match="lacks split"): evaluate_features({})
    with pytest.raises(ValueError, match="labels must have shape"): tuned_probe(torch.randn(10, 3), torch.zeros(9))

def test_paper_results():
    df = paper_results()
    assert len(df) == len(PAPER_RESULTS) and df['source'].str.len().min() > 0
    spec8 = {('MAC-SC-4', 'UCF101'): 87.8, ('MAC-SC-4', 'HMDB51'): 55.3, ('MAC', 'UCF101'): 87.1, ('MAC', 'HMDB51'): 57.0,
             ('FAME', 'UCF101'): 84.8, ('FAME', 'HMDB51'): 53.5, ('BE', 'UCF101'): 86.8, ('BE', 'HMDB51'): 55.4}
    ft = df[df.protocol == 'finetune']
    for (m, t), v in spec8.items(): assert ft[(ft.method == m) & (ft.target == t)]['value'].tolist() == [v]
    lin = df[df.protocol == 'linear'].set_index('target')['value'].to_dict()
    assert lin == {'UCF101': 72.2, 'HMDB51': 42.2}
    assert df[df.protocol.str.startswith('retrieval')]['value'].tolist() == [32.0, 52.9]
    assert sorted(df[df.target == 'Diving48 V2']['value']) == [62.4, 69.2, 72.9]
    json.dumps(PAPER_RESULTS)   # plain data

def test_stored_results_are_the_defaults():
    "The chapter's stored 5-seed results were all run with today's defaults (a changed default must move old runs out)."
    from dataclasses import asdict
    from pathlib import Path
    from mac_fame_be.benchmark import BENCH_DEFAULTS, _jsonable
    from mac_fame_be.pretrain import SYNTH_DEFAULTS
    from mac_fame_be.scenes import SynthConfig
    res = read_results(Path(__file__).resolve().parents[1] / 'nbs' / '11_benchmark_results')
    for s in res['settings']:
        assert {k: s[k] for k in BENCH_DEFAULTS} == BENCH_DEFAULTS and s['overrides'] == {}
        assert s['synth_defaults'] == _jsonable(SYNTH_DEFAULTS)
        assert s['data']['config'] == asdict(SynthConfig()) and s['data']['seed'] == 0
    assert res.groupby('method')['seed'].apply(sorted).to_dict() == {m: list(range(5)) for m in BENCH_METHODS}

def test_calibrate_counts_stored_and_read_back(root, tmp_path, monkeypatch):
    import mac_fame_be.benchmark as B
    tab = B.calibrate(root, steps=2, seed=0, arch='plain3d', out=tmp_path, progress=False, n_clips=2, bs=8)
    n = len(load_synth_splits(root, 8, 2, 32, 1, splits=('test_iid',))['test_iid'])
    assert list(tab.index) == ['train_unbiased', 'train'] and (tab['videos'] == n).all()
    for s in ('test_iid', 'test_swapped', 'test_static'):                    # counts of videos, not fractions
        assert tab[s].dtype.kind == 'i' and ((0 <= tab[s]) & (tab[s] <= n)).all(), tab
    assert (tab['gap'] == tab['test_iid'] - tab['test_swapped']).all()
    monkeypatch.setattr(B, 'train_supervised', lambda *a, **k: pytest.fail('a stored calibration was trained again'))
    again = B.calibrate(root, steps=2, seed=0, arch='plain3d', out=tmp_path, progress=False, n_clips=2, bs=8)
    assert again.equals(tab)
    calib = B.read_calibration(tmp_path)
    assert calib.index.names == ['arch', 'steps', 'draw', 'seed', 'trained on'] and len(calib) == 2
    checks = B.calibration_checks(calib)
    assert checks.loc[('plain3d', 2, 0), 'seeds'] == 1 and isinstance(checks.loc[('plain3d', 2, 0), 'bias real'], bool)
