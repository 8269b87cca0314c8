"""The confirm child: `python -m jitlint.confirm.child REPORT_FILE`, a Request on stdin.

It imports one user module the way Python would import it from the project (its `if __name__ ==
"__main__":` block does not run), traces the functions its findings concern with JAX, and writes
a Report as JSON to REPORT_FILE. Whatever the module does (prints, sys.exit, threads that never
end), the report is written and the process ends with `os._exit`. The parent sets a timeout and
kills the whole process group when it passes.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType

from jitlint.confirm.protocol import Report, Request, Result
from jitlint.findings import ConfirmStatus


def main(argv: list[str]) -> None:
    report_path = Path(argv[1])
    request = Request.from_json(json.loads(sys.stdin.read()))
    report = confirm_module(request)
    temporary = report_path.with_suffix(".partial")
    temporary.write_text(json.dumps(report.to_json()), encoding="utf-8")
    os.replace(temporary, report_path)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # threads the module started must not keep the child alive


def confirm_module(request: Request) -> Report:
    """Import jax and the module, then check every finding."""
    sys.dont_write_bytecode = True  # leave no __pycache__ in the user's project
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    import jax

    from jitlint.confirm import checks

    if _wants_64_bits(request):  # f64 and i64 examples would silently become 32-bit otherwise
        jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    after_jax = time.perf_counter()
    module, failure = import_user_module(request)
    if module is None:
        results = [Result(check.id, ConfirmStatus.UNVERIFIED.value, failure) for check in request.checks]
    else:
        found = checks.verdicts(module, list(request.checks), time.perf_counter)
        results = [
            Result(check.id, verdict[0].value, verdict[1], round(seconds, 4))
            for check in request.checks
            for verdict, seconds in [found[check.id]]
        ]
    finished = time.perf_counter()
    return Report(tuple(results), round(after_jax - started, 4), round(finished - after_jax, 4))


def _wants_64_bits(request: Request) -> bool:
    text = json.dumps([check.arguments for check in request.checks])
    return '"f64"' in text or '"i64"' in text


def import_user_module(request: Request) -> tuple[ModuleType | None, str]:
    """The imported module, or None and why the import failed."""
    sys.path.insert(0, request.root)
    from jitlint.confirm.observe import captured_output

    with captured_output():  # what the module prints at import is not ours to show
        try:
            return importlib.import_module(request.module), ""
        except SystemExit as error:
            return None, f"import failed: the module called sys.exit({error.code!r})"
        except BaseException as error:  # any failure of user code is a reason, not a crash
            text = str(error).strip().splitlines()
            detail = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
            return None, f"import failed: {detail}"


if __name__ == "__main__":
    main(sys.argv)
