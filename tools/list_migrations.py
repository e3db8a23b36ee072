#!/usr/bin/env python3
"""Prints the migration files (migrations/NNNN_name.{sqlite,pg}.sql), one per line, sorted."""
import os
import sys

d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if name.endswith('.sqlite.sql') or name.endswith('.pg.sql'):
        print(os.path.join(d, name))
