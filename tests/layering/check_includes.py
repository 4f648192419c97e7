#!/usr/bin/env python3
"""The include layering of server/: no module includes a module above it.

Each folder of server/ is one module (server/exchange/paper and
server/exchange/blofin are modules of their own, above server/exchange;
server/main.cc is the module "main"). LAYERS lists them from the bottom up; a
file may include headers of its own module and of modules in lower layers
only, never of its own layer's other modules nor of a layer above. A folder
missing from LAYERS is an error too, so a new module must be placed.

Usage: check_includes.py [--root DIR]   (DIR: the repository, default: this
file's repository). Prints each offending include as path:line and exits 1
when there is one; exits 0 otherwise. WORKSPACE.md, "Module layers",
explains the order.
"""

import argparse
import pathlib
import re
import sys

# Bottom up. Modules of one layer do not include each other.
LAYERS = [
    ["common"],                              # Decimal, status, clock, log, http
    ["metrics", "model", "price"],           # Prometheus; shared domain types; prices
    ["store", "config"],                     # SOCI store (model); config (price)
    ["exchange"],                            # Exchange interface, RecordFill
    ["exchange/paper", "exchange/blofin"],   # the two exchanges
    ["control"],                             # exchange control
    ["strategy"],                            # strategy manager
    ["cluster"],                             # cluster mode
    ["api"],                                 # gRPC services
    ["app"],                                 # ServerApp, the composition root
    ["main"],                                # server/main.cc
]

SUBMODULES = {"exchange": ("paper", "blofin")}
INCLUDE = re.compile(r'^\s*#\s*include\s*(["<])([^">]+)[">]')
SOURCES = (".h", ".cc")


def layer_of():
    """Module name -> layer index."""
    return {m: i for i, layer in enumerate(LAYERS) for m in layer}


def module_of(server_path):
    """The module of a path relative to server/ (a PurePosixPath), or None."""
    parts = server_path.parts
    if len(parts) == 1:
        return "main" if parts[0] == "main.cc" else None
    top = parts[0]
    if len(parts) > 2 and parts[1] in SUBMODULES.get(top, ()):
        return f"{top}/{parts[1]}"
    return top


def included_server_path(root, source, target, quoted):
    """Path relative to server/ of an include, or None when not in server/."""
    if target.startswith("server/"):
        return pathlib.PurePosixPath(target[len("server/"):])
    # A quoted include of a file beside the including one ("../x/y.h").
    resolved = (source.parent / target).resolve()
    if not quoted or not resolved.is_file():
        return None
    try:
        return pathlib.PurePosixPath(resolved.relative_to((root / "server").resolve()).as_posix())
    except ValueError:
        return None


def check(root):
    """Returns the list of offences (strings) in root/server."""
    layers = layer_of()
    server = root / "server"
    offences = []
    for source in sorted(server.rglob("*")):
        if source.suffix not in SOURCES or not source.is_file():
            continue
        rel = pathlib.PurePosixPath(source.relative_to(server).as_posix())
        module = module_of(rel)
        if module not in layers:
            offences.append(f"server/{rel}: module '{module}' is not in LAYERS of {__file__}")
            continue
        for number, line in enumerate(source.read_text(errors="replace").splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            target = included_server_path(root, source, match.group(2), match.group(1) == '"')
            if target is None:
                continue
            other = module_of(target)
            if other == module:
                continue
            if other not in layers:
                offences.append(f"server/{rel}:{number}: includes server/{target}, "
                                f"module '{other}' is not in LAYERS")
            elif layers[other] >= layers[module]:
                where = "the same layer" if layers[other] == layers[module] else "a higher layer"
                offences.append(f"server/{rel}:{number}: {module} includes server/{target} "
                                f"({other}, {where})")
    return offences


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parents[2],
                        help="the repository (default: this file's)")
    args = parser.parse_args()
    if not (args.root / "server").is_dir():
        print(f"{args.root}/server: not a directory", file=sys.stderr)
        return 2
    offences = check(args.root)
    for offence in offences:
        print(offence)
    if offences:
        print(f"{len(offences)} include(s) against the layering "
              f"({' < '.join('|'.join(layer) for layer in LAYERS)})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
