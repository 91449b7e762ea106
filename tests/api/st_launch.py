"""Runs the schemathesis CLI (arguments as for `schemathesis`), with ast.parse serialised.

With --workers 2 Schemathesis generates in two threads, and Hypothesis describes filter lambdas
by parsing their module's source with ast.parse. CPython 3.11 keeps the AST constructor's
recursion depth in state shared by all threads, so two parses at once fail with
"SystemError: AST constructor recursion depth mismatch" (CPython gh-106905), which Schemathesis
reports as an error of the operation under test. One parse at a time costs nothing measurable:
Hypothesis caches each module's tree after the first parse.
"""
import ast
import sys
import threading

_lock = threading.Lock()
_parse = ast.parse


def _serialised_parse(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


if sys.version_info < (3, 12):
    ast.parse = _serialised_parse

from schemathesis.cli import schemathesis  # noqa: E402  (after the patch, on purpose)

if __name__ == "__main__":
    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
