"""The notebooks' first cell on Colab (tools/colab_setup.py), run in a fresh virtual environment with no clone
beside it: with no release on the package index it installs the repository's archive, with a release it installs the
release; either way the files the chapters read land beside the notebook, and the index's first reading cell runs.
GitHub cannot be reached here: the package index is a local folder and the archive a local file URL."""
import base64, hashlib, io, os, shutil, subprocess, sys, sysconfig, tarfile, venv, zipfile
from pathlib import Path
import pytest

pytestmark = pytest.mark.dev   # needs the source tree (tools/, nbs/)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import colab_setup, nb_colab

def _repo_archive(path, top='mac_fame_be-main'):
    "What GitHub serves as the repository's archive, with what pip and the cell need: setup files, library, results."
    with tarfile.open(path, 'w:gz') as t:
        for rel in ['setup.py', 'settings.ini', 'README.md', 'LICENSE', 'MANIFEST.in', 'mac_fame_be', 'nbs/11_benchmark_results']:
            t.add(ROOT/rel, f'{top}/{rel}', filter=lambda ti: None if '__pycache__' in ti.name else ti)
    return path.as_uri()

def _fake_release(index, version='9.9.9'):
    "A package index (a folder pip reads with --find-links) holding a release wheel of mac_fame_be that only says so."
    index.mkdir()
    name = f'mac_fame_be-{version}'
    files = {'mac_fame_be/__init__.py': f'__version__ = "{version}"\nRELEASE = True\n',
             f'{name}.dist-info/METADATA': f'Metadata-Version: 2.1\nName: mac_fame_be\nVersion: {version}\n',
             f'{name}.dist-info/WHEEL': 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'}
    rec = ''.join(f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b'=').decode()},{len(c)}\n" for n, c in files.items())
    with zipfile.ZipFile(index/f'{name}-py3-none-any.whl', 'w') as z:
        for n, c in files.items(): z.writestr(n, c)
        z.writestr(f'{name}.dist-info/RECORD', rec + f'{name}.dist-info/RECORD,,\n')

@pytest.fixture
def fresh(tmp_path):
    "A fresh virtual environment (pip and setuptools only) and an empty folder to run in: no clone beside it."
    env_dir = tmp_path/'venv'
    venv.EnvBuilder(with_pip=True).create(env_dir)
    site = Path(subprocess.run([str(env_dir/'bin'/'python'), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                               capture_output=True, text=True).stdout.strip())
    import setuptools   # Colab's setuptools builds wheels; the venv's bundled one may be older: today's copied in
    src = Path(setuptools.__file__).parents[1]
    for d in [*site.glob('setuptools*'), *site.glob('pkg_resources'), *site.glob('_distutils_hack')]: shutil.rmtree(d)
    for d in [*src.glob('setuptools'), *src.glob('setuptools-*.dist-info'), *src.glob('pkg_resources'), *src.glob('_distutils_hack')]:
        shutil.copytree(d, site/d.name)
    work = tmp_path/'content'; work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PIP_FIND_LINKS', 'PIP_EXTRA_INDEX_URL', 'PIP_INDEX_URL')}
    env |= {'PIP_CONFIG_FILE': os.devnull, 'PIP_DISABLE_PIP_VERSION_CHECK': '1', 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    return env_dir/'bin'/'python', work, env

def _cell(py, work, env, archive, index):
    "The cell's logic as the notebook runs it (tools/colab_setup.py's `setup`), pip reading only the fake index."
    pip = ['--no-index', '--find-links', str(index), '--no-deps', '--no-build-isolation']
    return subprocess.run([str(py), str(ROOT/'tools'/'colab_setup.py'), '--archive', archive, *pip], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)

def test_no_release_installs_the_repository(fresh, tmp_path):
    py, work, env = fresh
    (tmp_path/'index').mkdir()                                  # the package index has no mac_fame_be
    r = _cell(py, work, env, _repo_archive(tmp_path/'main.tar.gz'), tmp_path/'index')
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'installed from the repository' in r.stdout, r.stdout
    assert (work/'11_benchmark_results'/'results.jsonl').exists() and not (work/'nbs').exists()
    assert not list(work.glob('.*.tar.gz'))                     # the downloaded archive is not left behind
    # the index's reading cell, with the library's dependencies borrowed from the test environment
    site = subprocess.run([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], capture_output=True, text=True).stdout.strip()
    Path(site, '_deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    r = subprocess.run([str(py), '-W', 'ignore', '-c', "import mac_fame_be; from mac_fame_be.report import read_results, summarize; "
                        "print(mac_fame_be.__file__); print(len(summarize(read_results('11_benchmark_results'))))"],
                       cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and str(py.parents[1]) in r.stdout, r.stdout + r.stderr

def test_a_release_is_preferred(fresh, tmp_path):
    py, work, env = fresh
    _fake_release(tmp_path/'index')
    r = _cell(py, work, env, _repo_archive(tmp_path/'main.tar.gz'), tmp_path/'index')
    assert r.returncode == 0 and 'installed from the release' in r.stdout, r.stdout + r.stderr
    r = subprocess.run([str(py), '-c', 'import mac_fame_be; print(mac_fame_be.RELEASE, mac_fame_be.__version__)'], cwd=work, env=env,
                       capture_output=True, text=True)
    assert r.stdout.split() == ['True', '9.9.9'], r.stdout + r.stderr
    assert (work/'11_benchmark_results'/'results.jsonl').exists()

def test_extract_drops_nbs_and_names_missing_files(tmp_path):
    url = _repo_archive(tmp_path/'a.tar.gz')
    data = Path(url[len('file://'):]).read_bytes()
    got = colab_setup.extract(data, ('nbs/11_benchmark_results',), tmp_path/'out')
    assert (tmp_path/'out'/'11_benchmark_results'/'results.jsonl') in got
    with pytest.raises(FileNotFoundError, match='nbs/nothing'): colab_setup.extract(data, ('nbs/nothing',), tmp_path/'out')

def test_every_notebook_runs_the_setup_cell():
    "Every notebook's first cell is nb_colab's current cell, and that cell runs tools/colab_setup.py's `setup`."
    import json
    assert "_ns['setup']()" in nb_colab.INSTALL and 'tools/colab_setup.py' in nb_colab.INSTALL
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        first = json.loads(p.read_text())['cells'][0]
        assert ''.join(first['source']) == nb_colab.INSTALL, p.name

CELL_RUNNER = '''
import io, sys, types, urllib.request
sys.modules['google.colab'] = types.ModuleType('google.colab')      # as on Colab
files = {{'tools/colab_setup.py': {tools!r}, 'main.tar.gz': {archive!r}}}
def urlopen(url, *a, **kw):                                         # GitHub, served from local files
    for end, path in files.items():
        if url.endswith(end): return io.BytesIO(open(path, 'rb').read())
    raise OSError(f'no network here: {{url}}')
urllib.request.urlopen = urlopen
exec({cell!r})
print('cell ran to the end')
'''

def test_the_notebook_cell_itself_runs_to_the_end(fresh, tmp_path):
    "The first cell exactly as the notebooks hold it, in a fresh environment on a fake Colab, no release on the index."
    py, work, env = fresh
    (tmp_path/'index').mkdir()
    archive = Path(_repo_archive(tmp_path/'main.tar.gz')[len('file://'):])
    code = CELL_RUNNER.format(tools=str(ROOT/'tools'/'colab_setup.py'), archive=str(archive), cell=nb_colab.INSTALL)
    env = env | {'PIP_NO_INDEX': '1', 'PIP_FIND_LINKS': str(tmp_path/'index'), 'PIP_NO_DEPS': '1', 'PIP_NO_BUILD_ISOLATION': '0'}
    r = subprocess.run([str(py), '-c', code], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and 'cell ran to the end' in r.stdout, r.stdout[-2000:] + r.stderr[-3000:]
    assert 'installed from the repository' in r.stdout and (work/'11_benchmark_results'/'results.jsonl').exists()
