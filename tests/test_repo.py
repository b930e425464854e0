"""The repository's own promises: README generated from index.ipynb, the quickstart's two commands, the
one source of the docs configuration (the top-level _quarto.yml; nbs/_quarto.yml generated from it), the CI script using the README's commands."""
import configparser, os, re, subprocess, sys
import pytest
from pathlib import Path

pytestmark = pytest.mark.dev   # needs the source tree and the development tools
ROOT = Path(__file__).resolve().parents[1]

def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'make_readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def _quickstart():
    text = (ROOT/'README.md').read_text()
    m = re.search(r'## Quickstart.*?```sh\n(.*?)```', text, re.S)
    assert m, 'README has no Quickstart sh block'
    return [l for l in m.group(1).splitlines() if l.strip()]

def _make_readme():
    "`tools/make_readme.py` as a module."
    sys.path.insert(0, str(ROOT/'tools'))
    try: import make_readme
    finally: sys.path.pop(0)
    return make_readme

def test_readme_tables_keep_multiindex_headers():
    "A DataFrame with two column levels (the headline: one group per network) becomes one header per column in Markdown."
    import pandas as pd
    html_table_to_markdown = _make_readme().html_table_to_markdown
    df = pd.DataFrame([[1, 2, 3, 4]], index=['MoCo'], columns=pd.MultiIndex.from_product([['plain3d', 'tiny3d'], ['mean', 'vs random']]))
    head = html_table_to_markdown(df.to_html()).splitlines()[0]
    assert head == '|  | plain3d / mean | plain3d / vs random | tiny3d / mean | tiny3d / vs random |', head

def test_readme_quickstart_has_two_commands_and_ci_uses_them():
    cmds = _quickstart()
    assert len(cmds) == 2, cmds
    install, test = cmds
    assert 'pip install -e ".[dev]"' in install and 'mfb ' in install
    ci = (ROOT/'.ci'/'run').read_text()
    assert test.strip() in ci, f'.ci/run does not run the README test command {test!r}'
    assert 'pip install -q -e ".[dev]"' in ci or 'pip install -e ".[dev]"' in ci

def test_quarto_config_has_one_source():
    "The top-level _quarto.yml is the one source; nbs/_quarto.yml (what nbdev 2 reads) is generated from it, a plain file."
    top, q = ROOT/'_quarto.yml', ROOT/'nbs'/'_quarto.yml'
    assert top.is_file() and not top.is_symlink() and 'metadata-files' in top.read_text()
    assert q.is_file() and not q.is_symlink()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), 'quarto', '--check'], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and 'up to date' in r.stdout, r.stdout + r.stderr
    # git stores them as plain files (mode 100644), not links (120000)
    r = subprocess.run(['git', 'ls-files', '-s', '_quarto.yml', 'nbs/_quarto.yml'], capture_output=True, text=True, cwd=ROOT)
    if r.returncode == 0 and r.stdout: assert all(l.startswith('100644') for l in r.stdout.splitlines()), r.stdout

def test_docs_preprocessing_reads_the_top_level_quarto_config(tmp_path):
    "A setting written only in the top-level _quarto.yml reaches nbdev's docs preprocessing (`_proc/_quarto.yml`)."
    import shutil
    for f in ('settings.ini', '_quarto.yml'): shutil.copy(ROOT/f, tmp_path/f)
    (tmp_path/'nbs').mkdir()
    for f in ('nbdev.yml', 'sidebar.yml', 'styles.css', '00_toys.ipynb'): shutil.copy(ROOT/'nbs'/f, tmp_path/'nbs'/f)
    with open(tmp_path/'_quarto.yml', 'a') as f: f.write('\nlang: eo-only-in-the-top-level-file\n')
    code = ("import sys; sys.path.insert(0, %r); from docs import sync_quarto; sync_quarto('.'); "
            "from nbdev.serve import proc_nbs; proc_nbs(n_workers=0, force=True)") % str(ROOT/'tools')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'lang: eo-only-in-the-top-level-file' in (tmp_path/'_proc'/'_quarto.yml').read_text()

def test_settings():
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    d = cfg['DEFAULT']
    assert d['lib_name'] == 'mac_fame_be' and d['tst_flags'].split() == ['slow', 'gpu']
    assert 'mfb=mac_fame_be.cli:main' in d['console_scripts']
    assert all(p in d['dev_requirements'] for p in ['nbdev==2.4.14', 'execnb<0.2', 'fastcore<2', 'fastai==2.8.7', 'plum-dispatch<2.10'])

def test_every_notebook_is_in_the_sidebar():
    side = (ROOT/'nbs'/'sidebar.yml').read_text()
    for nb in (ROOT/'nbs').glob('*.ipynb'): assert nb.name in side, f'{nb.name} missing from nbs/sidebar.yml'

def test_every_notebook_opens_in_colab():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'nb_colab.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def test_readme_images_are_absolute_raw_links():
    "The package index shows README.md away from the repository: images must be absolute links to files that exist."
    m = _make_readme(); raw_url, absolute_images = m.raw_url, m.absolute_images
    base = raw_url()
    assert base == 'https://raw.githubusercontent.com/mac-fame-be/mac_fame_be/main'
    test_eq = lambda a, b: (a == b) or pytest.fail(f'{a!r} != {b!r}')
    test_eq(absolute_images('![a](x/y.png) ![b](https://h/z.png) <img src="p.png" width="3">', 'B'),
            '![a](B/x/y.png) ![b](https://h/z.png) <img src="B/p.png" width="3">')
    text = (ROOT/'README.md').read_text()
    imgs = re.findall(r'!\[[^\]]*\]\(([^)\s]+)', text) + re.findall(r'<img\b[^>]*?\bsrc="([^"]+)"', text)
    assert imgs, 'README has no image'
    assert not [u for u in imgs if not re.match(r'^https?://', u)], f'relative image links in README: {imgs}'
    ours = [u for u in imgs if u.startswith(base + '/')]
    assert ours, imgs   # the figures of index.ipynb
    for u in ours: assert (ROOT/u[len(base) + 1:]).is_file(), f'README image {u} names no file in the repository'

def test_ci_has_a_wheel_stage_on_the_newest_dependencies():
    "Stage 2 of .ci/run: build (sdist, then wheel), a fresh venv without [dev] or pins, pip check, the library tests."
    ci = (ROOT/'.ci'/'run').read_text()
    stage2 = ci[ci.index('stage 2'):]
    for part in ['-m build', 'python3 -m venv', 'mac_fame_be-*.whl', 'pip" check', '-m "not dev"', 'tools/versions.py']:
        assert part in stage2, part
    assert '[dev]' not in stage2 and '==' not in stage2

def test_one_home_per_name():
    """No module imports a name it does not use (no re-exports kept for old import paths, no unused imports), and every
    name of the package is imported from the module that defines it."""
    import ast
    defined, trees = {}, {}
    for p in sorted((ROOT/'mac_fame_be').glob('*.py')):
        if p.stem in ('_modidx', '__init__'): continue
        trees[p.stem] = tree = ast.parse(p.read_text())
        for n in tree.body:
            names = [n.name] if isinstance(n, (ast.FunctionDef, ast.ClassDef)) else \
                    [e.id for t in getattr(n, 'targets', []) for e in ast.walk(t) if isinstance(e, ast.Name)]
            for name in names: defined.setdefault(name, set()).add(p.stem)
    bad = []
    for mod, tree in trees.items():
        used = {e.id for e in ast.walk(tree) if isinstance(e, ast.Name)}
        for n in tree.body:
            if isinstance(n, ast.Import): names = [((a.asname or a.name).split('.')[0], None) for a in n.names]
            elif isinstance(n, ast.ImportFrom): names = [(a.asname or a.name, (n.module or '') if n.level else None) for a in n.names]
            else: continue
            for name, src in names:
                if name not in used: bad.append(f'{mod}: {name} imported, not used')
                if src and name in defined and src not in defined[name]: bad.append(f'{mod}: {name} from {src}, defined in {defined[name]}')
    assert not bad, bad
