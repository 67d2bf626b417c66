"""sidebyside runtime hook for CPython 3.9-3.13.

Installed into the snippet's venv site-packages as ``_sidebyside_hook.py`` and
imported at interpreter start by ``sidebyside_hook.pth`` (``.pth`` files are
processed even under ``python -I``). It does nothing unless its environment
variables are set, and then changes no behaviour beyond what is listed here.

SIDEBYSIDE_EVENTS=<file>  append JSON lines (one os.write each, O_APPEND):
  {"kind":"log","values":[...]}        each print() to stdout (file None or sys.stdout)
  {"kind":"return","value":...}        the outermost asyncio.run() returned
  {"kind":"exception","type":"RuntimeError","message":"..."}
                                       the outermost asyncio.run() raised
                                       (the exception is re-raised unchanged)
  {"kind":"refused","host":"...","port":443}
                                       a connection to an unmocked host was refused

SIDEBYSIDE_ROUTES={"host:port":"127.0.0.1:port", ...}
SIDEBYSIDE_ROUTES_FILE=<file holding that JSON> (what sidebyside sets: thousands of
  mocked hosts do not fit in the environment)
  socket.getaddrinfo (used by asyncio's loop.getaddrinfo and aiohttp's default
  ThreadedResolver) resolves a mapped host:port to the mapped address, passes
  loopback unchanged, and raises socket.gaierror(EAI_NONAME, "sidebyside: host
  ... is not mocked; ...") for anything else, before any DNS query.
  The key "*" (a mapping without host answers every host) routes every other
  host name, on any port, to its address; IP addresses are never routed by it.
  socket.gethostbyname(_ex) and socket.socket.connect/connect_ex apply the same
  rule, which also catches IP-literal URLs (asyncio and aiohttp skip
  getaddrinfo for those). TLS is untouched: the client still sends and checks
  the original host name; sidebyside points SSL_CERT_FILE at its CA.

asyncio and socket are patched lazily, right after they are first imported
(a sys.meta_path finder wraps their loader), so the hook adds no imports of its
own to interpreter start-up.
"""

import os

_EVENTS_PATH = os.environ.get("SIDEBYSIDE_EVENTS") or None
_ROUTES_FILE = os.environ.get("SIDEBYSIDE_ROUTES_FILE") or None
_ROUTES_JSON = os.environ.get("SIDEBYSIDE_ROUTES") or None
if _ROUTES_JSON is None and _ROUTES_FILE is not None:
    _ROUTES_JSON = ""  # read from the file when routing is first needed


def _install():
    import builtins
    import sys

    events_fd = [-1]

    def write_event(event):
        if _EVENTS_PATH is None:
            return
        try:
            import json

            line = (json.dumps(event, allow_nan=False, separators=(",", ":")) + "\n").encode("ascii")
            if events_fd[0] < 0:
                events_fd[0] = os.open(_EVENTS_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(events_fd[0], line)
        except Exception:
            pass  # recording must never break the snippet

    # ---- value conversion -------------------------------------------------

    def float_value(f):
        if f != f:
            return "NaN"
        if f in (float("inf"), float("-inf")):
            return "Infinity" if f > 0 else "-Infinity"
        return f

    def key_value(k):
        if isinstance(k, str):
            return str.__str__(k)
        if k is None or isinstance(k, (bool, int, float)):
            v = to_json(k, ())
            return v if isinstance(v, str) else _json_scalar(v)
        return str(k)

    def _json_scalar(v):
        import json

        return json.dumps(v)

    def to_json(v, ancestors):
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, str):
            return str.__str__(v)
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return float_value(float(v))
        if isinstance(v, (dict, list, tuple)):
            if id(v) in ancestors:
                return "[Circular]"
            ancestors = ancestors + (id(v),)
            if isinstance(v, dict):
                return {key_value(k): to_json(val, ancestors) for k, val in v.items()}
            return [to_json(item, ancestors) for item in v]
        try:
            return str(v)
        except Exception:
            return "[Unprintable]"

    def safe_to_json(v):
        try:
            return to_json(v, ())
        except RecursionError:
            return "[Too deep]"
        except Exception:
            return "[Unserializable]"

    # ---- print --------------------------------------------------------------

    if _EVENTS_PATH is not None:
        original_print = builtins.print

        def print(*args, **kwargs):  # noqa: A001 - replaces builtins.print
            target = kwargs.get("file")
            if target is None or target is sys.stdout:
                write_event({"kind": "log", "values": [safe_to_json(a) for a in args]})
            return original_print(*args, **kwargs)

        print.__doc__ = original_print.__doc__
        builtins.print = print

    # ---- asyncio.run ----------------------------------------------------------

    depth = [0]

    def wrap_run(original_run):
        def run(main, *args, **kwargs):
            if depth[0]:
                return original_run(main, *args, **kwargs)  # nested: raises as usual
            depth[0] += 1
            try:
                result = original_run(main, *args, **kwargs)
            except BaseException as exc:
                write_event({"kind": "exception", "type": type(exc).__name__, "message": _exc_message(exc)})
                tb = exc.__traceback__
                if tb is not None and tb.tb_frame is sys._getframe():
                    exc.__traceback__ = tb.tb_next  # hide this wrapper (takes effect on 3.11+)
                del exc, tb
                raise
            finally:
                depth[0] -= 1
            write_event({"kind": "return", "value": safe_to_json(result)})
            return result

        run.__name__ = original_run.__name__
        run.__qualname__ = original_run.__qualname__
        run.__doc__ = original_run.__doc__
        run.__module__ = original_run.__module__
        run.__wrapped__ = original_run
        run._sidebyside = True
        return run

    def _exc_message(exc):
        try:
            return str(exc)
        except Exception:
            return ""

    def patch_asyncio(asyncio):
        runners = sys.modules.get("asyncio.runners")
        for mod in (runners, asyncio):
            if mod is not None and callable(getattr(mod, "run", None)) and not getattr(mod.run, "_sidebyside", False):
                original = mod.run
                # asyncio.run and asyncio.runners.run are the same function: wrap once.
                if mod is asyncio and runners is not None and getattr(runners.run, "__wrapped__", None) is original:
                    mod.run = runners.run
                else:
                    mod.run = wrap_run(original)

    # ---- routing --------------------------------------------------------------

    routes = {}  # ("host", port) -> ("127.0.0.1", port)
    mocked_hosts = []
    any_host = []  # [("127.0.0.1", port)] when "*" routes every other host name

    def norm_host(h):
        if isinstance(h, (bytes, bytearray)):
            h = bytes(h).decode("ascii", "replace")
        h = str(h).lower()
        if h.startswith("[") and h.endswith("]"):
            h = h[1:-1]
        if len(h) > 1 and h.endswith("."):
            h = h[:-1]
        return h

    def split_host_port(s):
        host, sep, port = str(s).rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(s)
        return norm_host(host), int(port)

    def load_routes():
        # Called when socket is first imported, so json (and re) are not
        # imported at interpreter start.
        try:
            import json

            text = _ROUTES_JSON
            if _ROUTES_FILE is not None:
                with open(_ROUTES_FILE, encoding="utf-8") as routes_file:
                    text = routes_file.read()
            for src, dst in json.loads(text).items():
                if src == "*":
                    any_host[:] = [split_host_port(dst)]
                else:
                    routes[split_host_port(src)] = split_host_port(dst)
        except Exception as e:  # fail closed: refuse everything but loopback
            routes.clear()
            any_host[:] = []
            sys.stderr.write("sidebyside: ignoring invalid SIDEBYSIDE_ROUTES (%r)\n" % (e,))
        mocked_hosts[:] = sorted({h for h, _ in routes})

    def refuse_message(host, port):
        if any_host:  # only addresses are refused then
            return (
                'sidebyside: "%s" is an address; a mapping without host answers every host name, '
                "but addresses are never routed to the mock (use a host name in the URL)" % (host,)
            )
        if host in mocked_hosts:  # known host, unmapped port
            pairs = ", ".join(sorted("%s:%d" % hp for hp in routes if hp[0] == host))
            return (
                'sidebyside: port %s of host "%s" is not mocked; this run can reach only %s '
                "(add a mapping for the host or fix the URL)" % (port, host, pairs)
            )
        return (
            'sidebyside: host "%s" is not mocked; this run can reach only %s '
            "(add a mapping for the host or fix the URL)" % (host, ", ".join(mocked_hosts))
        )

    def port_number(socket, port):
        if port is None:
            return None
        if isinstance(port, (bytes, bytearray)):
            port = bytes(port).decode("ascii", "replace")
        if isinstance(port, int):
            return port
        port = str(port).strip()
        if port.isdigit():
            return int(port)
        try:
            return socket.getservbyname(port, "tcp")
        except OSError:
            return None

    def is_address(socket, host):
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                socket.inet_pton(family, host)
                return True
            except (OSError, ValueError):
                pass
        return False

    def is_loopback(socket, host):
        if host == "localhost":
            return True
        try:
            return socket.inet_pton(socket.AF_INET, host)[0] == 127
        except (OSError, ValueError):
            pass
        try:
            packed = socket.inet_pton(socket.AF_INET6, host)
        except (OSError, ValueError):
            return False
        return packed == b"\0" * 15 + b"\1" or (packed[:12] == b"\0" * 10 + b"\xff\xff" and packed[12] == 127)

    def decide(socket, raw_host, raw_port):
        """None: pass unchanged; (ip, port): connect there; str: refusal message."""
        if raw_host is None:
            return None  # getaddrinfo(None, ...) means loopback / wildcard
        host = norm_host(raw_host)
        if host == "" or is_loopback(socket, host):
            return None
        port = port_number(socket, raw_port)
        if port is None:
            for (h, _p), target in routes.items():
                if h == host:
                    return (target[0], 0)
        else:
            target = routes.get((host, port))
            if target is not None:
                return target
        if any_host and not is_address(socket, host):
            return (any_host[0][0], 0 if port is None else any_host[0][1])
        write_event({"kind": "refused", "host": host, "port": port})
        return refuse_message(host, port)

    def patch_socket(socket):
        if getattr(socket.getaddrinfo, "_sidebyside", False):
            return
        import errno

        load_routes()

        original_getaddrinfo = socket.getaddrinfo
        original_gethostbyname = socket.gethostbyname
        original_gethostbyname_ex = socket.gethostbyname_ex
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        strip_flags = getattr(socket, "AI_ADDRCONFIG", 0) | getattr(socket, "AI_CANONNAME", 0)
        add_flags = socket.AI_NUMERICHOST | getattr(socket, "AI_NUMERICSERV", 0)

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            decision = decide(socket, host, port)
            if decision is None:
                return original_getaddrinfo(host, port, family, type, proto, flags)
            if isinstance(decision, str):
                raise socket.gaierror(socket.EAI_NONAME, decision)
            ip, mapped_port = decision
            ip_family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            # Numeric lookup only (no DNS); AI_ADDRCONFIG dropped so it works in
            # a network namespace that has nothing but loopback.
            return original_getaddrinfo(ip, mapped_port, ip_family, type, proto, (flags & ~strip_flags) | add_flags)

        def gethostbyname(hostname):
            decision = decide(socket, hostname, None)
            if decision is None:
                return original_gethostbyname(hostname)
            if isinstance(decision, str):
                raise socket.gaierror(socket.EAI_NONAME, decision)
            return decision[0]

        def gethostbyname_ex(hostname):
            decision = decide(socket, hostname, None)
            if decision is None:
                return original_gethostbyname_ex(hostname)
            if isinstance(decision, str):
                raise socket.gaierror(socket.EAI_NONAME, decision)
            return (hostname, [], [decision[0]])

        def route_address(sock, address):
            if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple) or len(address) < 2:
                return address
            decision = decide(socket, address[0], address[1])
            if decision is None:
                return address
            if isinstance(decision, str):
                raise OSError(errno.EHOSTUNREACH, decision)
            if sock.family == socket.AF_INET6 and ":" not in decision[0]:
                return ("::ffff:" + decision[0], decision[1]) + tuple(address[2:])
            return (decision[0], decision[1]) + tuple(address[2:])

        def connect(self, address):
            return original_connect(self, route_address(self, address))

        def connect_ex(self, address):
            return original_connect_ex(self, route_address(self, address))

        for fn, original in (
            (getaddrinfo, original_getaddrinfo),
            (gethostbyname, original_gethostbyname),
            (gethostbyname_ex, original_gethostbyname_ex),
            (connect, original_connect),
            (connect_ex, original_connect_ex),
        ):
            fn.__doc__ = original.__doc__
            fn.__wrapped__ = original
            fn._sidebyside = True
        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname
        socket.gethostbyname_ex = gethostbyname_ex
        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex

    # ---- lazy patching on first import -------------------------------------------

    patches = {}
    if _EVENTS_PATH is not None:
        patches["asyncio"] = patch_asyncio
    if _ROUTES_JSON is not None:
        patches["socket"] = patch_socket

    for name in list(patches):
        module = sys.modules.get(name)
        if module is not None:
            patches.pop(name)(module)
    if not patches:
        return

    class PatchAfterImport:
        """Meta path finder: lets the other finders find `asyncio`/`socket`
        and wraps the found loader's exec_module to patch the fresh module."""

        @classmethod
        def find_spec(cls, name, path=None, target=None):
            patch = patches.get(name)
            if patch is None:
                return None
            try:
                finders = sys.meta_path[sys.meta_path.index(cls) + 1 :]
            except ValueError:
                return None
            for finder in finders:
                find = getattr(finder, "find_spec", None)
                spec = find(name, path, target) if find is not None else None
                if spec is not None:
                    break
            else:
                return None
            loader = spec.loader
            if loader is None or isinstance(loader, type) or not hasattr(loader, "__dict__"):
                return None  # shared loader object: let the import run unpatched
            original_exec = loader.exec_module

            def exec_module(module):
                try:
                    original_exec(module)
                finally:
                    loader.__dict__.pop("exec_module", None)
                patches.pop(name, None)
                patch(module)
                if not patches and cls in sys.meta_path:
                    sys.meta_path.remove(cls)

            loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, PatchAfterImport)


if _EVENTS_PATH is not None or _ROUTES_JSON is not None:
    _install()
