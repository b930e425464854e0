"""What every notebook's first cell runs on Colab (tools/nb_colab.py writes that cell): install the package and put
the files the chapters read beside the notebook, whether or not a release exists yet.

1. `pip install mac_fame_be`: the release from the package index, when there is one;
2. otherwise the repository: pip installs its archive (`REF`, a branch or tag, of `REPO`);
3. either way, the repository's `FILES` (e.g. `nbs/11_benchmark_results/`, read by the index and the benchmark
   chapter) are copied from the archive into the current folder, where the notebook runs (`nbs/` dropped).

Standard library only: it runs before anything is installed. Tested on the CPU with a fake package index and
local archives (tests/test_colab_setup.py):

    python tools/colab_setup.py [--archive URL] [--dest DIR] [pip options, e.g. --index-url URL]
"""
import io, shutil, subprocess, sys, tarfile, urllib.request
from pathlib import Path, PurePosixPath

REPO, REF, PACKAGE = 'mac-fame-be/mac_fame_be', 'main', 'mac_fame_be'
FILES = ('nbs/11_benchmark_results', 'nbs/11_benchmark_tune.py', 'nbs/11_benchmark_final.py')   # the scripts: the chapter's slow cells run them

def archive_url(repo=REPO, ref=REF): return f'https://github.com/{repo}/archive/{ref}.tar.gz'

def pip_install(target, pip_args=(), run=subprocess.run):
    "`pip install -q [pip_args] target`; -> True when it installed."
    return run([sys.executable, '-m', 'pip', 'install', '-q', *pip_args, target]).returncode == 0

def extract(archive: bytes, files=FILES, dest='.'):
    "Copy `files` (repository paths, files or folders) out of a repository archive into `dest`, `nbs/` dropped. -> paths"
    out = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode='r:gz') as t:
        for m in t.getmembers():
            rel = PurePosixPath(*PurePosixPath(m.name).parts[1:])     # drop the archive's top folder (REPO-REF/)
            if not m.isfile() or not any(rel == PurePosixPath(f) or PurePosixPath(f) in rel.parents for f in files): continue
            p = Path(dest, *(rel.parts[1:] if rel.parts[0] == 'nbs' else rel.parts))
            p.parent.mkdir(parents=True, exist_ok=True)
            with t.extractfile(m) as src, open(p, 'wb') as dst: shutil.copyfileobj(src, dst)
            out.append(p)
    if not out: raise FileNotFoundError(f'none of {list(files)} in the repository archive')
    return out

def setup(url=None, files=FILES, dest='.', pip_args=(), package=PACKAGE, run=subprocess.run):
    "Install `package` (the release, else the repository archive at `url`) and fetch `files`. -> 'release' | 'repository'"
    url = url or archive_url()
    source = 'release' if pip_install(package, pip_args, run) else None
    archive = urllib.request.urlopen(url).read()
    if source is None:
        tmp = Path(dest, f'.{package}-source.tar.gz'); tmp.write_bytes(archive)
        try:
            if not pip_install(str(tmp), pip_args, run): raise RuntimeError(f'could not install {package} from {url}')
        finally: tmp.unlink(missing_ok=True)
        source = 'repository'
    got = extract(archive, files, dest)
    print(f'{package}: installed from the {source}; {len(got)} files of {", ".join(files)} in {Path(dest).resolve()}')
    return source

if __name__ == '__main__':
    args, kw = sys.argv[1:], {}
    for opt in ('--archive', '--dest'):
        if opt in args: i = args.index(opt); kw['url' if opt == '--archive' else 'dest'] = args[i + 1]; del args[i:i + 2]
    setup(pip_args=args, **kw)
