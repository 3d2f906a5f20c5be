#!/usr/bin/env python3
"""Loopback emulator of the kubelet /pods endpoint and the API server pod and namespace list/watch (tests only).

Listens on 127.0.0.1 only. Python 3 stdlib only. See tests/tools/README.md for usage.
"""
import argparse, hashlib, hmac, json, os, queue, select, signal, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODES = ("normal", "403", "500", "garbage", "slow", "down")
KUBELET_403 = b"Forbidden (user=system:node:test-node, verb=get, resource=nodes, subresource(s)=[proxy])"
GARBAGE = b'{"kind":"PodList","items":[{"metadata":'
# First line of tests/data/error_410_real_samples.ndjson (a real watch-cache 410).
GONE_EVENT = (b'{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
              b'"message":"too old resource version: 657887 (680402)","reason":"Expired","code":410}}')


def api_status(code, reason, message):  # the API server's error body (kind: Status)
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()


API_ERRORS = {401: api_status(401, "Unauthorized", "Unauthorized"),
              403: api_status(403, "Forbidden", 'pods is forbidden: User "system:node:test-node" cannot list '
                              'resource "pods" in API group "" at the cluster scope'),
              500: api_status(500, "InternalError", "internal error")}
KUBELET_ERRORS = {401: b"Unauthorized", 403: KUBELET_403, 500: b"internal error"}


class Stream:
    """One open watch stream (of pods or namespaces); the handler thread drains its queue."""
    def __init__(self, node, kind="pods"):
        self.node, self.kind, self.q, self.force_close = node, kind, queue.Queue(), False


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)  # signals stall/unstall/close
        self.modes = {"kubelet": args.kubelet_mode or args.mode, "api": args.api_mode or args.mode,
                      "namespaces": args.namespaces_mode or args.api_mode or args.mode}
        self.delay = args.delay
        self.rv = args.initial_rv
        self.pods_hash = None
        self.stalled = False
        self.streams = []
        self.stats = {"kubelet_requests": 0, "api_list_requests": 0, "watch_requests": 0,
                      "namespace_list_requests": 0, "namespace_watch_requests": 0,
                      "unauthorized": 0, "last_auth_header": "", "last_client_cert_cn": ""}

    def read_pods(self):
        """Return the pods file bytes (re-read every time); bump the resourceVersion when it changes."""
        with open(self.args.pods, "rb") as f:
            data = f.read()
        h = hashlib.sha256(data).digest()
        with self.lock:
            if self.pods_hash is not None and h != self.pods_hash:
                self.rv += 1
            self.pods_hash = h
        return data

    def read_namespaces(self):
        """The namespaces file's items (re-read every time); none without --namespaces."""
        if not self.args.namespaces:
            return []
        with open(self.args.namespaces, "rb") as f:
            return json.loads(f.read()).get("items") or []

    def push(self, item, obj=None, kind="pods"):
        """Queue item on every open stream of kind (Pod events only on streams whose node filter matches)."""
        with self.lock:
            streams = [s for s in self.streams if s.kind == kind]
        for s in streams:
            if obj is None or s.node is None or node_of(obj, self.args.assume_node) == s.node:
                s.q.put(item)
        return len(streams)

    def bump_event(self, ev):
        """Set/bump metadata.resourceVersion on a Pod event object; return the encoded line."""
        obj = ev.get("object")
        if isinstance(obj, dict) and obj.get("kind", "Pod") in ("Pod", "Namespace"):
            with self.lock:
                if ev.get("type") != "BOOKMARK":
                    self.rv += 1
                obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        return json.dumps(ev, separators=(",", ":")).encode()

    def bookmark(self, kind="Pod"):
        return json.dumps({"type": "BOOKMARK", "object": {
            "kind": kind, "apiVersion": "v1",
            "metadata": {"resourceVersion": str(self.rv), "creationTimestamp": None},
            "spec": {"containers": None}, "status": {}}}, separators=(",", ":")).encode()


def node_of(obj, default):
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return (spec or {}).get("nodeName") or default


def log(msg):
    sys.stderr.write("kube_emulator: %s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "kube-emulator"

    def log_message(self, fmt, *args):
        log("%s %s" % (self.server.name, fmt % args))

    def reply(self, code, body, ctype="text/plain; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class MainHandler(Handler):
    def do_GET(self):
        st, args = self.server.state, self.server.state.args
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/pods":
            kind, counter = "kubelet", "kubelet_requests"
        elif url.path == "/api/v1/pods":
            kind = "api"
            counter = "watch_requests" if q.get("watch") in ("1", "true") else "api_list_requests"
        elif url.path == "/api/v1/namespaces":
            kind = "namespaces"
            counter = "namespace_watch_requests" if q.get("watch") in ("1", "true") else "namespace_list_requests"
        else:
            return self.reply(404, b"404 page not found")
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        cn = dict(x[0] for x in (cert or {}).get("subject", ())).get("commonName", "")
        auth = self.headers.get("Authorization", "")
        with st.lock:
            st.stats[counter] += 1
            st.stats["last_auth_header"], st.stats["last_client_cert_cn"] = auth, cn
            mode, delay = st.modes[kind], st.delay
        if mode == "down":
            self.log_message('"%s" dropped (mode down)', self.requestline)
            self.close_connection = True
            return
        if mode == "slow":
            time.sleep(delay)
        if args.token and not self.token_ok(auth):
            with st.lock:
                st.stats["unauthorized"] += 1
            return self.error(kind, 401)
        if mode in ("403", "500"):
            return self.error(kind, int(mode))
        if mode == "garbage":
            return self.reply(200, GARBAGE, "application/json")
        if kind == "namespaces":
            try:
                items = st.read_namespaces()
            except (OSError, ValueError, AttributeError) as e:
                return self.reply(500, ("cannot read the namespaces file: %s" % e).encode())
            if counter == "namespace_watch_requests":
                return self.watch(None, items, q, "namespaces")
            body = {"kind": "NamespaceList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(st.rv)}, "items": items}
            return self.reply(200, json.dumps(body).encode(), "application/json")
        try:
            data = st.read_pods()
        except OSError as e:
            return self.reply(500, ("cannot read pods file: %s" % e).encode())
        if kind == "kubelet":
            return self.reply(200, data, "application/json")
        try:
            items = json.loads(data).get("items") or []
        except (ValueError, AttributeError) as e:
            return self.reply(500, ("pods file is not a PodList: %s" % e).encode())
        node = None
        for term in q.get("fieldSelector", "").split(","):
            if term.startswith("spec.nodeName="):
                node = term.split("=", 1)[1].lstrip("=")
        if node is not None:
            items = [i for i in items if node_of(i, args.assume_node) == node]
        if counter == "watch_requests":
            return self.watch(node, items, q)
        body = {"kind": "PodList", "apiVersion": "v1",
                "metadata": {"resourceVersion": str(st.rv)}, "items": items}
        self.reply(200, json.dumps(body).encode(), "application/json")

    def token_ok(self, auth):
        try:
            with open(self.server.state.args.token, "rb") as f:
                want = b"Bearer " + f.read().strip()
        except OSError:
            return False
        return hmac.compare_digest(auth.encode("latin-1", "replace"), want)

    def error(self, kind, code):
        if kind == "namespaces" and code == 403:
            return self.reply(403, api_status(403, "Forbidden", 'namespaces is forbidden: User "system:node:test-node" '
                                              'cannot list resource "namespaces" in API group "" at the cluster scope'),
                              "application/json")
        if kind in ("api", "namespaces"):
            return self.reply(code, API_ERRORS[code], "application/json")
        self.reply(code, KUBELET_ERRORS[code])

    def watch(self, node, items, q, kind="pods"):
        st = self.server.state
        bookmarks = q.get("allowWatchBookmarks") == "true" and st.args.bookmark_interval > 0
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        s = Stream(node, kind)
        if q.get("resourceVersion", "0") in ("", "0"):  # like the API server: replay current state
            for i in items:
                s.q.put(("line", json.dumps({"type": "ADDED", "object": i}, separators=(",", ":")).encode()))
        with st.lock:
            st.streams.append(s)
        interval = st.args.bookmark_interval
        next_bm = time.monotonic() + interval if bookmarks else None
        try:
            while True:
                if next_bm is not None and time.monotonic() >= next_bm:
                    what, data, next_bm = "line", st.bookmark("Namespace" if kind == "namespaces" else "Pod"), \
                        time.monotonic() + interval
                else:
                    try:
                        what, data = s.q.get(timeout=0.2)
                    except queue.Empty:
                        if self.peer_gone():
                            self.log_message("watch stream closed by client")
                            return
                        continue
                with st.cond:
                    st.cond.wait_for(lambda: not st.stalled or s.force_close)
                if s.force_close or what == "close":
                    self.wfile.write(b"0\r\n\r\n")  # clean end of the chunked body
                    return
                self.chunk(data + (b"\n" if what == "line" else b""))
                if what == "truncate":  # abrupt close: no terminating chunk
                    return
        except OSError as e:  # client went away (BrokenPipe, reset, SSL errors)
            self.log_message("watch stream ended: %s", e)
        finally:
            with st.lock:
                st.streams.remove(s)

    def peer_gone(self):
        """True if the client closed its side of an idle watch connection."""
        conn = self.connection
        try:
            if not select.select([conn], [], [], 0)[0]:
                return False
            conn.settimeout(0.05)
            return conn.recv(1) == b""  # anything else the client sends is ignored
        except socket.timeout:
            return False
        except OSError:
            return True
        finally:
            conn.settimeout(None)


class ControlHandler(Handler):
    def do_GET(self):
        st = self.server.state
        if urlsplit(self.path).path != "/stats":
            return self.reply(404, b"404 page not found")
        with st.lock:
            stats = dict(st.stats, open_watches=sum(s.kind == "pods" for s in st.streams),
                         open_namespace_watches=sum(s.kind == "namespaces" for s in st.streams), resource_version=str(st.rv),
                         kubelet_mode=st.modes["kubelet"], api_mode=st.modes["api"], stalled=st.stalled)
        self.reply(200, json.dumps(stats).encode(), "application/json")

    def do_POST(self):
        st = self.server.state
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        n = None
        if url.path == "/mode":
            new = {k: q.get(k, q.get(k + "_mode")) for k in ("kubelet", "api", "namespaces") if k in q or k + "_mode" in q}
            if not set(new.values()) <= set(MODES):
                return self.reply(400, ("unknown mode in %r, want one of %s\n" % (new, MODES)).encode())
            with st.lock:
                st.modes.update(new)
                st.delay = float(q.get("delay", st.delay))
        elif url.path in ("/event", "/raw"):
            objkind = "Pod"
            if url.path == "/raw":
                line, obj = body.rstrip(b"\n"), None
            else:
                try:
                    ev = json.loads(body)
                    assert isinstance(ev, dict) and "type" in ev and isinstance(ev.get("object"), dict)
                except (ValueError, AssertionError):
                    return self.reply(400, b'body must be one watch event {"type":...,"object":{...}}\n')
                objkind = ev["object"].get("kind", "Pod")
                obj = ev["object"] if objkind == "Pod" else None
                line = st.bump_event(ev)
            n = st.push(("line", line), obj, "namespaces" if objkind == "Namespace" else "pods")
        elif url.path == "/gone":
            st.push(("line", GONE_EVENT))
            n = st.push(("close", b""))
        elif url.path == "/truncate":
            n = st.push(("truncate", b'{"type":"MODIFIED","object":{"kind":"Pod","metadata":{"na'))
        elif url.path in ("/stall", "/unstall"):
            with st.cond:
                st.stalled = url.path == "/stall"
                st.cond.notify_all()
        elif url.path == "/close":
            n = close_all(st)
        elif url.path == "/reset-stats":
            with st.lock:
                for k in ("kubelet_requests", "api_list_requests", "watch_requests", "unauthorized"):
                    st.stats[k] = 0
        else:
            return self.reply(404, b"404 page not found")
        self.reply(200, b"ok\n" if n is None else b"ok streams=%d\n" % n)


def close_all(st):
    with st.cond:
        for s in st.streams:
            s.force_close = True
            s.q.put(("close", b""))
        st.cond.notify_all()
        return len(st.streams)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, handler, state, name, ctx=None):
        self.state, self.name, self.ctx = state, name, ctx
        super().__init__(("127.0.0.1", port), handler)

    def finish_request(self, request, client_address):
        if self.ctx is None:
            return super().finish_request(request, client_address)
        try:  # TLS handshake in the per-connection thread, not in the accept loop
            request.settimeout(10)
            conn = self.ctx.wrap_socket(request, server_side=True)
            conn.settimeout(None)
        except (OSError, ssl.SSLError) as e:
            log("%s TLS handshake from %s:%d failed: %s" % (self.name, client_address[0], client_address[1], e))
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            conn.close()


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(str(port))
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=0, help="0 = any free port")
    p.add_argument("--port-file", help="write the listening port here (atomically)")
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--control-port-file", help="write the plain-HTTP control port here (atomically)")
    p.add_argument("--cert"); p.add_argument("--key")
    p.add_argument("--client-ca", help="require a client certificate signed by this CA")
    p.add_argument("--token", help="require 'Authorization: Bearer <file contents>' (re-read per request)")
    p.add_argument("--plain-http", action="store_true")
    p.add_argument("--pods", required=True, help="PodList JSON file, re-read per request")
    p.add_argument("--assume-node", default="", help="nodeName for items without spec.nodeName")
    p.add_argument("--mode", default="normal", choices=MODES, help="initial mode for both endpoints")
    p.add_argument("--kubelet-mode", choices=MODES); p.add_argument("--api-mode", choices=MODES)
    p.add_argument("--namespaces-mode", choices=MODES, help="for /api/v1/namespaces (default: --api-mode)")
    p.add_argument("--namespaces", help="NamespaceList JSON file served at /api/v1/namespaces, re-read per request")
    p.add_argument("--delay", type=float, default=10.0, help="seconds to sleep in mode slow")
    p.add_argument("--bookmark-interval", type=float, default=0.0, help="seconds; 0 = never")
    p.add_argument("--initial-rv", type=int, default=1000, help="first resourceVersion")
    args = p.parse_args()

    ctx = None
    if not args.plain_http:
        if not (args.cert and args.key):
            p.error("--cert and --key are required unless --plain-http")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=args.client_ca)
    elif args.client_ca:
        p.error("--client-ca needs TLS (drop --plain-http)")

    state = State(args)
    control = Server(args.control_port, ControlHandler, state, "control")
    main_srv = Server(args.port, MainHandler, state, "https" if ctx else "http", ctx)
    cport, port = control.server_address[1], main_srv.server_address[1]
    if args.control_port_file:
        write_port_file(args.control_port_file, cport)
    if args.port_file:  # written last: once it exists, both servers accept connections
        write_port_file(args.port_file, port)
    log("listening on 127.0.0.1:%d (%s), control on 127.0.0.1:%d" % (port, main_srv.name, cport))

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    for srv in (control, main_srv):
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    while not stop.wait(3600):
        pass
    log("shutting down")
    close_all(state)
    for srv in (main_srv, control):
        srv.shutdown()
        srv.server_close()
    time.sleep(0.05)  # let watch threads write their terminating chunk


if __name__ == "__main__":
    main()
