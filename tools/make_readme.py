"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does, without Quarto, which cannot be installed here).

Hidden cells (`#| hide`) are dropped, cell directives are stripped, outputs are kept. Image links point at the
repository's raw files (from settings.ini's `git_url` and `branch`), so they also show on the package index's page.
`python tools/make_readme.py --check` exits 1 when README.md is out of date.
"""
import configparser, re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
_directive = re.compile(r'^\s*#\s*\|')

def raw_url(settings=ROOT/'settings.ini'):
    "Where the repository's files are served raw: `git_url` + `branch` of settings.ini (GitHub's raw host)."
    cfg = configparser.ConfigParser(); cfg.read(settings)
    d = cfg['DEFAULT']
    m = re.match(r'https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$', d['git_url'])
    if not m: raise ValueError(f"git_url must be https://github.com/OWNER/REPO, got {d['git_url']!r}")
    return f"https://raw.githubusercontent.com/{m[1]}/{m[2]}/{d['branch']}"

def absolute_images(md, base):
    "Point relative image links (markdown `![](x)` and HTML `<img src=\"x\">`) at `base/x`."
    md = re.sub(r'(!\[[^\]]*\]\()(?![a-z]+:|/|#)([^)\s]+)', lambda m: f'{m[1]}{base}/{m[2]}', md)
    return re.sub(r'(<img\b[^>]*?\bsrc=")(?![a-z]+:|/|#)([^"]+)', lambda m: f'{m[1]}{base}/{m[2]}', md)

def readme_text(nb_path=ROOT/'nbs'/'index.ipynb'):
    nb = nbformat.read(str(nb_path), as_version=4)
    cells = []
    for c in nb.cells:
        lines = c.source.splitlines()
        if c.cell_type == 'code' and any(re.match(r'^\s*#\s*\|\s*(hide|exporti?|default_exp)\b', l) for l in lines): continue
        c.source = '\n'.join(l for l in lines if not _directive.match(l)).strip()
        if c.source or c.get('outputs'): cells.append(c)
    nb.cells = cells
    md, res = MarkdownExporter().from_notebook_node(nb, resources={'output_files_dir': 'README_files'})
    md = absolute_images(re.sub(r'\n{3,}', '\n\n', md).strip() + '\n', raw_url())
    return '<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->\n\n' + md, res.get('outputs', {})

if __name__ == '__main__':
    (text, files), out = readme_text(), ROOT/'README.md'
    if '--check' in sys.argv:
        ok = out.exists() and out.read_text() == text and all((ROOT/f).exists() and (ROOT/f).read_bytes() == b for f, b in files.items())
        print('README.md is up to date' if ok else 'README.md is out of date: run python tools/make_readme.py')
        sys.exit(0 if ok else 1)
    out.write_text(text)
    for f, b in files.items(): (ROOT/f).parent.mkdir(exist_ok=True); (ROOT/f).write_bytes(b)
    print(f'wrote {out}')
