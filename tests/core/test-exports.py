#!/usr/bin/python3
"""libzc exports its API and nothing else.

The functions declared in include/zc/*.h are the API; lib/libzc.map lists
them for the linker, which hides the rest (the internals lib/ files share:
wire, duty, spin, *-private.h).  Checks, in the built libzc.so (nm -D):
every declared function is exported, and no other function is.  A new
public function missing from libzc.map, or an internal one leaking out,
fails here.  TAP on stdout.

    test-exports.py INCLUDE_DIR LIBZC_SO
"""

import glob
import os
import re
import subprocess
import sys

# A declaration at the start of a line: "type zc_name (" (GNU style).
DECL = re.compile(r'^[A-Za-z_][\w \*]*?[ \*](zc_\w+) \(', re.M)


def declared(include_dir):
    names = set()
    for path in glob.glob(os.path.join(include_dir, 'zc', '*.h')):
        with open(path) as fp:
            names.update(DECL.findall(fp.read()))
    return names


def exported(lib):
    """The functions @lib exports (text symbols in its dynamic table)."""
    out = subprocess.run(['nm', '-D', '--defined-only', lib],
                         capture_output=True, text=True, check=True).stdout
    return {f[2] for f in (line.split() for line in out.splitlines())
            if len(f) == 3 and f[1] == 'T'}


def main():
    include_dir, lib = sys.argv[1], sys.argv[2]
    api = declared(include_dir)
    functions = exported(lib)
    checks = [
        ('the headers declare the API (over 100 zc_ functions)',
         None if len(api) > 100 else 'only %d found' % len(api)),
        ('every function include/zc/ declares is exported',
         ', '.join(sorted(api - functions)) or None),
        ('no function is exported that include/zc/ does not declare',
         ', '.join(sorted(functions - api)) or None),
    ]
    print('1..%d' % len(checks))
    failed = 0
    for i, (name, why) in enumerate(checks, 1):
        print('%s %d - %s' % ('not ok' if why else 'ok', i, name))
        if why:
            failed += 1
            print('# ' + why)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
