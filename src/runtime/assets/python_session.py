"""sidebyside: runs the Python blocks of one page as one session, in page order.

Every block is compiled with the page's path as its file name and its code placed at its own
lines, so a traceback names the page and the line (`File "docs/tour.md", line 14`). All blocks
share one globals dict, as a reader typing them one after the other into one interpreter
would. Around each block this driver appends to the events file (SIDEBYSIDE_EVENTS):

  {"kind":"block","phase":"start","line":FENCE,"at":MONOTONIC_SECONDS}
  {"kind":"block","phase":"end","line":FENCE,"stdout":"...","stderr":"...","failed":false,
   "wall_s":0.1,"cpu_s":0.05}

and what the block printed goes both to the process's own stdout and stderr and to those
fields. A block that raises fails (its traceback is its stderr) and the session goes on with
the next block, as an interpreter does after an error; the driver then exits with status 1. The blocks come from the JSON file beside this one; those marked
"hidden" are the page's setup and teardown code, run where they stand without events of their
own unless they raise:

  {"kind":"hidden","line":FIRST_LINE,"teardown":true,"failed":true,"stderr":"Traceback ..."}

and then the session ends.
"""

import builtins
import json
import os
import sys
import time
import traceback


class _Tee:
    """A text stream that writes through to another and keeps a copy."""

    def __init__(self, through):
        self._through = through
        self.kept = []

    def write(self, text):
        self.kept.append(text)
        return self._through.write(text)

    def flush(self):
        self._through.flush()

    def __getattr__(self, name):
        return getattr(self._through, name)


def _event(event):
    path = os.environ.get("SIDEBYSIDE_EVENTS")
    if not path:
        return
    line = (json.dumps(event, separators=(",", ":")) + "\n").encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def main():
    spec_path = os.path.splitext(os.path.abspath(__file__))[0] + ".json"
    with open(spec_path, encoding="utf-8") as spec_file:
        spec = json.load(spec_file)
    document = spec["document"]
    shared = {"__name__": "__main__", "__builtins__": builtins, "__file__": document}
    real_stdout, real_stderr = sys.stdout, sys.stderr
    any_failed = False
    for block in spec["blocks"]:
        # The block's code at its own lines of the page.
        source = "\n" * (block["first_code_line"] - 1) + block["code"]
        if block.get("hidden"):
            # Hidden setup or teardown code of the page: an error ends the session.
            err = _Tee(real_stderr)
            sys.stderr = err
            try:
                exec(compile(source, block.get("file", document), "exec"), shared)
            except BaseException:  # noqa: B036
                kind, value, trace = sys.exc_info()
                traceback.print_exception(kind, value, trace.tb_next if trace else None)
                failed = not (kind is SystemExit and value.code in (None, 0))
            else:
                failed = False
            finally:
                sys.stderr = real_stderr
            if failed:
                _event(
                    {
                        "kind": "hidden",
                        "line": block["line"],
                        "teardown": bool(block.get("teardown")),
                        "failed": True,
                        "stderr": "".join(err.kept),
                    }
                )
                return 1
            continue
        # `at` is on the machine's monotonic clock, which the mock's journal is laid against to
        # give each block the requests that reached the mock while it ran.
        _event({"kind": "block", "phase": "start", "line": block["line"], "at": time.monotonic()})
        out, err = _Tee(real_stdout), _Tee(real_stderr)
        sys.stdout, sys.stderr = out, err
        started, cpu = time.perf_counter(), time.process_time()
        failed = False
        try:
            exec(compile(source, document, "exec"), shared)
        except SystemExit as stop:
            failed = stop.code not in (None, 0)
            if failed:
                print("SystemExit: %s" % (stop.code,), file=sys.stderr)
        except BaseException:  # noqa: B036 - every error of a block is its verdict
            failed = True
            kind, value, trace = sys.exc_info()
            # The driver's own frame is not the page's: start at the block's code.
            traceback.print_exception(kind, value, trace.tb_next if trace else None)
        finally:
            try:
                out.flush()
                err.flush()
            except Exception:  # noqa: BLE001 - a closed stream is the block's business
                pass
            sys.stdout, sys.stderr = real_stdout, real_stderr
        _event(
            {
                "kind": "block",
                "phase": "end",
                "line": block["line"],
                "stdout": "".join(out.kept),
                "stderr": "".join(err.kept),
                "failed": failed,
                "wall_s": time.perf_counter() - started,
                "cpu_s": time.process_time() - cpu,
            }
        )
        any_failed = any_failed or failed
    return 1 if any_failed else 0


if __name__ == "__main__":
    sys.exit(main())
