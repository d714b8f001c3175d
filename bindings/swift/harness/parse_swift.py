#!/usr/bin/env python3
"""Parse Swift files with tree-sitter-swift; fail on any ERROR or MISSING node.

    parse_swift.py FILE.swift...

The one construct tolerated is uniffi's `@_documentation(visibility: …)`
attribute, always alone on its line inside `#if swift(>=5.8)`: it is valid
Swift (an underscored attribute, Swift >= 5.8) that tree-sitter-swift does
not know. Each such line is blanked to spaces of the same length before
parsing (so every reported line/column is still the file's own); nothing
else is changed. Prints a per-file summary and `N passed, N failed`.
"""

import re
import sys

import tree_sitter_swift
from tree_sitter import Language, Parser

DOC_ATTR = re.compile(rb"^[ \t]*@_documentation\(visibility: *[A-Za-z]+\)[ \t]*$", re.M)


def blank(m: "re.Match[bytes]") -> bytes:
    return b" " * len(m.group(0))


def problems(node):
    """Yield every ERROR or MISSING node under `node` (outermost only)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            yield n
            continue
        if n.has_error:
            stack.extend(reversed(n.children))


def main(paths) -> int:
    parser = Parser(Language(tree_sitter_swift.language()))
    passed = failed = 0
    for path in paths:
        src = open(path, "rb").read()
        stripped, attrs = DOC_ATTR.subn(blank, src)
        tree = parser.parse(stripped)
        bad = list(problems(tree.root_node))
        lines = src.split(b"\n")
        for n in bad[:20]:
            row, col = n.start_point
            kind = f"MISSING {n.type}" if n.is_missing else "ERROR"
            text = lines[row].decode("utf-8", "replace").strip()[:100]
            print(f"{path}:{row + 1}:{col + 1}: {kind}: {text}", file=sys.stderr)
        n_lines = src.count(b"\n")
        if bad:
            failed += 1
            print(f"parse-swift: {path}: {len(bad)} ERROR/MISSING nodes ({n_lines} lines)")
        else:
            passed += 1
            print(f"parse-swift: {path}: ok ({n_lines} lines, "
                  f"{tree.root_node.descendant_count} nodes, {attrs} @_documentation lines blanked)")
    print(f"parse-swift: {passed} passed, {failed} failed")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
