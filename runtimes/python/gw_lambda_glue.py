"""gw's glue between the `gw:lambda/handler` WIT world and a Python Lambda handler.

Contract (what gw does at `gw function put NAME --runtime python3.12 --handler MOD.FUNC --code DIR`):

1. Make an empty build directory BUILD and copy into it:
   - the contents of DIR (so the user's `app.py` becomes `BUILD/app.py`, a vendored pure-Python
     package `DIR/requests/` becomes `BUILD/requests/`, exactly like Lambda's /var/task);
   - this file, as `BUILD/gw_lambda_glue.py`;
   - a generated `BUILD/gw_handler_config.py` holding one line, the function's handler setting
     as a Python string literal (write it with a repr/JSON-style escaped string, never by pasting):
         HANDLER = "app.handler"
     `HANDLER` is Lambda's handler setting: `MODULE.FUNCTION`, where MODULE may be dotted
     (`pkg.mod.handler`) or use slashes (`src/app.handler`), split at the last dot.
   The user's code must not itself contain `gw_lambda_glue.py`, `gw_handler_config.py`,
   `wit_world/`, `componentize_py_*` or `poll_loop.py` (names this glue or componentize-py use).
2. Run, with BUILD as the working directory (componentize-py 0.25.1, from PyPI):
       componentize-py -d WIT_DIR -w handler componentize gw_lambda_glue -p . -o OUT.wasm
   with VIRTUAL_ENV unset, or set to an empty venv (otherwise componentize-py also bundles that
   venv's site-packages; see the notes).

What the component does:
- Build time: componentize-py imports this module to pre-initialise the interpreter and snapshots
  the result. So this module imports only the stdlib here and never the user's code: the user's
  module-level code must run at `init`, once per execution environment, as in Lambda's init phase.
- `init`: reads HANDLER, imports the user's module and looks the function up. Errors are reported
  as Lambda's Python runtime names them: `Runtime.MalformedHandlerName`,
  `Runtime.ImportModuleError` ("Unable to import module 'app': No module named 'x'"),
  `Runtime.UserCodeSyntaxError`, or the exception's class name for anything else raised by the
  module's top-level code. A missing function is, as on Lambda, not an init error: every
  invocation then fails with `Runtime.HandlerNotFound`.
- `handle`: the event JSON is parsed with `json.loads` (failure: `Runtime.UnmarshalError`), the
  handler is called with `(event, context)`, and its result is serialised as the python3.12
  runtime does (`ensure_ascii=False`, Decimal as a number; None becomes `null`; failure:
  `Runtime.MarshalError`). An exception raised by the handler becomes a handler-error with
  error-type = the exception's class name, error-message = str(exception), stack-trace = the
  traceback's frames (this glue's own frames left out), each formatted by
  `traceback.format_list` as Lambda's `stackTrace` lists them.
- The context object has Lambda's attributes: aws_request_id, function_name, function_version,
  invoked_function_arn, memory_limit_in_mb (an int here; Lambda's own is a str), log_group_name,
  log_stream_name, identity (None), client_context (None), and get_remaining_time_in_millis().
"""

import decimal
import importlib
import json
import math
import os
import sys
import time
import traceback

from componentize_py_types import Err
from wit_world import HandlerError

_GLUE_FILE = __file__

# Lambda's fault types (awslambdaric's FaultException).
_MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
_IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
_USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
_BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
_HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
_UNMARSHAL_ERROR = "Runtime.UnmarshalError"
_MARSHAL_ERROR = "Runtime.MarshalError"


class _Fault(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []

    def to_wit(self):
        return HandlerError(self.error_type, self.message, list(self.trace))


def _stack_trace(tb):
    """Lambda's stackTrace: the traceback's frames, this glue's leading frames left out."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    while frames and frames[0][0] == _GLUE_FILE:
        frames.pop(0)
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


def _handler_setting():
    try:
        import gw_handler_config
    except ImportError as e:
        raise _Fault(_MALFORMED_HANDLER_NAME, "Missing handler configuration: {}".format(e))
    handler = getattr(gw_handler_config, "HANDLER", None)
    if not isinstance(handler, str):
        raise _Fault(_MALFORMED_HANDLER_NAME, "Missing handler configuration: HANDLER")
    return handler


def _load_handler(handler):
    """awslambdaric's _get_handler: import the module, look the function up."""
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
    try:
        _handler = _load_handler(_handler_setting())
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


class WitWorld:
    """The world's exports, as componentize-py's generated `wit_world.WitWorld` asks for."""

    def init(self) -> None:
        if not _initialised:
            _init()

    def handle(self, event, context) -> str:
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
