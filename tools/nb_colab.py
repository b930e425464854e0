"""Give every notebook an "Open in Colab" badge and a first hidden cell that, on Colab, installs the package and fetches
the files the chapters read (tools/colab_setup.py: the release when there is one, else the repository).

    python tools/nb_colab.py          # add what is missing (idempotent)
    python tools/nb_colab.py --check  # exit 1 if a notebook lacks either (or has an older install cell)
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPO = 'mac-fame-be/mac_fame_be'
INSTALL = ("#| hide\n"
           "# On Colab: install the package (the release, or the repository before the first release) and fetch the files\n"
           "# the chapters read (tools/colab_setup.py); this cell is hidden in the docs\n"
           "import sys\n"
           "if 'google.colab' in sys.modules:\n"
           "    import urllib.request; _ns = {'__name__': 'colab_setup'}\n"
           f"    exec(urllib.request.urlopen('https://raw.githubusercontent.com/{REPO}/main/tools/colab_setup.py').read(), _ns); _ns['setup']()")
MARK = 'colab-badge.svg'

def badge(name): return f"[![Open In Colab](https://colab.research.google.com/assets/{MARK})](https://colab.research.google.com/github/{REPO}/blob/main/nbs/{name})"

def _cell(kind, src):
    c = {'cell_type': kind, 'metadata': {}, 'source': src.splitlines(keepends=True)}
    if kind == 'code': c.update(execution_count=None, outputs=[])
    return c

def fix(path, check=False):
    nb = json.loads(path.read_text())
    cells, changed = nb['cells'], False
    srcs = [''.join(c['source']) for c in cells]
    old = [i for i, s in enumerate(srcs) if "'google.colab' in sys.modules" in s]
    if [srcs[i] for i in old] != [INSTALL]:          # missing, or an older version of the cell: replaced
        if check: return False
        for i in reversed(old): del cells[i]
        cells.insert(0, _cell('code', INSTALL)); changed = True
    if not any(MARK in s for s in srcs):
        if check: return False
        i = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and re.search(r'^# ', ''.join(c['source']), re.M)), None)
        cells.insert(0 if i is None else i + 1, _cell('markdown', badge(path.name))); changed = True
    if changed: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return True

if __name__ == '__main__':
    check = '--check' in sys.argv
    bad = [p.name for p in sorted((ROOT/'nbs').glob('*.ipynb')) if not fix(p, check)]
    if check and bad: sys.exit(f'notebooks without the Colab badge or install cell: {bad}')
    print('ok')
