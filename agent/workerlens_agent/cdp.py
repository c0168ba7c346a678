"""CDP message handling for one WebSocket: parse, dispatch, reply; every failure becomes a CDP error."""
import json

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PARSE_ERROR = -32700


class CdpError(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


class Session(object):
    def __init__(self, agent, connection):
        self.agent = agent
        self.conn = connection
        self.python_events = False
        self.disposed = False

    def send_event(self, method, params):
        if self.disposed:
            return
        try:
            self.conn.send_json({"method": method, "params": params})
        except Exception:
            self.disposed = True

    def send_event_json(self, data):
        """An event already serialised as JSON bytes (snapshot chunks built by the fork child)."""
        if self.disposed:
            return
        try:
            from . import websocket as ws
            self.conn.send_raw(ws.encode_frame(ws.OP_TEXT, data))
        except Exception:
            self.disposed = True

    def handle_text(self, raw):
        msg_id = None
        try:
            try:
                msg = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise CdpError(PARSE_ERROR, "Message must be valid JSON")
            if not isinstance(msg, dict):
                raise CdpError(PARSE_ERROR, "Message must be a JSON object")
            msg_id = msg.get("id")
            if not isinstance(msg_id, int) or isinstance(msg_id, bool):
                msg_id = None
                raise CdpError(INVALID_PARAMS, "Message must have an integer 'id'")
            method = msg.get("method")
            if not isinstance(method, str):
                raise CdpError(INVALID_PARAMS, "Message must have a string 'method'")
            params = msg.get("params")
            if params is None:
                params = {}
            if not isinstance(params, dict):
                raise CdpError(INVALID_PARAMS, "'params' must be an object")
            handler = self.agent.methods.get(method)
            if handler is None:
                raise CdpError(METHOD_NOT_FOUND, "'%s' wasn't found" % method[:200])
            result = handler(self, params)
            reply = {"id": msg_id, "result": result if result is not None else {}}
            if "sessionId" in msg:
                reply["sessionId"] = msg["sessionId"]
        except CdpError as e:
            reply = {"id": msg_id, "error": {"code": e.code, "message": e.message}}
        except Exception as e:  # a bug in a handler must not cost the connection
            # the kind of failure only: a traceback or an exception's text can carry file paths
            # and values from the worker's heap
            reply = {"id": msg_id, "error": {"code": INTERNAL_ERROR,
                                              "message": "internal error (%s)" % type(e).__name__}}
        if reply.get("id") is None:
            reply.pop("id", None)
        self.conn.send_json(reply)

    def dispose(self):
        self.disposed = True
        self.agent.session_done(self)
