"""Generates the xctl gRPC stubs for Python from the repository's protos.

Used by setup.py at build time (``build_py``), and runnable by hand for
development (``python gen_protos.py`` writes ``xctl_client/_gen/`` next to this
file, which is all ``import xctl_client`` needs from a source checkout).

Layout: protoc runs with ``-I <repo>/proto``, so the files land in
``xctl_client/_gen/xctl/v1/*_pb2.py`` (plus ``.pyi`` type stubs and
``*_pb2_grpc.py``). protoc writes imports such as ``from xctl.v1 import
types_pb2``; they are rewritten to ``from xctl_client._gen.xctl.v1 import
types_pb2`` so the generated modules live inside the package and never claim a
top-level ``xctl`` package. Descriptor names stay ``xctl/v1/*.proto``, as in
every other language.

The proto directory is ``../../proto`` relative to this file (the xctl
checkout), or ``$XCTL_PROTO_DIR`` when set; an sdist carries a copy in
``proto/`` next to this file. Building without any of them fails with a
message that says so.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = "xctl_client"
GEN_PACKAGE = f"{PACKAGE}._gen"
PROTO_SUBDIR = Path("xctl") / "v1"
SDIST_PROTO_DIR = "proto"  # where an sdist carries its copy of the protos

_IMPORT_RE = re.compile(r"^(\s*)from xctl\.v1 import ", re.MULTILINE)
_LEFTOVER_RE = re.compile(r"^\s*(from|import) xctl\b", re.MULTILINE)
_GENCODE_RE = re.compile(r"^# Protobuf Python Version: (\S+)$", re.MULTILINE)


class GenerationError(RuntimeError):
    """The stubs could not be generated; the message says why and what to do."""


def proto_root() -> Path:
    """The directory holding ``xctl/v1/*.proto``.

    ``$XCTL_PROTO_DIR`` when set; else the checkout's ``../../proto``; else the
    ``proto/`` copy that an sdist carries (setup.py puts it there).
    """
    env = os.environ.get("XCTL_PROTO_DIR")
    if env:
        return Path(env).resolve()
    checkout = (HERE / ".." / ".." / "proto").resolve()
    bundled = HERE / SDIST_PROTO_DIR
    if not (checkout / PROTO_SUBDIR).is_dir() and (bundled / PROTO_SUBDIR).is_dir():
        return bundled
    return checkout


def proto_files(root: Path | None = None) -> list[Path]:
    """The protos to compile, relative to ``root``; raises GenerationError when there are none."""
    root = root or proto_root()
    files = sorted((root / PROTO_SUBDIR).glob("*.proto"))
    if not files:
        source = "$XCTL_PROTO_DIR" if os.environ.get("XCTL_PROTO_DIR") else "../../proto"
        raise GenerationError(
            f"xctl-client: no proto files in {root / PROTO_SUBDIR} ({source}). The gRPC stubs are "
            "generated at build time from the xctl repository's proto/xctl/v1/*.proto: build "
            "client/python from an xctl checkout (pip install <repo>/client/python), or set "
            "XCTL_PROTO_DIR to a directory holding xctl/v1/*.proto."
        )
    return [f.relative_to(root) for f in files]


def _protoc(args: list[str]) -> None:
    try:
        from grpc_tools import protoc  # type: ignore[import-untyped]
    except ImportError as e:  # pragma: no cover - only without the build requirement
        raise GenerationError(
            "xctl-client: grpcio-tools is needed to generate the gRPC stubs "
            "(pip installs it automatically as a build requirement; for a manual run: "
            "pip install grpcio-tools)"
        ) from e
    import importlib.resources

    well_known = str(importlib.resources.files("grpc_tools") / "_proto")
    code = protoc.main(["grpc_tools.protoc", f"-I{well_known}", *args])
    if code != 0:
        raise GenerationError(f"xctl-client: grpc_tools.protoc failed (exit {code}); see its output above")


def generate(out_dir: Path, root: Path | None = None) -> list[Path]:
    """Writes the stubs into ``out_dir`` (the ``xctl_client/_gen`` directory), replacing it.

    Returns the files written.
    """
    root = root or proto_root()
    files = proto_files(root)
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    _protoc(
        [
            f"-I{root}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *(str(f) for f in files),
        ]
    )
    written: list[Path] = []
    for path in sorted(out_dir.rglob("*.py*")):
        text = path.read_text(encoding="utf-8")
        text = _IMPORT_RE.sub(rf"\1from {GEN_PACKAGE}.xctl.v1 import ", text)
        leftover = _LEFTOVER_RE.search(text)
        if leftover:
            raise GenerationError(
                f"xctl-client: unexpected import left in generated {path.name}: {leftover.group(0).strip()!r}"
            )
        path.write_text(text, encoding="utf-8")
        written.append(path)
    # Regular packages, so the generated modules import as xctl_client._gen.xctl.v1.*.
    for pkg in (out_dir, out_dir / "xctl", out_dir / PROTO_SUBDIR):
        init = pkg / "__init__.py"
        init.write_text('"""Generated from proto/xctl/v1 by gen_protos.py. Do not edit."""\n', encoding="utf-8")
        written.append(init)
    return written


def runtime_requirements(root: Path | None = None) -> list[str]:
    """``grpcio`` and ``protobuf`` requirements matching the stubs this grpcio-tools generates.

    Generated modules refuse to import with an older grpcio than the
    grpcio-tools that wrote them, or an older protobuf than the protoc gencode
    version, so both minimums come from the build environment.
    """
    from grpc_tools import grpc_version  # type: ignore[import-untyped]

    root = root or proto_root()
    types_proto = PROTO_SUBDIR / "types.proto"
    if not (root / types_proto).is_file():
        proto_files(root)  # raises the clear error when the directory is missing
    with tempfile.TemporaryDirectory() as tmp:
        _protoc([f"-I{root}", f"--python_out={tmp}", str(types_proto)])
        text = (Path(tmp) / PROTO_SUBDIR / "types_pb2.py").read_text(encoding="utf-8")
    match = _GENCODE_RE.search(text)
    protobuf_req = f"protobuf>={match.group(1)}" if match else "protobuf"
    # grpcio-status decodes the status details (google.rpc.ErrorInfo, ...) of xctld's errors.
    return [f"grpcio>={grpc_version.VERSION}", f"grpcio-status>={grpc_version.VERSION}", protobuf_req]


def main() -> int:
    """Generates into ``xctl_client/_gen`` next to this file (development use)."""
    try:
        written = generate(HERE / PACKAGE / "_gen")
    except GenerationError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"generated {len(written)} files into {HERE / PACKAGE / '_gen'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
