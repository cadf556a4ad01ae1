#!/usr/bin/env python3
"""Fails when a doc example of a member crate names another switchyard crate,
listing file:line and the name.

A doc example (the Rust code blocks of `///` and `//!` comments, hidden `# `
lines included) of crates/X is pasted into projects that depend on that
crate alone: it may name its own library, std, and crates its API already
makes a user have (futures, bytes), but not switchyard_Y for another Y, nor
the whole toolkit (`switchyard::`). Each crate re-exports what its examples
need instead (`switchyard_tcp::rt::block_on`, `switchyard_tcp::Typed`).
The Rust blocks of crates/X/README.md are held to the same rule.

A block is Rust as rustdoc decides it: no word of its info string names
another language, or `rust` is one of them, or a doc-test attribute
(`ignore`, `no_run`, ...) comes before the first that does. `text`, `sh`,
`toml` and the like are skipped; `ignore` and `no_run` blocks are checked.
Links in the prose around the blocks are not code and are not checked.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Doc-test attributes: words of a Rust block's info string.
RUST_WORDS = re.compile(
    r"ignore(-.*)?|no_run|should_panic|compile_fail|test_harness|"
    r"standalone_crate|edition\d{4}|E\d{4}"
)
DOC_LINE = re.compile(r"^\s*(///(?!/)|//!)(.*)$")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
NAMES = [
    # switchyard_tcp::connect, ::switchyard_rt::spawn
    re.compile(r"\b(switchyard_\w+)\s*::"),
    # use switchyard_rt; use switchyard_rt as rt; extern crate switchyard_ws;
    re.compile(r"\b(?:use|extern\s+crate)\s+(switchyard(?:_\w+)?)\b"),
    # the whole toolkit: switchyard::frame::...
    re.compile(r"\b(switchyard)\s*::"),
]


def library_name(manifest):
    """The library's name: [lib] name, else the package's name with `_`."""
    table, names = None, {}
    for line in manifest.read_text().splitlines():
        header = re.match(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$", line)
        if header:
            table = header.group(1).strip()
            continue
        name = re.match(r'^\s*name\s*=\s*"([^"]+)"', line)
        if name and table in ("package", "lib") and table not in names:
            names[table] = name.group(1)
    return names.get("lib", names["package"]).replace("-", "_")


def is_rust(info):
    """Whether rustdoc tests a block with this info string as Rust."""
    other = attribute = False
    for word in re.split(r"[\s,]+", info.strip()):
        if word == "rust":
            return True
        if RUST_WORDS.fullmatch(word):
            attribute = attribute or not other
        elif word:
            other = True
    return attribute or not other


def rust_blocks(lines, doc):
    """The Rust code blocks of doc comments when `doc`, else of a Markdown
    file: each a list of (line number, text)."""
    fence = None  # the open fence (its characters), None outside a block
    block = None  # the lines of the open block, if it is Rust
    for number, line in enumerate(lines, 1):
        if doc:
            comment = DOC_LINE.match(line)
            if not comment:
                if block is not None:  # a doc comment ends with its lines
                    yield block
                fence = block = None
                continue
            text = comment.group(2)
        else:
            text = line
        opening = FENCE.match(text)
        if fence is None:
            if opening:
                fence = opening.group(1)
                block = [] if is_rust(opening.group(2)) else None
        elif (
            opening
            and opening.group(1)[0] == fence[0]
            and len(opening.group(1)) >= len(fence)
            and not opening.group(2).strip()
        ):
            if block is not None:
                yield block
            fence = block = None
        elif block is not None:
            block.append((number, text))
    if block is not None:
        yield block


def main():
    failures, blocks, crates = [], 0, 0
    for manifest in sorted(ROOT.glob("crates/*/Cargo.toml")):
        crates += 1
        crate = manifest.parent
        own = library_name(manifest)
        files = [(p, True) for p in sorted((crate / "src").rglob("*.rs"))]
        if (crate / "README.md").exists():
            files.append((crate / "README.md", False))
        for path, doc in files:
            for block in rust_blocks(path.read_text().splitlines(), doc):
                blocks += 1
                for number, text in block:
                    named = {m for pattern in NAMES for m in pattern.findall(text)}
                    for name in sorted(named - {own}):
                        failures.append(f"{path.relative_to(ROOT)}:{number}: {name} (in {own})")
    if failures:
        sys.exit("doc examples that name another switchyard crate:\n  " + "\n  ".join(failures))
    print(f"{blocks} doc examples in {crates} crates: each names only its own crate")


main()
