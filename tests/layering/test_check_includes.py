#!/usr/bin/env python3
"""Tests of check_includes.py on small trees written to a temporary folder:
it passes a tree that keeps the layering and fails each kind of include that
runs back up (a lower module, a module of the same layer, a relative path, a
folder missing from LAYERS)."""

import pathlib
import subprocess
import sys
import tempfile
import unittest

CHECKER = pathlib.Path(__file__).resolve().parent / "check_includes.py"


class CheckIncludesTest(unittest.TestCase):
    def run_on(self, files):
        """Writes files ({path: text}) under a fresh root and runs the checker."""
        with tempfile.TemporaryDirectory() as root:
            for path, text in files.items():
                p = pathlib.Path(root, path)
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text)
            return subprocess.run([sys.executable, str(CHECKER), "--root", root],
                                  capture_output=True, text=True, check=False)

    def test_downward_includes_pass(self):
        r = self.run_on({
            "server/common/decimal.h": "#pragma once\n",
            "server/model/types.h": '#include "server/common/decimal.h"\n',
            "server/store/store.h": '#include "server/model/types.h"\n#include <string>\n',
            "server/exchange/paper/paper_exchange.h": '#include "server/exchange/exchange.h"\n',
            "server/exchange/exchange.h": '#include "server/store/store.h"\n',
            "server/main.cc": '#include "server/api/server_app.h"\n#include <signal.h>\n',
            "server/api/server_app.h": '#include "server/exchange/paper/paper_exchange.h"\n',
        })
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")

    def test_store_including_exchange_fails(self):
        r = self.run_on({
            "server/exchange/types.h": "#pragma once\n",
            "server/store/repositories.h": '#pragma once\n#include "server/exchange/types.h"\n',
        })
        self.assertEqual(r.returncode, 1)
        self.assertIn("server/store/repositories.h:2: store includes server/exchange/types.h "
                      "(exchange, a higher layer)", r.stdout)

    def test_exchange_including_its_paper_exchange_fails(self):
        r = self.run_on({"server/exchange/exchange_store.cc":
                         '#include "server/exchange/paper/ledger.h"\n'})
        self.assertEqual(r.returncode, 1)
        self.assertIn("(exchange/paper, a higher layer)", r.stdout)

    def test_same_layer_fails(self):
        r = self.run_on({"server/exchange/blofin/json.h":
                         '#include "server/exchange/paper/arrival.h"\n'})
        self.assertEqual(r.returncode, 1)
        self.assertIn("(exchange/paper, the same layer)", r.stdout)

    def test_relative_include_fails(self):
        r = self.run_on({
            "server/control/kpis.h": "#pragma once\n",
            "server/model/types.h": '#include "../control/kpis.h"\n',
        })
        self.assertEqual(r.returncode, 1)
        self.assertIn("model includes server/control/kpis.h (control, a higher layer)", r.stdout)

    def test_unknown_module_fails(self):
        r = self.run_on({"server/newmodule/x.h": '#include "server/common/log.h"\n'})
        self.assertEqual(r.returncode, 1)
        self.assertIn("module 'newmodule' is not in LAYERS", r.stdout)


if __name__ == "__main__":
    unittest.main()
