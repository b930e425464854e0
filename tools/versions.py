"""Print the Python version and the installed version of each of mac_fame_be's runtime requirements (and of nbdev,
fastcore, pytest where installed), on one line: what a CI stage ran on.

    python tools/versions.py
"""
import importlib.metadata as md, platform, re

def versions():
    names = ['mac_fame_be'] + [re.split(r'[<>=!~; \[]', r)[0] for r in md.requires('mac_fame_be') or [] if 'extra ==' not in r]
    out = {'python': platform.python_version()}
    for n in names + ['fastcore', 'nbdev', 'pytest']:
        try: out[n] = md.version(n)
        except md.PackageNotFoundError: pass
    return out

if __name__ == '__main__': print(' '.join(f'{k} {v}' for k, v in versions().items()))
