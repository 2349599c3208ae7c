#!/usr/bin/env python3
"""End-to-end tests of `cordon serve`: a real daemon on a Unix socket and TCP with TLS on 0.0.0.0
(a self-signed certificate made with the openssl CLI; clients: Python ssl, curl, openssl s_client),
real workers, a real SQLite state directory, real SIGKILL and SIGTERM. Prints `N passed, N failed`.

Usage: test_serve.py BIN_DIR   (the directory holding `cordon` and `cordon-worker`)
"""
import email.utils, hashlib, http.client, json, os, re, shutil, signal, socket, ssl, subprocess, sys, tempfile, threading, time, traceback

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/debug")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = tempfile.mkdtemp(prefix="cordon-serve-test-")
SOCK = os.path.join(ROOT, "run", "cordon.sock")
TOKENS = {"acme": "acme-secret-token", "globex": "globex-secret-token", "tiny": "tiny-secret-token", "hog": "hog-secret-token",
          "narrow": "narrow-secret-token"}
ADMIN = "admin-secret-token"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


# A self-signed certificate for 127.0.0.1 (what the clients connect to) and its key, and a second
# key that belongs to no certificate here.
TLS_DIR = os.path.join(ROOT, "tls")
os.makedirs(TLS_DIR)
CERT, KEY, OTHER_KEY = (os.path.join(TLS_DIR, n) for n in ("cert.pem", "key.pem", "other-key.pem"))
openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=cordon-test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", KEY, "-out", CERT)
openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", OTHER_KEY)
TLS_CLIENT = ssl.create_default_context(cafile=CERT)

PORT = free_port()
CONFIG = {
    # Not loopback, so TLS is required; the clients still connect to 127.0.0.1.
    "listen": {"unix": SOCK, "tcp": "0.0.0.0:%d" % PORT, "tls": {"cert": CERT, "key": KEY}},
    "state_dir": os.path.join(ROOT, "state"),
    "audit_log": os.path.join(ROOT, "audit", "audit.log"),
    "admin_token_sha256": sha(ADMIN),
    "shutdown_grace_ms": 5000,
    "idle_timeout_ms": 1500,
    "max_json_body": 65536,
    "tenants": [
        {"name": "acme", "token_sha256": sha(TOKENS["acme"]),
         "quota": {"plugins": 3, "workers": 6, "memory_mib": 512, "calls_per_second": 100000, "module_bytes": 65536},
         "capabilities": ["storage", "read_config"], "policies": ["default"]},
        {"name": "globex", "token_sha256": sha(TOKENS["globex"]),
         "quota": {"plugins": 10, "workers": 20, "memory_mib": 512, "calls_per_second": 100000, "module_bytes": 65536},
         "capabilities": ["read_config"], "policies": ["default"]},
        {"name": "hog", "token_sha256": sha(TOKENS["hog"]),
         "quota": {"plugins": 4, "workers": 8, "memory_mib": 48, "cpu_percent": 10, "calls_per_second": 100000,
                   "module_bytes": 65536, "concurrent_calls": 64},
         "capabilities": [], "policies": ["default"]},
        {"name": "tiny", "token_sha256": sha(TOKENS["tiny"]),
         "quota": {"plugins": 1, "workers": 1, "memory_mib": 64, "calls_per_second": 3, "module_bytes": 1024},
         "capabilities": [], "policies": ["default"]},
        {"name": "narrow", "token_sha256": sha(TOKENS["narrow"]),
         "quota": {"plugins": 1, "workers": 2, "memory_mib": 64, "calls_per_second": 100000, "module_bytes": 65536,
                   "concurrent_calls": 2},
         "capabilities": ["timer"], "policies": ["default"]},
    ],
}
# The TCP listener in use (the last start runs plain HTTP on loopback).
TCP = {"tls": True}


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def conn(transport="unix"):
    if transport == "unix":
        return UnixHTTPConnection(SOCK)
    if TCP["tls"]:
        return http.client.HTTPSConnection("127.0.0.1", PORT, timeout=30, context=TLS_CLIENT)
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)


def request(method, path, body=None, tenant="acme", token=None, transport="unix", content_type=None, raw=False):
    c = conn(transport)
    headers = {}
    tok = token if token is not None else (TOKENS.get(tenant) if tenant else None)
    if tok:
        headers["Authorization"] = "Bearer " + tok
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if content_type:
        headers["Content-Type"] = content_type
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    if raw:
        return r.status, data, r
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, data


class Daemon:
    def __init__(self):
        self.proc = None
        self.log = open(os.path.join(ROOT, "daemon.log"), "ab")

    def start(self, config=CONFIG):
        path = os.path.join(ROOT, "config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        TCP["tls"] = "tls" in config["listen"]
        self.proc = subprocess.Popen([os.path.join(BIN, "cordon"), "serve", "--config", path],
                                     stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited with %s" % self.proc.returncode)
            try:
                if request("GET", "/healthz", tenant=None)[0] == 200 and request("GET", "/healthz", tenant=None, transport="tcp")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("daemon did not come up")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def term(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


RESULTS = {"passed": 0, "failed": 0}


def test(fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print("ok   ", fn.__name__)
    except Exception:
        RESULTS["failed"] += 1
        print("FAIL ", fn.__name__)
        traceback.print_exc()
    sys.stdout.flush()
    return fn


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_error(answer, status, code=None):
    got, body = answer
    expect(got == status, "expected %d, got %d %r" % (status, got, body))
    expect(isinstance(body, dict) and "error" in body and "message" in body["error"], "not a JSON error: %r" % (body,))
    if code:
        expect(body["error"]["code"] == code, "expected code %s, got %r" % (code, body))


def serve_refuses(config, name):
    """Runs `cordon serve` on a config it must refuse at start: (exit status, stderr)."""
    path = os.path.join(ROOT, name + ".json")
    with open(path, "w") as f:
        json.dump(config, f)
    p = subprocess.run([os.path.join(BIN, "cordon"), "serve", "--config", path], capture_output=True, timeout=60)
    return p.returncode, p.stderr


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "30"] + list(args), capture_output=True, timeout=60)


def raw_request(method, path, body=b"", tenant="acme", headers=()):
    """One HTTP/1.1 request's bytes, for clients that pipeline or misbehave on purpose."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: cordon"]
    if tenant:
        lines.append("Authorization: Bearer " + TOKENS.get(tenant, tenant))
    if body or method in ("POST", "PUT"):
        lines += ["Content-Type: application/json", "Content-Length: %d" % len(body)]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def call_request(pid, export, args, tenant="acme", headers=()):
    return raw_request("POST", "/v1/plugins/%s/calls/%s" % (pid, export), json.dumps({"args": args}).encode(), tenant, headers)


def raw_exchange(data, answers, shutdown=False, then=b"", timeout=20):
    """Writes `data` on one Unix-socket connection at once (a pipelining client), optionally closes
    its writing side or writes `then` after the first answer, and reads `answers` answers.
    Returns ([(status, {header: value}, body)], closed): closed when the daemon closed the
    connection after them."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(SOCK)
    s.sendall(data)
    if shutdown:
        s.shutdown(socket.SHUT_WR)
    buf, out = b"", []
    closed = False
    while len(out) < answers:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1").split("\r\n")
            fields = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in head[1:])}
            length = int(fields.get("content-length", "0"))
            if len(buf) >= end + 4 + length:
                out.append((int(head[0].split()[1]), fields, buf[end + 4:end + 4 + length]))
                buf = buf[end + 4 + length:]
                if len(out) == 1 and then:
                    s.sendall(then)
                continue
        chunk = s.recv(65536)
        if not chunk:
            closed = True
            break
        buf += chunk
    if not closed:
        try:
            s.settimeout(0.5)   # well inside the idle timeout (1.5 s)
            closed = s.recv(1) == b""
        except socket.timeout:
            closed = False
    s.close()
    return out, closed


WASM = subprocess.run(["wat2wasm", os.path.join(HERE, "plugin.wat"), "--output=-"], check=True, capture_output=True).stdout
STATE = {}

# ------------------------------------------------------------------------------------------------


def main():
    daemon = Daemon()
    bad = dict(CONFIG, tenants=[dict(CONFIG["tenants"][0], quota=dict(CONFIG["tenants"][0]["quota"], plugns=3))])

    @test
    def bad_config_is_refused_with_its_json_path():
        path = os.path.join(ROOT, "bad.json")
        with open(path, "w") as f:
            json.dump(bad, f)
        p = subprocess.run([os.path.join(BIN, "cordon"), "serve", "--config", path], capture_output=True, timeout=60)
        expect(p.returncode == 65, "exit %d" % p.returncode)
        expect(b"$.tenants[0].quota.plugns" in p.stderr and b"unknown key" in p.stderr, p.stderr)
        status, stderr = serve_refuses(dict(CONFIG, reactor_busy_poll_us=5000), "bad-busy-poll")
        expect(status == 65 and b"$.reactor_busy_poll_us" in stderr, (status, stderr))

    @test
    def non_loopback_tcp_without_tls_is_refused():
        code, err = serve_refuses(dict(CONFIG, listen={"tcp": "0.0.0.0:8700"}), "no-tls")
        expect(code == 65 and b"$.listen.tls: is required" in err, (code, err))
        code, err = serve_refuses(dict(CONFIG, listen={"unix": SOCK, "tls": {"cert": CERT, "key": KEY}}), "tls-no-tcp")
        expect(code == 65 and b"$.listen.tls:" in err, (code, err))

    @test
    def the_deploy_example_config_parses_up_to_its_certificate():
        # deploy/serve.json names /etc/cordon/tls/cert.pem, absent here: every key before it parsed
        p = subprocess.run([os.path.join(BIN, "cordon"), "serve", "--config", os.path.join(HERE, "..", "..", "deploy", "serve.json")],
                           capture_output=True, timeout=60)
        expect(p.returncode == 65 and b"$.listen.tls.cert: cannot open the certificate /etc/cordon/tls/cert.pem" in p.stderr,
               (p.returncode, p.stderr))

    @test
    def bad_tls_files_are_refused_at_start_with_their_json_path():
        garbage = os.path.join(TLS_DIR, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("this is not PEM\n")
        broken = os.path.join(TLS_DIR, "broken.pem")
        with open(broken, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
        empty = os.path.join(TLS_DIR, "empty.pem")
        open(empty, "w").close()
        encrypted = os.path.join(TLS_DIR, "encrypted.pem")
        openssl("pkey", "-in", KEY, "-aes256", "-passout", "pass:secret", "-out", encrypted)
        # certificates outside their validity dates, signed with KEY by `openssl ca` (which takes explicit dates)
        ca = os.path.join(TLS_DIR, "ca")
        os.makedirs(ca)
        open(os.path.join(ca, "index.txt"), "w").close()
        with open(os.path.join(ca, "serial"), "w") as f:
            f.write("01\n")
        with open(os.path.join(ca, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\nnew_certs_dir = %s\nserial = %s/serial\n"
                    "default_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n" % (ca, ca, ca))
        openssl("req", "-new", "-key", KEY, "-subj", "/CN=cordon-test", "-out", os.path.join(ca, "csr.pem"))
        dated = {}
        for name, start, end in (("expired", "20200101000000Z", "20200102000000Z"), ("future", "20990101000000Z", "20990102000000Z")):
            dated[name] = os.path.join(TLS_DIR, name + ".pem")
            openssl("ca", "-batch", "-config", os.path.join(ca, "ca.cnf"), "-selfsign", "-keyfile", KEY, "-in", os.path.join(ca, "csr.pem"),
                    "-startdate", start, "-enddate", end, "-out", dated[name])
        cases = [
            ({"cert": os.path.join(TLS_DIR, "missing.pem"), "key": KEY}, "$.listen.tls.cert", b"No such file or directory"),
            ({"cert": TLS_DIR, "key": KEY}, "$.listen.tls.cert", b"Is a directory"),
            ({"cert": garbage, "key": KEY}, "$.listen.tls.cert", b"not a PEM certificate"),
            ({"cert": empty, "key": KEY}, "$.listen.tls.cert", b"is empty"),
            ({"cert": broken, "key": KEY}, "$.listen.tls.cert", b"not a valid PEM certificate"),
            ({"cert": CERT, "key": garbage}, "$.listen.tls.key", b"not a PEM private key"),
            ({"cert": CERT, "key": encrypted}, "$.listen.tls.key", b"encrypted private key"),
            ({"cert": CERT, "key": OTHER_KEY}, "$.listen.tls.key", b"is not the private key of the certificate"),
            ({"cert": CERT, "key": "key.pem"}, "$.listen.tls.key", b"must be an absolute path"),
            ({"cert": KEY, "key": KEY}, "$.listen.tls.cert", b"not a PEM certificate"),
            ({"cert": dated["expired"], "key": KEY}, "$.listen.tls.cert", b"expired on 2020-01-02"),
            ({"cert": dated["future"], "key": KEY}, "$.listen.tls.cert", b"is not valid before 2099-01-01"),
        ]
        if os.geteuid() != 0:  # root reads a mode-000 file anyway
            unreadable = os.path.join(TLS_DIR, "unreadable.pem")
            shutil.copy(KEY, unreadable)
            os.chmod(unreadable, 0)
            cases.append(({"cert": CERT, "key": unreadable}, "$.listen.tls.key", b"Permission denied"))
        for i, (tls, path, reason) in enumerate(cases):
            code, err = serve_refuses(dict(CONFIG, listen=dict(CONFIG["listen"], tls=tls)), "bad-tls-%d" % i)
            expect(code == 65 and (path + ": ").encode() in err and reason in err, (tls, code, err))

    daemon.start()

    @test
    def healthz_without_auth_on_both_listeners():
        expect(request("GET", "/healthz", tenant=None)[0] == 200, "unix")
        expect(request("GET", "/healthz", tenant=None, transport="tcp")[0] == 200, "tcp")

    @test
    def unix_socket_is_0660():
        expect(os.stat(SOCK).st_mode & 0o777 == 0o660, oct(os.stat(SOCK).st_mode))

    @test
    def missing_or_wrong_token_is_401():
        expect_error(request("GET", "/v1/plugins", tenant=None), 401, "unauthorized")
        expect_error(request("GET", "/v1/plugins", token="nope"), 401, "unauthorized")
        expect_error(request("GET", "/metrics", tenant="acme"), 401, "unauthorized")

    @test
    def module_upload_and_validation():
        status, body = request("PUT", "/v1/modules", body=WASM, content_type="application/wasm")
        expect(status == 201 and body["sha256"] == hashlib.sha256(WASM).hexdigest(), (status, body))
        status, body = request("PUT", "/v1/modules", body=WASM, content_type="application/wasm")
        expect(status == 200, (status, body))
        expect_error(request("PUT", "/v1/modules", body=b"not wasm at all", content_type="application/wasm"), 422, "invalid_module")
        expect_error(request("PUT", "/v1/modules", body=b"\0asm\1\0\0\0" + b"\0" * 70000), 413)

    @test
    def plugin_lifecycle_and_calls():
        digest = hashlib.sha256(WASM).hexdigest()
        status, body = request("POST", "/v1/plugins", {"name": "calc", "version": "1.0.0", "module_sha256": digest,
                                                       "grant": ["storage"], "config": {"k": "v"}, "policy": "default",
                                                       "limits": {"fuel": 1000000, "timeout_ms": 5000, "memory_pages": 16}, "workers": 1})
        expect(status == 201 and body["name"] == "calc" and body["state"] == "ready", (status, body))
        STATE["id"] = pid = body["id"]
        status, body = request("POST", "/v1/plugins/%s/calls/add" % pid, {"args": [2, 3]})
        expect(status == 200 and body["results"] == [5] and "fuel_used" in body and isinstance(body["duration_ms"], float)
               and 0 < body["duration_ms"] < 5000, (status, body))
        status, body = request("POST", "/v1/plugins/%s/calls/add" % pid, {"args": [-7, 3]}, transport="tcp")
        expect(status == 200 and body["results"] == [-4], (status, body))
        status, data, r = request("POST", "/v1/plugins/%s/calls/echo" % pid, body=b"hello bytes", content_type="application/octet-stream", raw=True)
        expect(status == 200 and data == b"hello bytes", (status, data))
        # Milliseconds with exactly three decimals, as in the JSON answer's duration_ms.
        expect(int(r.getheader("Cordon-Fuel-Used")) > 0 and re.fullmatch(r"[0-9]+\.[0-9]{3}", r.getheader("Cordon-Duration-Ms")), r.getheaders())
        status, body = request("GET", "/v1/plugins")
        expect(status == 200 and [p["id"] for p in body["plugins"]] == [pid], body)
        status, body = request("GET", "/v1/plugins/" + pid)
        expect(status == 200 and body["state"] == "ready" and body["metrics"]["calls"] >= 2, body)

    @test
    def tls_listener_serves_curl_and_python_ssl():
        pid = STATE["id"]
        base = "https://127.0.0.1:%d" % PORT
        p = curl("--cacert", CERT, base + "/healthz")
        expect(p.returncode == 0 and json.loads(p.stdout) == {"status": "ok"}, (p.returncode, p.stdout, p.stderr))
        p = curl("--cacert", CERT, "-H", "Authorization: Bearer " + TOKENS["acme"], "-H", "Content-Type: application/json",
                 "-d", '{"args": [40, 2]}', base + "/v1/plugins/%s/calls/add" % pid)
        expect(p.returncode == 0 and json.loads(p.stdout)["results"] == [42], (p.returncode, p.stdout, p.stderr))
        # Python's ssl: the certificate verified against its CA file and its IP address
        status, body = request("POST", "/v1/plugins/%s/calls/add" % pid, {"args": [1, 2]}, transport="tcp")
        expect(status == 200 and body["results"] == [3], (status, body))
        with TLS_CLIENT.wrap_socket(socket.create_connection(("127.0.0.1", PORT), timeout=30), server_hostname="127.0.0.1") as s:
            expect(s.version() in ("TLSv1.2", "TLSv1.3"), s.version())
        # a client that does not trust the certificate stops at the handshake (curl: 60)
        p = curl(base + "/healthz")
        expect(p.returncode == 60, (p.returncode, p.stderr))

    @test
    def plain_http_old_tls_and_stalled_handshakes_are_refused_on_the_tls_port():
        p = curl("http://127.0.0.1:%d/healthz" % PORT)
        expect(p.returncode != 0 and b"status" not in p.stdout, (p.returncode, p.stdout, p.stderr))
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        try:
            c.request("GET", "/healthz")
            answered = c.getresponse().status
        except (OSError, http.client.HTTPException):
            answered = None
        c.close()
        expect(answered is None, "plain HTTP answered %r" % answered)
        # TLS 1.2 is the minimum: the server answers a TLS 1.1 hello with a protocol_version alert
        def s_client(version):
            return subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % PORT, "-CAfile", CERT, version,
                                   "-cipher", "DEFAULT:@SECLEVEL=0"], input=b"", capture_output=True, timeout=60)
        p = s_client("-tls1_2")
        expect(p.returncode == 0 and b"Verify return code: 0 (ok)" in p.stdout, (p.stdout[-600:], p.stderr))
        p = s_client("-tls1_1")
        expect(p.returncode != 0 and b"alert protocol version" in p.stderr, (p.returncode, p.stdout[-600:], p.stderr))
        # a client that opens the connection and never sends its hello is closed by the idle timeout
        s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
        try:
            closed = s.recv(100) == b""
        except socket.timeout:
            closed = False
        except ConnectionResetError:
            closed = True
        s.close()
        expect(closed, "a client that never started its handshake was not closed")

    @test
    def fuel_used_is_the_calls_own():
        pid = STATE["id"]

        def fuel(n):
            status, body = request("POST", "/v1/plugins/%s/calls/count" % pid, {"args": [n]})
            expect(status == 200 and body["results"] == [n], (status, body))
            return body["fuel_used"]
        small, again, big = fuel(100), fuel(100), fuel(1000)
        expect(small > 0 and small == again and big > small, (small, again, big))
        # overlapping calls (they queue for the plugin's one worker) each report their own fuel
        seen = []

        def caller():
            for n in (100, 5000, 100, 5000):
                seen.append((n, fuel(n)))
        threads = [threading.Thread(target=caller) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        expect(len(seen) == 16 and all(f == small for n, f in seen if n == 100), seen)
        expect(len({f for n, f in seen if n == 5000}) == 1, seen)

    @test
    def concurrent_calls_over_the_quota_are_429_until_one_finishes():
        digest = hashlib.sha256(WASM).hexdigest()
        request("PUT", "/v1/modules", body=WASM, tenant="narrow")
        status, body = request("POST", "/v1/plugins", {"name": "napper", "module_sha256": digest, "grant": ["timer"],
                                                       "workers": 2, "limits": {"memory_pages": 16}}, tenant="narrow")
        expect(status == 201, (status, body))
        STATE["napper"] = pid = body["id"]
        # narrow allows 2 calls in flight: two naps, one per worker, stay in flight for 1.5 s; a
        # third call is refused until one finishes. A nap that lost the race for a slot to a probe
        # (which takes it only briefly) asks again.
        naps = []

        def nap():
            deadline = time.time() + 60
            while True:
                answer = request("POST", "/v1/plugins/%s/calls/nap" % pid, {"args": [1500]}, tenant="narrow")
                if answer[0] != 429 or time.time() > deadline:
                    naps.append(answer)
                    return
        threads = [threading.Thread(target=nap) for _ in range(2)]
        for t in threads:
            t.start()
        refused = None
        while refused is None and any(t.is_alive() for t in threads):
            status, body = request("POST", "/v1/plugins/%s/calls/noop" % pid, {"args": []}, tenant="narrow")
            if status == 429:
                refused = body
            else:
                expect(status == 200, (status, body))
        for t in threads:
            t.join()
        expect(refused is not None and refused["error"]["code"] == "rate_limited" and refused["error"]["quota"] == "concurrent_calls",
               ("no 429 while 2 calls were in flight", refused, naps))
        expect([n[0] for n in naps] == [200, 200] and all(n[1]["results"] == [0] for n in naps), naps)
        status, body = request("POST", "/v1/plugins/%s/calls/noop" % pid, {"args": []}, tenant="narrow")
        expect(status == 200 and body["results"] == [1], (status, body))

    @test
    def failing_calls_carry_the_library_error():
        pid = STATE["id"]
        expect_error(request("POST", "/v1/plugins/%s/calls/trap" % pid, {"args": []}), 422, "trapped")
        status, body = request("POST", "/v1/plugins/%s/calls/spin" % pid, {"args": []})
        expect_error((status, body), 422, "limit_exceeded")
        expect(body["error"]["limit"] == "fuel", body)
        expect_error(request("POST", "/v1/plugins/%s/calls/nope" % pid, {"args": []}), 404, "no_such_export")
        expect_error(request("POST", "/v1/plugins/%s/calls/add" % pid, {"args": [1]}), 400)
        expect_error(request("POST", "/v1/plugins/%s/calls/add" % pid, {"args": ["2", 3]}), 400)
        # the plugin still answers after its trap and its fuel kill
        expect(request("POST", "/v1/plugins/%s/calls/add" % pid, {"args": [1, 1]})[1]["results"] == [2], "recovered")

    @test
    def tenants_are_kept_apart():
        pid = STATE["id"]
        expect_error(request("GET", "/v1/plugins/" + pid, tenant="globex"), 404, "not_found")
        expect_error(request("POST", "/v1/plugins/%s/calls/add" % pid, {"args": [2, 3]}, tenant="globex"), 404, "not_found")
        expect_error(request("DELETE", "/v1/plugins/" + pid, tenant="globex"), 404, "not_found")
        expect(request("GET", "/v1/plugins", tenant="globex")[1]["plugins"] == [], "globex sees nothing")
        # modules are per tenant too
        digest = hashlib.sha256(WASM).hexdigest()
        expect_error(request("POST", "/v1/plugins", {"name": "x", "module_sha256": digest}, tenant="globex"), 422, "unknown_module")

    @test
    def grants_and_policies_beyond_the_tenant_are_refused():
        digest = hashlib.sha256(WASM).hexdigest()
        request("PUT", "/v1/modules", body=WASM, tenant="globex")
        status, body = request("POST", "/v1/plugins", {"name": "s", "module_sha256": digest, "grant": ["storage"]}, tenant="globex")
        expect_error((status, body), 403, "capability_not_allowed")
        expect("storage" in body["error"]["message"], body)
        status, body = request("POST", "/v1/plugins", {"name": "s", "module_sha256": digest, "policy": "strict"}, tenant="globex")
        expect_error((status, body), 403, "policy_not_allowed")

    @test
    def a_name_is_taken_until_its_plugin_is_deleted():
        # The tenant's supervisor holds one plugin per name too (the library's alreadyLoaded, also a
        # 409 conflict): a DELETE frees it before it answers, so the name can be reused at once.
        digest = hashlib.sha256(WASM).hexdigest()
        request("PUT", "/v1/modules", body=WASM, tenant="globex")
        for _ in range(2):
            status, body = request("POST", "/v1/plugins", {"name": "again", "module_sha256": digest}, tenant="globex")
            expect(status == 201, (status, body))
            expect_error(request("POST", "/v1/plugins", {"name": "again", "module_sha256": digest}, tenant="globex"), 409, "conflict")
            expect(request("DELETE", "/v1/plugins/" + body["id"], tenant="globex")[0] == 204, "delete")

    @test
    def invalid_manifests_are_422_with_the_path():
        digest = hashlib.sha256(WASM).hexdigest()
        status, body = request("POST", "/v1/plugins", {"name": "y", "module_sha256": digest, "bogus": 1})
        expect_error((status, body), 422, "invalid_manifest")
        expect(body["error"]["path"] == "$.bogus", body)
        expect_error(request("POST", "/v1/plugins", {"name": "y", "module_sha256": digest, "workers": "two"}), 422, "invalid_manifest")
        expect_error(request("POST", "/v1/plugins", {"name": "../etc", "module_sha256": digest}), 422, "invalid_manifest")
        expect_error(request("POST", "/v1/plugins", body=b"{\"name\": ", content_type="application/json"), 422, "invalid_manifest")
        expect_error(request("POST", "/v1/plugins", body=b"[1,2]", content_type="application/json"), 422, "invalid_manifest")
        expect_error(request("POST", "/v1/plugins", {"name": "calc", "module_sha256": digest}), 409, "conflict")

    @test
    def quotas_are_enforced_before_work():
        digest = hashlib.sha256(WASM).hexdigest()
        ids = []
        for name in ("q1", "q2"):
            status, body = request("POST", "/v1/plugins", {"name": name, "module_sha256": digest, "limits": {"memory_pages": 16}})
            expect(status == 201, (status, body))
            ids.append(body["id"])
        expect_error(request("POST", "/v1/plugins", {"name": "q3", "module_sha256": digest, "limits": {"memory_pages": 16}}), 429, "quota_exceeded")

        for pid in ids:
            expect(request("DELETE", "/v1/plugins/" + pid)[0] == 204, "delete")
        expect_error(request("GET", "/v1/plugins/" + ids[0]), 404, "not_found")
        status, body = request("POST", "/v1/plugins", {"name": "w", "module_sha256": digest, "workers": 7})
        expect_error((status, body), 429, "quota_exceeded")
        expect(body["error"]["quota"] == "workers", body)
        # 4096 pages (the default policy's 256 MiB) x 3 workers is over acme's 512 MiB
        status, body = request("POST", "/v1/plugins", {"name": "m", "module_sha256": digest, "workers": 3})
        expect_error((status, body), 429, "quota_exceeded")
        expect(body["error"]["quota"] == "memory_mib", body)
        # tiny: 1 KiB of modules, 3 calls per second
        expect_error(request("PUT", "/v1/modules", body=b"\0asm\1\0\0\0" + b"\0" * 2000, tenant="tiny"), 413)
        status, body = request("PUT", "/v1/modules", body=WASM, tenant="tiny")
        expect(status == 201, (status, body))
        status, body = request("POST", "/v1/plugins", {"name": "t", "module_sha256": digest, "limits": {"memory_pages": 16}}, tenant="tiny")
        expect(status == 201, (status, body))
        tiny = body["id"]
        codes = [request("POST", "/v1/plugins/%s/calls/noop" % tiny, {"args": []}, tenant="tiny")[0] for _ in range(10)]
        expect(codes.count(200) >= 1 and codes.count(429) >= 1, codes)
        expect_error(request("POST", "/v1/plugins", {"name": "t2", "module_sha256": digest}, tenant="tiny"), 429, "quota_exceeded")

    @test
    def a_tenant_exhausting_its_cgroup_does_not_stop_another():
        import threading
        digest = hashlib.sha256(WASM).hexdigest()
        request("PUT", "/v1/modules", body=WASM, tenant="hog")
        hogs = []
        for i in range(4):
            # no fuel metering: each call burns CPU until its 4 s wall time; 96 pages = 6 MiB per worker
            status, body = request("POST", "/v1/plugins", {"name": "hog%d" % i, "module_sha256": digest, "workers": 2,
                                                           "limits": {"fuel": 0, "timeout_ms": 4000, "memory_pages": 96}}, tenant="hog")
            expect(status == 201, (status, body))
            hogs.append(body["id"])
        detail = request("GET", "/v1/plugins/" + hogs[0], tenant="hog")[1]
        for controller in ("memory", "cpu", "pids"):
            procs = open("/sys/fs/cgroup/%s/cordon/hog/cgroup.procs" % controller).read().split()
            expect(all(str(p) in procs for p in detail["worker_pids"]) and detail["worker_pids"], (controller, detail, procs))
        expect(open("/sys/fs/cgroup/memory/cordon/hog/memory.limit_in_bytes").read().strip() == str(48 << 20), "memory limit")
        outcomes = []

        def hog(pid):
            for _ in range(2):
                # 5 MiB more linear memory per worker, then spin: together far over 48 MiB and 10% of a CPU
                outcomes.append(request("POST", "/v1/plugins/%s/calls/grow" % pid, {"args": [80]}, tenant="hog")[0])
                outcomes.append(request("POST", "/v1/plugins/%s/calls/spin" % pid, {"args": []}, tenant="hog")[0])
        threads = [threading.Thread(target=hog, args=(p,)) for p in hogs for _ in range(2)]
        for t in threads:
            t.start()
        answered = 0
        while any(t.is_alive() for t in threads):
            status, body = request("POST", "/v1/plugins/%s/calls/add" % STATE["id"], {"args": [40, 2]})
            expect(status == 200 and body["results"] == [42], (status, body))
            answered += 1
        for t in threads:
            t.join()
        expect(answered > 0, (answered, outcomes))
        for pid in hogs:
            request("DELETE", "/v1/plugins/" + pid, tenant="hog")

    @test
    def hostile_clients_get_json_errors_and_the_daemon_stays_up():
        pid = STATE["id"]
        expect_error(request("GET", "/v1/plugins/..%2F..%2Fetc"), 404)
        expect_error(request("GET", "/v1/plugins/a%00b"), 404)
        expect_error(request("GET", "/v1/nothing-here"), 404)
        expect_error(request("POST", "/v1/plugins/%s/calls/add" % pid, body=b"x" * 200000, content_type="application/json"), 413)
        expect_error(request("POST", "/v1/plugins/%s/calls/add" % pid, body=b"{\"args\": [1, 2], \"extra\": 1}", content_type="application/json"), 400)
        expect_error(request("POST", "/v1/plugins/%s/calls/add" % pid, body=b"[" * 100000, content_type="application/json"), 413)
        expect_error(request("POST", "/v1/plugins/%s/calls/add" % pid, body=b"[" * 1000, content_type="application/json"), 400)
        # a slow client that never finishes its headers is closed by the idle timeout
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(SOCK)
        s.sendall(b"POST /v1/plugins HTTP/1.1\r\nHost: x\r\n")
        try:
            closed = s.recv(100) == b""
        except socket.timeout:
            closed = False
        s.close()
        expect(closed, "a client that never finished its headers was not closed")
        # garbage on the wire
        s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200) + b"\r\n\r\n")
        try:
            s.recv(1000)
        except OSError:
            pass
        s.close()
        # many connections at once
        socks = []
        for _ in range(200):
            c = socket.socket(socket.AF_UNIX)
            c.connect(SOCK)
            socks.append(c)
        for c in socks:
            c.close()
        expect(request("POST", "/v1/plugins/%s/calls/add" % pid, {"args": [20, 22]})[1]["results"] == [42], "still up")

    @test
    def pipelined_requests_are_answered_in_order():
        pid, napper = STATE["id"], STATE["napper"]
        # A slow call ahead of the router's requests and of other calls, all written at once on one
        # connection: each is answered, in the order asked.
        data = (call_request(napper, "nap", [300], tenant="narrow") + raw_request("GET", "/healthz", tenant=None)
                + call_request(pid, "add", [1, 2]) + raw_request("GET", "/v1/plugins/" + pid)
                + call_request(pid, "add", [3, 4], tenant="wrong-token") + raw_request("PUT", "/v1/modules", WASM)
                + call_request(pid, "add", [5, 6]))
        out, closed = raw_exchange(data, 7)
        statuses = [a[0] for a in out]
        expect(statuses == [200, 200, 200, 200, 401, 200, 200], (statuses, out))
        bodies = [json.loads(a[2]) for a in out]
        expect(bodies[0]["results"] == [0] and bodies[1] == {"status": "ok"} and bodies[2]["results"] == [3]
               and bodies[3]["id"] == pid and bodies[4]["error"]["code"] == "unauthorized"
               and "sha256" in bodies[5] and bodies[6]["results"] == [11], bodies)
        expect(out[4][1].get("www-authenticate") == "Bearer" and out[2][1].get("server") == "cordon", out)
        # The Date header is an IMF-fixdate of now, on the call route's answers as on the router's.
        for answer in out:
            stamp = email.utils.parsedate_to_datetime(answer[1]["date"]).timestamp()
            expect(abs(stamp - time.time()) < 10 and answer[1]["date"].endswith(" GMT"), answer[1])
        # A query on a call's path is ignored, as by the router.
        out, _ = raw_exchange(raw_request("POST", "/v1/plugins/%s/calls/add?trace=1" % pid, b'{"args":[7,8]}'), 1)
        expect([a[0] for a in out] == [200] and json.loads(out[0][2])["results"] == [15], out)
        expect(not closed, "a keep-alive connection was closed")

    @test
    def pipelined_requests_in_random_pieces_keep_their_order():
        # Mixed requests, pipelined, written in pieces cut at random places with short pauses, so heads
        # and bodies arrive split across reads in every way: each answer still comes in order.
        import random
        rng = random.Random(1207)
        pid, napper = STATE["id"], STATE["napper"]
        for round_ in range(20):
            data, expected = b"", []
            for _ in range(rng.randint(3, 10)):
                kind = rng.choice(["add", "add", "healthz", "get", "unauthorized", "nap", "bad_args", "too_large"])
                if kind == "add":
                    a, b = rng.randint(-1000, 1000), rng.randint(-1000, 1000)
                    data += call_request(pid, "add", [a, b])
                    expected.append((200, lambda body, r=a + b: json.loads(body)["results"] == [r]))
                elif kind == "healthz":
                    data += raw_request("GET", "/healthz", tenant=None)
                    expected.append((200, lambda body: json.loads(body) == {"status": "ok"}))
                elif kind == "get":
                    data += raw_request("GET", "/v1/plugins/" + pid)
                    expected.append((200, lambda body: json.loads(body)["id"] == pid))
                elif kind == "unauthorized":
                    data += call_request(pid, "add", [1, 1], tenant="not-a-token")
                    expected.append((401, lambda body: json.loads(body)["error"]["code"] == "unauthorized"))
                elif kind == "nap":
                    data += call_request(napper, "nap", [rng.randint(1, 30)], tenant="narrow")
                    expected.append((200, lambda body: json.loads(body)["results"] == [0]))
                elif kind == "bad_args":
                    data += call_request(pid, "add", ["x", 1])
                    expected.append((400, lambda body: "error" in json.loads(body)))
                else:
                    data += raw_request("POST", "/v1/plugins/%s/calls/add" % pid, b" " * 70000)
                    expected.append((413, lambda body: json.loads(body)["error"]["code"] == "too_large"))
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(20)
            s.connect(SOCK)
            cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
            for start, end in zip([0] + cuts, cuts + [len(data)]):
                s.sendall(data[start:end])
                time.sleep(rng.choice([0, 0, 0.001, 0.005]))
            buf, answers = b"", []
            while len(answers) < len(expected):
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    head = buf[:end].decode("latin-1").split("\r\n")
                    length = int(next((l.split(":", 1)[1] for l in head[1:] if l.lower().startswith("content-length:")), "0"))
                    if len(buf) >= end + 4 + length:
                        answers.append((int(head[0].split()[1]), buf[end + 4:end + 4 + length]))
                        buf = buf[end + 4 + length:]
                        continue
                chunk = s.recv(65536)
                expect(chunk, "round %d: the daemon closed after %d of %d answers" % (round_, len(answers), len(expected)))
                buf += chunk
            s.close()
            for i, ((status, check), (got, body)) in enumerate(zip(expected, answers)):
                expect(got == status and check(body), "round %d, answer %d: expected %d, got %d %r" % (round_, i, status, got, body[:200]))
            expect(buf == b"", "round %d: bytes after the last answer: %r" % (round_, buf[:200]))

    @test
    def the_call_route_keeps_http_framing_under_odd_clients():
        pid = STATE["id"]
        # Connection: close is honoured after the answer.
        out, closed = raw_exchange(call_request(pid, "add", [2, 2], headers=["Connection: close"]), 1)
        expect([a[0] for a in out] == [200] and json.loads(out[0][2])["results"] == [4] and closed, (out, closed))
        # A client that closes its writing side after its request still gets the answer.
        out, closed = raw_exchange(call_request(pid, "add", [3, 3]), 1, shutdown=True)
        expect([a[0] for a in out] == [200] and json.loads(out[0][2])["results"] == [6], out)
        # A client that closes its writing side in the middle of a call's body is closed, not left hanging.
        head = ("POST /v1/plugins/%s/calls/add HTTP/1.1\r\nHost: cordon\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"args\":" % (pid, TOKENS["acme"])).encode()
        out, closed = raw_exchange(head, 1, shutdown=True, timeout=5)
        expect(closed and all(a[0] >= 400 for a in out), (out, closed))
        # A chunked body growing past the limit is refused, and the connection serves the next request.
        chunk = b"x" * 8192
        chunked = ("POST /v1/plugins/%s/calls/add HTTP/1.1\r\nHost: cordon\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % (pid, TOKENS["acme"])).encode()
        chunked += (b"2000\r\n" + chunk + b"\r\n") * 9 + b"0\r\n\r\n"
        out, closed = raw_exchange(chunked + call_request(pid, "add", [4, 4]), 2)
        expect([a[0] for a in out] == [413, 200] and json.loads(out[0][2])["error"]["code"] == "too_large"
               and json.loads(out[1][2])["results"] == [8], out)
        # A declared length over the limit is refused before any of the body is sent.
        head = ("POST /v1/plugins/%s/calls/add HTTP/1.1\r\nHost: cordon\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n" % (pid, TOKENS["acme"])).encode()
        out, closed = raw_exchange(head, 1, timeout=5)
        expect([a[0] for a in out] == [413], out)
        # A client that waits for leave to send its body is given it once the head passed.
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(SOCK)
        body = b'{"args":[20,30]}'
        s.sendall(("POST /v1/plugins/%s/calls/add HTTP/1.1\r\nHost: cordon\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                   "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (pid, TOKENS["acme"], len(body))).encode())
        interim = s.recv(1000)
        expect(interim.startswith(b"HTTP/1.1 100 Continue\r\n") and interim.endswith(b"\r\n\r\n"), interim)
        s.sendall(body)
        answer = b""
        while b"}" not in answer:
            answer += s.recv(1000)
        s.close()
        expect(answer.startswith(b"HTTP/1.1 200 ") and b'"results":[50]' in answer, answer)
        # Garbage after a call: the call is answered first, then the parse error (400) closes.
        out, closed = raw_exchange(call_request(pid, "add", [5, 5]) + b"NOT HTTP AT ALL\r\n\r\n", 2)
        expect([a[0] for a in out] == [200, 400] and closed, (out, closed))
        # Paths the router matches but the event-loop call route does not take (a trailing or a
        # doubled slash) are served by the router, through the same checks.
        for path in ("/v1/plugins/%s/calls/add/" % pid, "/v1//plugins/%s/calls/add" % pid):
            status, body = request("POST", path, {"args": [1, 1]})
            expect(status == 200 and body["results"] == [2], (path, status, body))
        expect_error(request("POST", "/v1/plugins/%s/calls/add/" % pid, {"args": [1, 1]}, tenant="globex"), 404, "not_found")
        expect_error(request("POST", "/v1/plugins/%s/calls/add/" % pid, body=b"x" * 70000, content_type="application/json"), 413)
        # Other methods on the call path are the router's.
        expect(request("GET", "/v1/plugins/%s/calls/add" % pid)[0] in (404, 405), "GET on a call path")

    @test
    def metrics_need_the_admin_token_and_carry_the_tenant():
        status, data, _ = request("GET", "/metrics", token=ADMIN, raw=True)
        text = data.decode()
        expect(status == 200, status)
        expect('cordon_calls_total{tenant="acme"' in text, text[:2000])
        expect('cordon_live_workers{tenant="globex"}' in text, text[:2000])
        expect('cordon_http_refused_total{' in text, text[:2000])

    @test
    def events_stream_is_the_tenants_own():
        c = conn()
        c.request("GET", "/v1/events", headers={"Authorization": "Bearer " + TOKENS["acme"]})
        r = c.getresponse()
        expect(r.status == 200 and r.getheader("Content-Type") == "text/event-stream", r.status)
        expect(r.readline().startswith(b": cordon events for tenant acme"), "preamble")
        request("POST", "/v1/plugins/%s/calls/trap" % STATE["id"], {"args": []})
        line = b""
        while not line.startswith(b"data: "):
            line = r.readline()
        event = json.loads(line[6:])
        expect(event["plugin_id"] == STATE["id"], event)
        c.close()

    @test
    def refused_requests_are_audited_with_their_tenant():
        records = [json.loads(l) for l in open(CONFIG["audit_log"]) if l.strip()]
        refused = [r for r in records if r["type"] == "request.refused"]
        expect(any(r["tenant"] == "globex" and r["data"]["status"] == 404 for r in refused), "globex 404")
        expect(any(r["tenant"] == "-" and r["data"]["status"] == 401 for r in refused), "401")
        expect(any(r["tenant"] == "tiny" and r["data"]["code"] == "rate_limited" for r in refused), "429")
        expect(any(r["tenant"] == "narrow" and r["data"]["status"] == 429 and r["data"]["code"] == "rate_limited" for r in refused),
               "429 concurrent_calls")
        # A refused call names its path without the query (the pipelined 401, the 413s of the odd clients).
        calls = "/v1/plugins/%s/calls/add" % STATE["id"]
        expect(any(r["tenant"] == "-" and r["data"]["status"] == 401 and r["data"]["path"] == calls and r["data"]["method"] == "POST"
                   for r in refused), "401 of a call with its path")
        expect(any(r["tenant"] == "acme" and r["data"]["status"] == 413 and r["data"]["path"] == calls for r in refused), "413 of a call")

    @test
    def storage_and_plugins_survive_a_sigkill():
        pid = STATE["id"]
        status, body = request("POST", "/v1/plugins/%s/calls/store" % pid, {"args": [424242]})
        expect(status == 200 and body["results"] == [0], (status, body))
        daemon.kill()
        daemon.start()
        status, body = request("GET", "/v1/plugins/" + pid)
        expect(status == 200 and body["state"] == "ready", (status, body))
        status, body = request("POST", "/v1/plugins/%s/calls/load" % pid, {"args": []})
        expect(status == 200 and body["results"] == [424242], (status, body))

    @test
    def sigterm_drains_then_exits_cleanly_and_the_audit_log_verifies():
        pid = STATE["id"]
        code = daemon.term()
        expect(code == 0, "exit %s" % code)
        # a daemon that stopped leaves no tenant cgroups behind (the shared cordon/ parent stays)
        if os.geteuid() == 0 and os.path.isdir("/sys/fs/cgroup/memory/cordon"):
            left = [(c, t["name"]) for c in ("memory", "cpu", "pids") for t in CONFIG["tenants"]
                    if os.path.exists("/sys/fs/cgroup/%s/cordon/%s" % (c, t["name"]))]
            expect(not left, left)
        p = subprocess.run([os.path.join(BIN, "cordon"), "audit", "verify", CONFIG["audit_log"]], capture_output=True, timeout=120)
        expect(p.returncode == 0, p.stdout + p.stderr)
        # the last start serves plain HTTP on loopback TCP (no TLS needed there)
        daemon.start(dict(CONFIG, listen={"unix": SOCK, "tcp": "127.0.0.1:%d" % PORT}))
        status, body = request("POST", "/v1/plugins/%s/calls/load" % pid, {"args": []}, transport="tcp")
        expect(status == 200 and body["results"] == [424242], (status, body))
        daemon.term()

    if daemon.proc and daemon.proc.poll() is None:
        daemon.kill()
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    if RESULTS["failed"] == 0:
        shutil.rmtree(ROOT, ignore_errors=True)
    else:
        print("daemon log and state kept in", ROOT)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
