"""The release path: `python -m build` makes the sdist and then the wheel *from that sdist*; the wheel installs into a
fresh virtual environment, passes `pip check`, runs `mfb --help` and pretrains one batch; the requirements are
exactly the third-party packages the library imports."""
import ast, importlib.util, os, re, subprocess, sys, sysconfig, tarfile, venv, zipfile
from pathlib import Path
import pytest

pytestmark = pytest.mark.dev   # builds from the checkout: needs `build` and the source tree
ROOT = Path(__file__).resolve().parents[1]

def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r

@pytest.fixture(scope='module')
def dists(tmp_path_factory):
    "`python -m build` as `nbdev_pypi` runs it: the sdist first, then the wheel built from the unpacked sdist."
    out = tmp_path_factory.mktemp('dist')
    cmd = [sys.executable, '-m', 'build', '--outdir', str(out), str(ROOT)]
    # without isolation when the build backend is at hand (offline, fast); else pip fetches it
    if importlib.util.find_spec('setuptools') and importlib.util.find_spec('wheel'): cmd.insert(3, '--no-isolation')
    _run(cmd)
    sdists, whls = list(out.glob('mac_fame_be-*.tar.gz')), list(out.glob('mac_fame_be-*.whl'))
    assert len(sdists) == 1 and len(whls) == 1, list(out.iterdir())
    return sdists[0], whls[0]

def test_sdist_has_what_setup_and_tests_read(dists):
    with tarfile.open(dists[0]) as t: names = {n.split('/', 1)[1] for n in t.getnames() if '/' in n}
    assert {'settings.ini', 'setup.py', 'README.md', 'LICENSE', 'tests/conftest.py', 'mac_fame_be/cli.py'} <= names, names

def _metadata(whl):
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith('METADATA'))).decode()
        eps = z.read(next(n for n in names if n.endswith('entry_points.txt'))).decode()
    return names, meta, eps

def _name(req): return re.split(r'[<>=!~; \[]', req)[0].lower()

# import name -> distribution name, where they differ
_DIST = {'IPython': 'ipython', 'PIL': 'pillow', 'cv2': 'opencv-python', 'sklearn': 'scikit-learn', 'yaml': 'pyyaml'}

def library_imports():
    "Top-level third-party packages imported anywhere in the library (lazy imports inside functions included)."
    mods = set()
    for p in (ROOT/'mac_fame_be').glob('*.py'):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import): mods |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module: mods.add(node.module.split('.')[0])
    third = {m for m in mods if m not in sys.stdlib_module_names and m != 'mac_fame_be'}
    return {_DIST.get(m, m).lower() for m in third}

def test_requirements_are_the_imported_packages(dists):
    names, meta, eps = _metadata(dists[1])
    mods = {Path(n).stem for n in names if n.startswith('mac_fame_be/') and n.endswith('.py')}
    assert {p.stem for p in (ROOT/'mac_fame_be').glob('*.py')} <= mods
    assert 'mfb = mac_fame_be.cli:main' in eps
    assert 'Requires-Python: >=3.10' in meta and 'Development Status :: 3 - Alpha' in meta
    reqs = [l.split(':', 1)[1].strip() for l in meta.splitlines() if l.startswith('Requires-Dist:')]
    runtime = [r for r in reqs if 'extra ==' not in r]
    assert {_name(r) for r in runtime} == library_imports()
    # lower bounds only: a user's environment (Colab) must not be downgraded
    for r in runtime: assert not re.search(r'==|<|~=|!=', r), f'runtime requirement with an upper pin: {r}'

def test_library_imports_scan():
    "The scan finds lazy imports (IPython in clip_html, pandas in synth) and skips the standard library."
    imp = library_imports()
    assert {'torch', 'av', 'ipython', 'pandas', 'fastprogress'} <= imp and not {'json', 'csv', 'os'} & imp

SMOKE = '''
import torch, mac_fame_be
from mac_fame_be.video import write_video, read_clip
from mac_fame_be.loaders import video_dls
from mac_fame_be.pretrain import pretrain_learner
frames = torch.randint(0, 256, (4, 32, 32, 3), dtype=torch.uint8).numpy()
write_video('v.mp4', frames, fps=4)
assert tuple(read_clip('v.mp4', [0, 3]).shape) == (2, 32, 32, 3)
class Clips(torch.utils.data.Dataset):
    n_frames, mode, classes = 8, 'clip', [0, 1]
    def __len__(self): return 4
    def __getitem__(self, i): return torch.randint(0, 256, (3, 8, 32, 32), dtype=torch.uint8), i % 2
learn = pretrain_learner(video_dls(Clips(), bs=4), 'mac', 'tiny3d', path='.', queue_size=8, crop=24, epochs=1)
with learn.no_bar(), learn.no_logging(): learn.fit(1)
loss = float(learn.recorder.losses[-1]); assert loss == loss, loss
print('one batch ok', mac_fame_be.__file__, len(learn.recorder.losses), 'step(s), loss', round(loss, 3))
'''

def test_sdist_wheel_installs_in_fresh_venv(dists, tmp_path):
    env_dir = tmp_path/'venv'
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir/'bin'/'python'
    # the dependencies (torch & co, several GB) and pip come from the test environment's site-packages, placed *after*
    # the fresh environment's own, so the package itself is the wheel's copy and nothing is downloaded
    site = _run([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']).stdout.strip()
    Path(site, '_deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'} | {'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    _run([str(py), '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', str(dists[1])], env=env)
    assert Path(site, 'mac_fame_be', 'cli.py').exists()
    r = _run([str(py), '-m', 'pip', 'check'], env=env, cwd=tmp_path)
    assert 'No broken requirements' in r.stdout, r.stdout
    r = _run([str(env_dir/'bin'/'mfb'), '--help'], env=env, cwd=tmp_path)
    assert 'synth' in r.stdout and 'info' in r.stdout
    r = _run([str(py), '-W', 'ignore', '-c', SMOKE], env=env, cwd=tmp_path, timeout=300)
    assert 'one batch ok' in r.stdout and str(env_dir) in r.stdout, r.stdout
