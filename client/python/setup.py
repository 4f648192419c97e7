"""Build hooks of xctl-client; the metadata lives in pyproject.toml.

``build_py`` generates the gRPC stubs from ``../../proto/xctl/v1/*.proto``
(relative to this file; ``$XCTL_PROTO_DIR`` overrides) with grpcio-tools into
``xctl_client/_gen/`` of the build tree (of the source tree for editable
installs). ``sdist`` adds a copy of the protos under ``proto/`` so the
source distribution builds anywhere. See gen_protos.py for the layout and the
import rewriting.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def _gen_protos() -> ModuleType:
    # Loaded by path: the build backend does not promise this directory is on sys.path.
    spec = importlib.util.spec_from_file_location("xctl_gen_protos", HERE / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen_protos = _gen_protos()


class BuildPyWithProtos(build_py):
    """build_py that first writes the generated stubs into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            out = HERE / "xctl_client" / "_gen"
        else:
            out = Path(self.build_lib) / "xctl_client" / "_gen"
        try:
            written = gen_protos.generate(out)
        except gen_protos.GenerationError as e:
            sys.exit(str(e))
        self.announce(f"generated {len(written)} gRPC stub files into {out}", level=2)


class SdistWithProtos(sdist):
    """sdist that carries a copy of the protos (``proto/xctl/v1``), so it builds outside the checkout."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        root = gen_protos.proto_root()
        target = Path(base_dir) / gen_protos.SDIST_PROTO_DIR
        try:
            protos = gen_protos.proto_files(root)
        except gen_protos.GenerationError as e:
            sys.exit(str(e))
        for rel in protos:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes((root / rel).read_bytes())


def _requirements() -> list[str]:
    try:
        return gen_protos.runtime_requirements()
    except gen_protos.GenerationError as e:
        sys.exit(str(e))


setup(cmdclass={"build_py": BuildPyWithProtos, "sdist": SdistWithProtos}, install_requires=_requirements())
