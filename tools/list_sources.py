#!/usr/bin/env python3
"""Prints the C files under the given directories (recursively), one per line, sorted.

meson.build uses it so a new module is built without editing the build file
(re-run `meson setup --reconfigure` after adding one). --exclude DIR leaves a
subtree (or one file) out.
"""
import os
import sys

args = sys.argv[1:]
exclude = []
roots = []
while args:
    a = args.pop(0)
    if a == '--exclude':
        exclude.append(os.path.normpath(args.pop(0)))
    else:
        roots.append(a)
out = []
for root in roots:
    for d, dirs, files in os.walk(root):
        if any(os.path.normpath(d) == x or os.path.normpath(d).startswith(x + os.sep) for x in exclude):
            continue
        out += [os.path.join(d, f) for f in files
                if f.endswith('.c') and os.path.normpath(os.path.join(d, f)) not in exclude]
print('\n'.join(sorted(out)))
