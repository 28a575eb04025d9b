"""The wheel's build hook (hatchling): the built-in bank validated once, at build time.

It ships the bank's index (see `bank_cache.build_index`), so that the first `interviewer bank list`
after installing reads it instead of parsing 1 MB of TOML, which alone costs as much as a bare
Typer app's whole start-up. This file is not part of the wheel. An editable install reads the bank
from the checkout and caches it on first use, as it does after every edit.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class BankIndexHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        sys.path.insert(0, self.root)
        from interviewer import bank, bank_cache

        files = bank_cache.bank_files(Path(self.root) / "bank")
        loaded = [bank.load_file(file) for file in files]
        problems = [problem for _, found in loaded for problem in found]
        if problems:
            raise RuntimeError("the built-in bank is not valid:\n" + "\n".join(problems))
        entries = [bank.cache_entries(questions) for questions, _ in loaded]
        index = bank_cache.build_index(files, [d for d, _ in entries], [listed for _, listed in entries])
        out = Path(tempfile.mkdtemp(prefix="interviewer-bank-index-"))
        for kind, document in index.items():
            target = out / f"index.{kind}"
            target.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
            build_data["force_include"][str(target)] = f"interviewer/{bank_cache.SHIPPED.name}/index.{kind}"
