"""sidebyside's runner of Python REPL transcripts (``pycon`` blocks, ``>>>`` prompts).

sidebyside writes a program made of this file followed by one call,
``_sidebyside_transcript(DOCUMENT, PROMPTS)``, where PROMPTS is a list of
``{"line": N, "source": "..."}``: each prompt's source (its ``...`` continuation
lines joined) and the document line of its ``>>>``. The prompts run in order in
one namespace, as `python -m asyncio` runs what is typed at it: each is compiled
with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`` in ``single`` mode (so an expression
statement echoes its value's repr through ``sys.displayhook``), a prompt that
awaits runs on one event loop kept for the whole transcript, and ``asyncio`` is
already imported. Code is compiled under the document's name and lines, so a
traceback reads ``File "page.md", line 14``.

What each prompt wrote to ``sys.stdout`` (printed or echoed) is captured and
also passed on to the real stdout; an exception's traceback goes to stderr, as
the REPL prints it, without this runner's frames. For each prompt one event is
appended to SIDEBYSIDE_EVENTS:

  {"kind":"prompt","index":I,"output":"...","exception":"ValueError: x"|null,
   "traceback":"Traceback (most recent call last):\\n..."|null}

sidebyside compares those with what the page shows under each prompt. The
runner judges nothing and exits 0 unless the transcript itself exits
(``SystemExit``), after which no prompt runs.
"""

import ast
import asyncio
import builtins
import inspect
import io
import json
import os
import sys
import traceback


class _Tee(io.TextIOBase):
    """sys.stdout while a prompt runs: kept for the comparison, and passed on."""

    def __init__(self, real):
        self._real = real
        self._captured = []

    def write(self, text):
        self._captured.append(text)
        self._real.write(text)
        return len(text)

    def flush(self):
        self._real.flush()

    def isatty(self):
        return False

    def writable(self):
        return True

    @property
    def encoding(self):
        return getattr(self._real, "encoding", "utf-8")

    def text(self):
        return "".join(self._captured)


def _write_event(event):
    path = os.environ.get("SIDEBYSIDE_EVENTS")
    if not path:
        return
    line = (json.dumps(event, separators=(",", ":")) + "\n").encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def _compile(document, line, source):
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    try:
        tree = compile(source, document, "exec", flags=flags | ast.PyCF_ONLY_AST)
    except SyntaxError as error:
        if error.lineno is not None:
            error.lineno += line - 1
        if getattr(error, "end_lineno", None) is not None:
            error.end_lineno += line - 1
        raise
    ast.increment_lineno(tree, line - 1)
    return compile(ast.Interactive(body=tree.body), document, "single", flags=flags)


def _sidebyside_transcript(document, prompts):
    namespace = {"__name__": "__main__", "__builtins__": builtins, "asyncio": asyncio}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    real_stdout = sys.stdout
    for index, prompt in enumerate(prompts):
        tee = _Tee(real_stdout)
        sys.stdout = tee
        failure = None
        try:
            code = _compile(document, prompt["line"], prompt["source"])
            value = eval(code, namespace)
            if inspect.iscoroutine(value):
                loop.run_until_complete(value)
        except BaseException as error:  # noqa: BLE001 - the REPL shows every exception
            failure = error
        finally:
            sys.stdout = real_stdout
        exception = None
        printed_traceback = None
        if failure is not None:
            # The prompt's own frames only, as the REPL shows them.
            frames = failure.__traceback__
            while frames is not None and frames.tb_frame.f_code.co_filename != document:
                frames = frames.tb_next
            printed_traceback = "".join(traceback.format_exception(type(failure), failure, frames))
            if not printed_traceback.startswith("Traceback"):
                printed_traceback = "Traceback (most recent call last):\n" + printed_traceback
            exception = traceback.format_exception_only(type(failure), failure)[-1].rstrip("\n")
            sys.stderr.write(printed_traceback)
            sys.stderr.flush()
        real_stdout.flush()
        _write_event(
            {
                "kind": "prompt",
                "index": index,
                "output": tee.text(),
                "exception": exception,
                "traceback": printed_traceback,
            }
        )
        if isinstance(failure, SystemExit):
            break
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
