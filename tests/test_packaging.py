"""The package builds into a wheel that installs into a clean virtual environment, imports, and runs `mfb`."""
import importlib.util, os, re, subprocess, sys, sysconfig, venv, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist')
    cmd = [sys.executable, '-m', 'build', '--wheel', '--outdir', str(out), str(ROOT)]
    # without isolation when the build backend is at hand (offline, fast); else pip fetches it
    if importlib.util.find_spec('wheel'): cmd.insert(4, '--no-isolation')
    _run(cmd)
    whls = list(out.glob('mac_fame_be-*.whl'))
    assert len(whls) == 1, whls
    return whls[0]

def test_wheel_contents_and_requirements(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith('METADATA'))).decode()
        eps = z.read(next(n for n in names if n.endswith('entry_points.txt'))).decode()
    mods = {Path(n).stem for n in names if n.startswith('mac_fame_be/') and n.endswith('.py')}
    exported = {p.stem for p in (ROOT/'mac_fame_be').glob('*.py')}
    assert exported <= mods, exported - mods
    assert 'mfb = mac_fame_be.cli:main' in eps
    reqs = [l.split(':', 1)[1].strip() for l in meta.splitlines() if l.startswith('Requires-Dist:')]
    runtime = [r for r in reqs if 'extra ==' not in r]
    assert {'torch', 'torchvision', 'av', 'kornia', 'fastai', 'fastcore', 'matplotlib', 'ipywidgets'} <= {re.split(r'[<>=!~; \[]', r)[0] for r in runtime}
    # lower bounds only: a user's environment (Colab) must not be downgraded
    for r in runtime: assert not re.search(r'==|<|~=|!=', r), f'runtime requirement with an upper pin: {r}'

def test_wheel_installs_in_clean_venv(wheel, tmp_path):
    env_dir = tmp_path/'venv'
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir/'bin'/'python'
    _run([str(py), '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', str(wheel)])
    # the dependencies (torch & co, several GB) come from the test environment's site-packages, placed *after*
    # the clean environment's own, so the package itself is the wheel's copy
    site = _run([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']).stdout.strip()
    Path(site, '_deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    r = _run([str(py), '-c', 'import mac_fame_be, mac_fame_be.cli; print(mac_fame_be.__file__, mac_fame_be.__version__)'], env=env, cwd=tmp_path)
    assert str(env_dir) in r.stdout, r.stdout
    r = _run([str(env_dir/'bin'/'mfb'), '--help'], env=env, cwd=tmp_path)
    assert 'synth' in r.stdout and 'info' in r.stdout
