"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does, without Quarto, which cannot be installed here).

Hidden cells (`#| hide`) are dropped, cell directives are stripped, outputs are kept.
`python tools/make_readme.py --check` exits 1 when README.md is out of date.
"""
import re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
_directive = re.compile(r'^\s*#\s*\|')

def readme_text(nb_path=ROOT/'nbs'/'index.ipynb'):
    nb = nbformat.read(str(nb_path), as_version=4)
    cells = []
    for c in nb.cells:
        lines = c.source.splitlines()
        if c.cell_type == 'code' and any(re.match(r'^\s*#\s*\|\s*(hide|exporti?|default_exp)\b', l) for l in lines): continue
        c.source = '\n'.join(l for l in lines if not _directive.match(l)).strip()
        if c.source or c.get('outputs'): cells.append(c)
    nb.cells = cells
    md, _ = MarkdownExporter().from_notebook_node(nb)
    md = re.sub(r'\n{3,}', '\n\n', md).strip() + '\n'
    return '<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->\n\n' + md

if __name__ == '__main__':
    text, out = readme_text(), ROOT/'README.md'
    if '--check' in sys.argv:
        ok = out.exists() and out.read_text() == text
        print('README.md is up to date' if ok else 'README.md is out of date: run python tools/make_readme.py')
        sys.exit(0 if ok else 1)
    out.write_text(text)
    print(f'wrote {out}')
