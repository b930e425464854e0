"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does, without Quarto, which cannot be installed here).

Hidden cells (`#| hide`) are dropped, cell directives are stripped (`#| echo: false` keeps the output alone), outputs
are kept. The package index's page renders neither HTML styles nor MathJax, so pandas tables become Markdown tables
and TeX formulas Unicode text (`tex_to_text`). Image links point at the repository's raw files (from settings.ini's
`git_url` and `branch`), so they also show there. The index's "Reading path" cell is written from the sidebar
(nbs/sidebar.yml, `reading_path`) first, so neither the docs home nor the README can list the chapters otherwise.
`python tools/make_readme.py --check` exits 1 when README.md is out of date.
"""
import configparser, html, re, sys
from html.parser import HTMLParser
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

class _Table(HTMLParser):
    "The rows of the first HTML table: `head` and `body`, each a list of rows of cell texts."
    def __init__(self):
        super().__init__(); self.head, self.body, self._sec, self._cell, self._span = [], [], None, None, 1
    def handle_starttag(self, tag, attrs):
        if tag in ('thead', 'tbody'): self._sec = self.head if tag == 'thead' else self.body
        elif tag == 'tr' and self._sec is not None: self._sec.append([])
        elif tag in ('th', 'td') and self._sec is not None: self._cell, self._span = '', int(dict(attrs).get('colspan') or 1)
    def handle_endtag(self, tag):   # a cell spanning k columns (a MultiIndex header's top level) fills all k
        if tag in ('th', 'td') and self._cell is not None: self._sec[-1] += [' '.join(self._cell.split())] * self._span; self._cell = None
    def handle_data(self, data):
        if self._cell is not None: self._cell += data

def html_table_to_markdown(text):
    "A pandas DataFrame's HTML (with its `<style scoped>`) as a Markdown table; header rows merged per column."
    t = _Table(); t.feed(text)
    n = max(len(r) for r in t.head + t.body)
    head = [' / '.join(c for c in col if c) for col in zip(*[r + [''] * (n - len(r)) for r in t.head])] if t.head else [''] * n
    esc = lambda c: c.replace('|', '\\|')
    rows = ['| ' + ' | '.join(map(esc, head)) + ' |', '|' + ' --- |' * n]
    rows += ['| ' + ' | '.join(map(esc, r + [''] * (n - len(r)))) + ' |' for r in t.body]
    return '\n'.join(rows)

_TEX = {r'\alpha': 'α', r'\beta': 'β', r'\gamma': 'γ', r'\lambda': 'λ', r'\mu': 'μ', r'\sigma': 'σ', r'\tau': 'τ',
        r'\theta': 'θ', r'\odot': '⊙', r'\cdot': '·', r'\times': '×', r'\sum': 'Σ', r'\in': '∈', r'\le': '≤', r'\ge': '≥',
        r'\to': '→', r'\,': ' ', r'\;': ' ', r'\ ': ' '}

def tex_to_text(md):
    "Inline TeX (`$...$`) as Unicode text: `$\\hat X = \\alpha\\,(M \\odot X)$` → `X̂ = α (M ⊙ X)`."
    def conv(m):
        f = m[1]
        f = re.sub(r'\\(hat|tilde)\s*\{?\s*([A-Za-z])\}?', lambda a: a[2] + ('\u0302' if a[1] == 'hat' else '\u0303'), f)
        for k in sorted(_TEX, key=len, reverse=True): f = f.replace(k, _TEX[k])
        f = re.sub(r'([_^])\{([^{}]*)\}', r'\1\2', f).replace('{', '').replace('}', '')
        return re.sub(r'\\([A-Za-z]+)', r'\1', f).replace('-', '−') if '$' not in f else m[0]
    return re.sub(r'(?<![\\$])\$([^$\n]+?)\$(?!\$)', conv, md)

def _title_and_summary(nb_path):
    nb = nbformat.read(str(nb_path), as_version=4)
    md = '\n'.join(c.source for c in nb.cells if c.cell_type == 'markdown')
    title = re.search(r'^# (.+)$', md, re.M)
    summary = re.search(r'^> (.+)$', md, re.M)
    return (title[1].strip() if title else nb_path.stem), (summary[1].strip() if summary else '')

def reading_path(nbs=ROOT/'nbs'):
    "The chapters in the sidebar's order (nbs/sidebar.yml), as a numbered Markdown list linking to the docs site."
    import yaml
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini'); d = cfg['DEFAULT']
    site = d['doc_host'].rstrip('/') + d['doc_baseurl'].rstrip('/')
    pages = yaml.safe_load((nbs/'sidebar.yml').read_text())['website']['sidebar']['contents']
    lines = []
    for page in pages:
        if page == 'index.ipynb': continue
        title, summary = _title_and_summary(nbs/page)
        lines.append(f"{len(lines) + 1}. [{title}]({site}/{Path(page).stem}.html){' — ' + summary if summary else ''}")
    return '\n'.join(lines)

READING = '## Reading path'

def update_reading_path(nb_path=ROOT/'nbs'/'index.ipynb', write=True):
    "Rewrite the index's cell that starts with `## Reading path` from the sidebar. -> True when it changed"
    nb = nbformat.read(str(nb_path), as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == 'markdown' and c.source.startswith(READING))
    new = f"{READING}\n\nThe chapters in the sidebar's order; each builds on the ones before it.\n\n{reading_path(nb_path.parent)}"
    if cell.source == new: return False
    cell.source = new
    if write: nbformat.write(nb, str(nb_path))
    return True

def readme_text(nb_path=ROOT/'nbs'/'index.ipynb'):
    nb = nbformat.read(str(nb_path), as_version=4)
    cells = []
    for c in nb.cells:
        lines = c.source.splitlines()
        if c.cell_type == 'code' and any(re.match(r'^\s*#\s*\|\s*(hide|exporti?|default_exp)\b', l) for l in lines): continue
        if c.cell_type == 'code' and any(re.match(r'^\s*#\s*\|\s*echo:\s*false', l) for l in lines): c.source = ''
        c.source = '\n'.join(l for l in lines if not _directive.match(l)).strip()
        if c.cell_type == 'markdown': c.source = tex_to_text(c.source)
        for o in c.get('outputs', []):
            h = o.get('data', {}).get('text/html', '')
            if 'class="dataframe"' in h: o['data'] = {'text/markdown': html_table_to_markdown(h)}
        if c.source or c.get('outputs'): cells.append(c)
    nb.cells = cells
    md, res = MarkdownExporter().from_notebook_node(nb, resources={'output_files_dir': 'README_files'})
    md = absolute_images(re.sub(r'\n{3,}', '\n\n', md).strip() + '\n', raw_url())
    return '<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->\n\n' + md, res.get('outputs', {})

if __name__ == '__main__':
    if '--check' not in sys.argv: update_reading_path()
    (text, files), out = readme_text(), ROOT/'README.md'
    if '--check' in sys.argv:
        if update_reading_path(write=False): print('the index\'s Reading path differs from nbs/sidebar.yml: run python tools/make_readme.py'); sys.exit(1)
        ok = out.exists() and out.read_text() == text and all((ROOT/f).exists() and (ROOT/f).read_bytes() == b for f, b in files.items())
        print('README.md is up to date' if ok else 'README.md is out of date: run python tools/make_readme.py')
        sys.exit(0 if ok else 1)
    out.write_text(text)
    for f, b in files.items(): (ROOT/f).parent.mkdir(exist_ok=True); (ROOT/f).write_bytes(b)
    print(f'wrote {out}')
