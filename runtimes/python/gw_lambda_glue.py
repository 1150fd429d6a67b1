"""gw's glue between the `gw:lambda/handler` WIT world and a Python Lambda handler.

Contract (what gw does at `gw function put NAME --runtime python3.12 --handler MOD.FUNC --code DIR`)
-------------------------------------------------------------------------------------------------
1. Make an empty build directory BUILD and copy into it:
   - the contents of DIR (so the user's `DIR/app.py` becomes `BUILD/app.py` and a vendored
     pure-Python package `DIR/requests/` becomes `BUILD/requests/`, as in Lambda's /var/task);
   - this file, as `BUILD/gw_lambda_glue.py`;
   - a generated `BUILD/gw_handler_config.py`, whose one required line is the function's handler
     setting as a Python string literal (write it JSON-escaped, never pasted raw):
         HANDLER = "app.handler"
     `HANDLER` is Lambda's handler setting `MODULE.FUNCTION`: MODULE may be dotted
     (`pkg.mod.handler`) or use slashes (`src/app.handler`); it is split at the last dot.
     Optional second line: `PRELOAD = ["some.stdlib.module", ...]`, standard-library modules to
     make importable at run time beyond those found by scanning the code (see below).
   DIR must not itself contain `gw_lambda_glue.py`, `gw_handler_config.py`, `wit_world/`,
   `componentize_py_*` or `poll_loop.py` (this glue's and componentize-py's names).
2. Run in BUILD, with VIRTUAL_ENV pointing at an empty venv (else componentize-py adds the
   site-packages of whatever Python it finds to the build path):
       componentize-py -d WIT_DIR -w handler componentize gw_lambda_glue -p . -o OUT.wasm
   (componentize-py 0.25.1 from PyPI; the interpreter inside the component is CPython 3.14.)

Why this glue carries the user's code itself
--------------------------------------------
componentize-py imports this module at build time and snapshots the interpreter's memory; the
component has no files at run time (no stdlib, no BUILD): only modules imported during that
snapshot exist. Importing the user's module at build time would run its top-level code once per
build instead of once per execution environment (Lambda's init phase, with the function's
environment variables). So at build time this module:
  - compiles every `.py` file under BUILD (user code and vendored pure-Python packages, not this
    glue) into code objects kept in memory, served at run time by an in-memory importer with
    `__file__` = `/var/task/<path>` as on Lambda; nothing of the user's code is executed;
  - imports the standard-library modules named by those files' `import` statements (found by
    reading their bytecode), a few commonly needed ones, and `PRELOAD`; stdlib modules that
    nothing names statically (dynamic `importlib.import_module`) are not in the component;
  - keeps other files under BUILD (data files) in memory too, readable through the module's
    loader (`pkgutil.get_data`, `importlib.resources`); a plain `open()` of such a file needs the
    host to preopen the code directory at `/var/task`.

What the component does
-----------------------
- `init`: imports the user's module (its top-level code runs here, once per instance) and looks the
  function up. Errors are Lambda's: `Runtime.MalformedHandlerName`, `Runtime.ImportModuleError`
  ("Unable to import module 'app': No module named 'x'"), `Runtime.UserCodeSyntaxError`,
  `Runtime.BuiltInModuleConflict`, or the exception's class name for anything else raised by the
  module's top-level code. A missing function is, as on Lambda, no init error: every invocation
  then fails with `Runtime.HandlerNotFound`.
- `handle`: parses the event with `json.loads` (failure: `Runtime.UnmarshalError`), calls the
  handler with `(event, context)` and serialises its result as the python3.12 runtime does
  (`ensure_ascii=False`, NaN allowed, Decimal as a number, None as `null`; failure:
  `Runtime.MarshalError`). An exception raised by the handler becomes a handler-error with
  error-type = the exception's class name, error-message = str(exception), stack-trace = its
  traceback's frames without this glue's own, each formatted by `traceback.format_list` as in
  Lambda's `stackTrace`. If `init` was not called, `handle` initialises first.
- `context` has Lambda's attributes: aws_request_id, function_name, function_version,
  invoked_function_arn, memory_limit_in_mb (an int here; Lambda's is a str), log_group_name,
  log_stream_name (from AWS_LAMBDA_LOG_GROUP_NAME / AWS_LAMBDA_LOG_STREAM_NAME when set, else
  made up as Lambda forms them), identity and client_context (None), and
  get_remaining_time_in_millis() (deadline minus the wall clock, never below 0).
"""

import decimal
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import marshal
import math
import os
import sys
import time
import traceback

from componentize_py_types import Err
from wit_world import HandlerError

_GLUE_FILE = __file__
_BUILD_DIR = os.path.dirname(os.path.abspath(__file__))
_TASK_ROOT = "/var/task"

# Lambda's fault types (awslambdaric's FaultException).
_MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
_IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
_USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
_BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
_HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
_UNMARSHAL_ERROR = "Runtime.UnmarshalError"
_MARSHAL_ERROR = "Runtime.MarshalError"

# Files of the build directory that are not the user's code.
_OWN_NAMES = {"gw_lambda_glue.py", "gw_handler_config.py", "poll_loop.py", "wit_world"}

# Standard-library modules made importable whatever the code names (cheap, often used
# indirectly: codecs looked up by name, json/datetime/decimal helpers).
_BASELINE = [
    "base64", "binascii", "collections", "copy", "dataclasses", "datetime", "decimal",
    "encodings.idna", "encodings.latin_1", "encodings.ascii", "encodings.utf_16",
    "encodings.utf_32", "encodings.unicode_escape", "encodings.raw_unicode_escape",
    "enum", "functools", "hashlib", "hmac", "itertools", "logging", "random", "re", "string",
    "typing", "uuid", "urllib.parse", "zlib",
]

# Modules that a stdlib module imports lazily, inside its functions: made importable with it.
_COMPANIONS = {
    "importlib.resources": [
        "importlib.resources._adapters", "importlib.resources._common",
        "importlib.resources._functional", "importlib.resources._itertools",
        "importlib.resources.abc", "importlib.resources.readers", "importlib.readers",
        "zipfile", "tempfile",
    ],
    "importlib.metadata": ["importlib.metadata._adapters", "email.message", "zipfile"],
    "email": ["email.parser", "email.message", "email.charset", "email.encoders",
              "email.utils", "email.header", "email.generator", "email.iterators"],
    "urllib.request": ["http.client", "email.message", "email.parser", "mimetypes"],
    "http.client": ["email.parser", "email.message"],
    "logging": ["logging.handlers"],
    "concurrent.futures": ["concurrent.futures.thread", "concurrent.futures.process"],
    "xml.etree.ElementTree": ["xml.etree.ElementPath", "xml.parsers.expat"],
}


# ---------------------------------------------------------------------------------------------
# Build time: the user's code, compiled but not run, and the stdlib modules it names.

class _Entry:
    __slots__ = ("origin", "is_package", "code", "error", "source")

    def __init__(self, origin, is_package, code, error, source):
        self.origin = origin  # /var/task/...
        self.is_package = is_package
        self.code = code  # marshalled code object, or None (no __init__.py, or a syntax error)
        self.error = error  # SyntaxError to raise when imported
        self.source = source  # bytes, for tracebacks' source lines


_MODULES = {}  # dotted name -> _Entry
_DATA = {}  # /var/task/... -> bytes (files other than .py)


def _scan_build_dir():
    for root, dirs, files in os.walk(_BUILD_DIR):
        rel_dir = os.path.relpath(root, _BUILD_DIR)
        top = rel_dir == "."
        dirs[:] = sorted(
            d for d in dirs
            if d != "__pycache__" and not d.startswith(".")
            and not (top and (d in _OWN_NAMES or d.startswith("componentize_py")))
        )
        parts = [] if top else rel_dir.split(os.sep)
        for name in sorted(files):
            if top and (name in _OWN_NAMES or name.startswith("componentize_py")):
                continue
            path = os.path.join(root, name)
            origin = "/".join([_TASK_ROOT] + parts + [name])
            with open(path, "rb") as f:
                data = f.read()
            if not name.endswith(".py"):
                if not name.endswith((".pyc", ".pyo")):
                    _DATA[origin] = data
                continue
            stem = name[:-3]
            if not all(p.isidentifier() for p in parts) or not stem.isidentifier():
                _DATA[origin] = data
                continue
            is_package = stem == "__init__"
            dotted = ".".join(parts if is_package else parts + [stem])
            if not dotted:
                continue
            code, error = None, None
            try:
                code = marshal.dumps(compile(data, origin, "exec", dont_inherit=True))
            except SyntaxError as e:
                error = e
            _MODULES[dotted] = _Entry(origin, is_package, code, error, data)
    # Directories of modules without an __init__.py: packages with no code (namespace-like).
    for dotted in list(_MODULES):
        parts = dotted.split(".")
        for i in range(1, len(parts)):
            pkg = ".".join(parts[:i])
            if pkg not in _MODULES:
                origin = "/".join([_TASK_ROOT] + parts[:i] + ["__init__.py"])
                _MODULES[pkg] = _Entry(origin, True, None, None, b"")


def _names_imported(code, out):
    """Module names that `code` (and the code nested in it) imports, read from its bytecode."""
    import dis

    last = None
    for ins in dis.get_instructions(code):
        if ins.opname == "IMPORT_NAME":
            last = ins.argval
            out.add(last)
        elif ins.opname == "IMPORT_FROM" and last:
            out.add(last + "." + ins.argval)
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            _names_imported(const, out)


def _preload_stdlib(extra):
    wanted = set(_BASELINE) | set(extra)
    for entry in _MODULES.values():
        if entry.code is not None:
            try:
                _names_imported(marshal.loads(entry.code), wanted)
            except Exception:
                pass
    for name, extra_names in _COMPANIONS.items():
        if any(w == name or w.startswith(name + ".") for w in wanted if isinstance(w, str)):
            wanted.update(extra_names)
    stdlib = sys.stdlib_module_names
    for name in sorted(wanted):
        if not isinstance(name, str) or not name or name.startswith("."):
            continue
        top = name.split(".")[0]
        if top in _MODULES or top not in stdlib or top in ("antigravity", "this"):
            continue
        try:
            importlib.import_module(name)
        except BaseException:  # not on WASI (ssl, ctypes, ...), or `from pkg import function`
            pass


class _TaskImporter(importlib.abc.MetaPathFinder, importlib.abc.InspectLoader):
    """Serves the user's modules from memory, as if from /var/task."""

    def find_spec(self, fullname, path=None, target=None):
        entry = _MODULES.get(fullname)
        if entry is None:
            return None
        spec = importlib.machinery.ModuleSpec(
            fullname, self, origin=entry.origin, is_package=entry.is_package
        )
        spec.has_location = True
        if entry.is_package:
            spec.submodule_search_locations = [entry.origin.rsplit("/", 1)[0]]
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        entry = _MODULES[module.__spec__.name]
        if entry.error is not None:
            raise entry.error
        if entry.code is not None:
            exec(marshal.loads(entry.code), module.__dict__)

    def get_code(self, fullname):
        entry = _MODULES[fullname]
        return marshal.loads(entry.code) if entry.code is not None else None

    def get_source(self, fullname):
        entry = _MODULES.get(fullname)
        if entry is None:
            raise ImportError(fullname, name=fullname)
        return importlib.util.decode_source(entry.source)

    def is_package(self, fullname):
        return _MODULES[fullname].is_package

    def get_filename(self, fullname):
        return _MODULES[fullname].origin

    def get_data(self, path):
        if path in _DATA:
            return _DATA[path]
        for entry in _MODULES.values():
            if entry.origin == path:
                return entry.source
        with open(path, "rb") as f:
            return f.read()

    def get_resource_reader(self, fullname):
        entry = _MODULES.get(fullname)
        if entry is None or not entry.is_package:
            return None
        return _ResourceReader(entry.origin.rsplit("/", 1)[0])


class _ResourceReader:
    """importlib.resources' legacy reader protocol, over the files kept in memory."""

    def __init__(self, directory):
        self._dir = directory

    def open_resource(self, resource):
        path = self._dir + "/" + resource
        if path not in _DATA:
            raise FileNotFoundError(path)
        return io.BytesIO(_DATA[path])

    def resource_path(self, resource):
        raise FileNotFoundError(resource)

    def is_resource(self, path):
        return (self._dir + "/" + path) in _DATA

    def contents(self):
        prefix = self._dir + "/"
        names = {p[len(prefix):].split("/")[0] for p in _DATA if p.startswith(prefix)}
        names |= {e.origin[len(prefix):].split("/")[0] for e in _MODULES.values()
                  if e.origin.startswith(prefix)}
        return iter(sorted(names))


try:
    import gw_handler_config as _config

    _HANDLER_SETTING = getattr(_config, "HANDLER", None)
    _PRELOAD = list(getattr(_config, "PRELOAD", []) or [])
except ImportError:
    _HANDLER_SETTING, _PRELOAD = None, []

_scan_build_dir()
_preload_stdlib(_PRELOAD)
sys.meta_path.insert(0, _TaskImporter())
sys.path_importer_cache.clear()  # the build-time paths do not exist at run time


# ---------------------------------------------------------------------------------------------
# Run time.

class _Fault(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []

    def to_wit(self):
        return HandlerError(self.error_type, self.message, list(self.trace))


def _stack_trace(tb):
    """Lambda's stackTrace: the traceback's frames, this glue's own left out."""
    frames = [
        (f.filename, f.lineno, f.name, f.line)
        for f in traceback.extract_tb(tb)
        if f.filename != _GLUE_FILE
    ]
    return traceback.format_list(frames)


def _error_from_exception(exc):
    return HandlerError(type(exc).__name__, str(exc), _stack_trace(exc.__traceback__))


class _Encoder(json.JSONEncoder):
    """The python3.12 runtime's response encoder: raw Unicode, NaN allowed, Decimal as a number."""

    def __init__(self):
        super().__init__(ensure_ascii=False, allow_nan=True)

    def default(self, o):
        if isinstance(o, decimal.Decimal):
            return math.nan if o.is_nan() else float(o)
        return super().default(o)


class LambdaContext:
    """What a Lambda Python handler gets as `context`."""

    def __init__(self, ctx, log_stream_name):
        self.aws_request_id = ctx.aws_request_id
        self.function_name = ctx.function_name
        self.function_version = ctx.function_version
        self.invoked_function_arn = ctx.invoked_function_arn
        self.memory_limit_in_mb = int(ctx.memory_limit_in_mb)
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME") or (
            "/aws/lambda/" + ctx.function_name
        )
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(ctx.deadline_ms)

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id={},log_group_name={},log_stream_name={},"
            "function_name={},memory_limit_in_mb={},function_version={},"
            "invoked_function_arn={},client_context=None,identity=None])".format(
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
            )
        )


# Per execution environment (one component instance).
_initialised = False
_handler = None  # the user's function, or a _Fault to raise at each invocation
_log_stream_name = None


def _load_handler(handler):
    """awslambdaric's _get_handler: import the module, look the function up."""
    if not isinstance(handler, str):
        raise _Fault(_MALFORMED_HANDLER_NAME, "Missing handler setting: gw_handler_config.HANDLER")
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _Fault(_MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _Fault(
                _BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _Fault(
            _IMPORT_MODULE_ERROR, "Unable to import module '{}': {}".format(modname, e)
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault(
            _USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, e),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        return _Fault(
            _HANDLER_NOT_FOUND, "Handler '{}' missing on module '{}'".format(fname, modname)
        )


def _init():
    global _initialised, _handler
    if "random" in sys.modules:  # seeded at build time: every instance would draw alike
        sys.modules["random"].seed()
    try:
        _handler = _load_handler(_HANDLER_SETTING)
    except _Fault as f:
        raise Err(f.to_wit())
    except BaseException as e:  # the user's module-level code raised
        raise Err(_error_from_exception(e))
    _initialised = True


def _stream_name(version):
    global _log_stream_name
    if _log_stream_name is None:
        _log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME") or "{}/[{}]{}".format(
            time.strftime("%Y/%m/%d", time.gmtime()), version, os.urandom(16).hex()
        )
    return _log_stream_name


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


class WitWorld:
    """The world's exports, as componentize-py's generated `wit_world.WitWorld` asks for."""

    def init(self) -> None:
        try:
            if not _initialised:
                _init()
        finally:
            _flush()

    def handle(self, event, context) -> str:
        try:
            return self._handle(event, context)
        finally:
            # WASI stdout is not a terminal, so Python buffers it: what the handler printed
            # belongs to this invocation's log.
            _flush()

    def _handle(self, event, context) -> str:
        if not _initialised:
            _init()
        if isinstance(_handler, _Fault):
            raise Err(_handler.to_wit())
        try:
            parsed = json.loads(event)
        except Exception as e:
            raise Err(HandlerError(_UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(e), []))
        ctx = LambdaContext(context, _stream_name(context.function_version))
        try:
            result = _handler(parsed, ctx)
        except BaseException as e:
            raise Err(_error_from_exception(e))
        try:
            return _Encoder().encode(result)
        except Exception as e:
            raise Err(HandlerError(_MARSHAL_ERROR, "Unable to marshal response: {}".format(e), []))
