#!/usr/bin/env python3
"""A stand-in for Qdrant's HTTP API, for Lifeboat's contract tests: no Qdrant server can run on
our build machines (it is in neither Debian nor PyPI). It implements the documented endpoints
Lifeboat uses, with Qdrant's JSON envelopes ({"result": …, "status": "ok", "time": …}):

  GET  /                                        {"title", "version"}
  GET  /collections                             list
  PUT  /collections/{c}                         create ({"vectors": {"size", "distance"}})
  GET  /collections/{c}                         info (points_count, config.params.vectors)
  DELETE /collections/{c}
  PUT  /collections/{c}/points                  upsert ({"points": [{"id", "vector", "payload"}]})
  POST /collections/{c}/points/scroll           ({"limit", "with_vector"})
  POST /collections/{c}/points/search           ({"vector", "limit"}) exact search
  POST /collections/{c}/snapshots?wait=true     create a snapshot → {"name", "creation_time", "size", "checksum"}
  GET  /collections/{c}/snapshots               list
  GET  /collections/{c}/snapshots/{name}        download
  DELETE /collections/{c}/snapshots/{name}
  POST /collections/{c}/snapshots/upload?priority=snapshot&checksum=SHA256   multipart field "snapshot"
  PUT  /collections/{c}/snapshots/recover       ({"location", "priority", "checksum"}) http:// or file://
  POST /snapshots?wait=true, GET /snapshots/{name}, DELETE /snapshots/{name}   full storage

Snapshots are uncompressed tars laid out as Qdrant's collection snapshots are at the top level
(config.json, 0/replica_state.json, 0/shard_config.json, 0/segments/<uuid>/…, 0/wal/), with a
SHA-256 `<file>.checksum` sidecar beside each; the segment content is this server's own JSON
lines, not Qdrant's RocksDB/mmap files. With --api-key-file, every request needs the `api-key`
header. Faults for tests: POST /__fault {"corrupt_next_download": true} flips a byte in the next
snapshot download.

Usage: qdrant-contract-server.py PORT STORAGE_DIR [--api-key-file F]
"""
import hashlib, io, json, math, os, re, sys, tarfile, threading, time, urllib.request, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs, unquote

PORT, STORAGE = int(sys.argv[1]), sys.argv[2]
API_KEY = None
if "--api-key-file" in sys.argv:
    API_KEY = open(sys.argv[sys.argv.index("--api-key-file") + 1]).read().strip()
SNAPSHOTS = os.path.join(STORAGE, "snapshots")
os.makedirs(SNAPSHOTS, exist_ok=True)
LOCK = threading.Lock()
COLLECTIONS = {}  # name -> {"config": {...}, "points": {id: {"vector", "payload"}}}
FAULTS = {"corrupt_next_download": False}
VERSION = "1.12.4"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def write_collection_snapshot(name, col, path):
    with tarfile.open(path, "w") as tar:  # uncompressed, as Qdrant's
        add_bytes(tar, "config.json", json.dumps({"params": {"vectors": col["config"]}}).encode())
        add_bytes(tar, "0/replica_state.json", json.dumps({"is_local": True, "this_peer_id": 1, "peers": {"1": "Active"}}).encode())
        add_bytes(tar, "0/shard_config.json", json.dumps({"type": "Local"}).encode())
        lines = "".join(json.dumps({"id": pid, "vector": p["vector"], "payload": p["payload"]}) + "\n" for pid, p in col["points"].items())
        add_bytes(tar, f"0/segments/{uuid.uuid4()}/points.jsonl", lines.encode())
        add_bytes(tar, "0/wal/open-1", b"")
    with open(path + ".checksum", "w") as f:
        f.write(sha256_file(path))


def read_collection_snapshot(path):
    with tarfile.open(path, "r") as tar:
        names = tar.getnames()
        if "config.json" not in names or not any(n.startswith("0/segments/") for n in names):
            raise ValueError("not a collection snapshot")
        config = json.load(tar.extractfile("config.json"))["params"]["vectors"]
        points = {}
        for member in tar.getmembers():
            if member.name.startswith("0/segments/") and member.name.endswith("points.jsonl"):
                for line in tar.extractfile(member).read().decode().splitlines():
                    p = json.loads(line)
                    points[p["id"]] = {"vector": p["vector"], "payload": p["payload"]}
        return {"config": config, "points": points}


def describe(path):
    st = os.stat(path)
    return {"name": os.path.basename(path), "creation_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(st.st_mtime)),
            "size": st.st_size, "checksum": open(path + ".checksum").read().strip()}


def score(distance, a, b):
    if distance == "Cosine":
        na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
        return sum(x * y for x, y in zip(a, b)) / (na * nb or 1)
    if distance == "Dot":
        return sum(x * y for x, y in zip(a, b))
    if distance == "Euclid":
        return -math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    return -sum(abs(x - y) for x, y in zip(a, b))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, result=None, error=None):
        body = json.dumps({"result": result, "status": "ok", "time": 0.001} if error is None
                          else {"status": {"error": error}, "time": 0.001}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_file(self, path):
        if not os.path.exists(path):
            return self.reply(404, error="Snapshot not found")
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        corrupt, FAULTS["corrupt_next_download"] = FAULTS["corrupt_next_download"], False
        with open(path, "rb") as f:
            sent = 0
            for chunk in iter(lambda: f.read(1 << 16), b""):
                if corrupt and sent <= size // 2 < sent + len(chunk):
                    chunk = bytearray(chunk); chunk[size // 2 - sent] ^= 0xFF; chunk = bytes(chunk)
                self.wfile.write(chunk)
                sent += len(chunk)

    def handle_any(self, method):
        if API_KEY is not None and self.headers.get("api-key") != API_KEY:
            self.body()
            return self.reply(401, error="Must provide an API key or an Authorization bearer token")
        url = urlparse(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        parts = [p for p in path.split("/") if p]
        with LOCK:
            return self.route(method, parts, query)

    def route(self, method, parts, query):
        if method == "GET" and not parts:
            return self.raw_root()
        if parts == ["__fault"] and method == "POST":
            FAULTS.update(json.loads(self.body() or b"{}"))
            return self.reply(200, True)
        if parts == ["collections"] and method == "GET":
            return self.reply(200, {"collections": [{"name": n} for n in sorted(COLLECTIONS)]})
        if parts[:1] == ["snapshots"]:
            return self.full_snapshots(method, parts[1:])
        if len(parts) >= 2 and parts[0] == "collections":
            name, rest = parts[1], parts[2:]
            if not rest:
                return self.collection(method, name)
            if rest == ["points"] and method == "PUT":
                col = COLLECTIONS.get(name)
                if col is None:
                    return self.reply(404, error=f"Not found: Collection `{name}` doesn't exist!")
                for p in json.loads(self.body())["points"]:
                    col["points"][p["id"]] = {"vector": p["vector"], "payload": p.get("payload") or {}}
                return self.reply(200, {"operation_id": 1, "status": "completed"})
            if rest == ["points", "scroll"] and method == "POST":
                req = json.loads(self.body() or b"{}")
                col = COLLECTIONS.get(name)
                if col is None:
                    return self.reply(404, error=f"Not found: Collection `{name}` doesn't exist!")
                ids = sorted(col["points"], key=str)[: req.get("limit", 10)]
                return self.reply(200, {"points": [{"id": i, "vector": col["points"][i]["vector"] if req.get("with_vector") else None,
                                                    "payload": None} for i in ids], "next_page_offset": None})
            if rest == ["points", "search"] and method == "POST":
                req = json.loads(self.body())
                col = COLLECTIONS.get(name)
                if col is None:
                    return self.reply(404, error=f"Not found: Collection `{name}` doesn't exist!")
                d = col["config"]["distance"]
                ranked = sorted(((score(d, req["vector"], p["vector"]), i) for i, p in col["points"].items()), key=lambda t: (-t[0], str(t[1])))
                return self.reply(200, [{"id": i, "version": 0, "score": s} for s, i in ranked[: req.get("limit", 10)]])
            if rest[:1] == ["snapshots"]:
                return self.collection_snapshots(method, name, rest[1:], query)
        self.body()
        return self.reply(404, error=f"Unknown endpoint {method} /{'/'.join(parts)}")

    def raw_root(self):
        body = json.dumps({"title": "qdrant - vector search engine", "version": VERSION}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def collection(self, method, name):
        if method == "PUT":
            req = json.loads(self.body())
            if name in COLLECTIONS:
                return self.reply(409, error=f"Wrong input: Collection `{name}` already exists!")
            COLLECTIONS[name] = {"config": req["vectors"], "points": {}}
            return self.reply(200, True)
        if method == "DELETE":
            return self.reply(200, COLLECTIONS.pop(name, None) is not None)
        col = COLLECTIONS.get(name)
        if col is None:
            return self.reply(404, error=f"Not found: Collection `{name}` doesn't exist!")
        return self.reply(200, {"status": "green", "optimizer_status": "ok", "points_count": len(col["points"]),
                                "indexed_vectors_count": len(col["points"]), "segments_count": 1,
                                "config": {"params": {"vectors": col["config"], "shard_number": 1, "replication_factor": 1}}})

    def collection_snapshots(self, method, name, rest, query):
        folder = os.path.join(SNAPSHOTS, name)
        os.makedirs(folder, exist_ok=True)
        if not rest and method == "POST":
            col = COLLECTIONS.get(name)
            if col is None:
                return self.reply(404, error=f"Not found: Collection `{name}` doesn't exist!")
            path = os.path.join(folder, f"{name}-{int(time.time() * 1000)}-{time.strftime('%Y-%m-%d-%H-%M-%S')}.snapshot")
            write_collection_snapshot(name, col, path)
            return self.reply(200, describe(path))
        if not rest and method == "GET":
            return self.reply(200, [describe(os.path.join(folder, f)) for f in sorted(os.listdir(folder)) if f.endswith(".snapshot")])
        if rest == ["upload"] and method == "POST":
            data = self.multipart_file()
            if data is None:
                return self.reply(400, error="Bad request: expected multipart/form-data with a `snapshot` field")
            return self.recover_bytes(name, data, query.get("checksum", [None])[0])
        if rest == ["recover"] and method == "PUT":
            req = json.loads(self.body())
            location = req["location"]
            try:
                if location.startswith("file://"):
                    data = open(urlparse(location).path, "rb").read()
                else:
                    data = urllib.request.urlopen(location, timeout=30).read()
            except Exception as e:
                return self.reply(400, error=f"Bad request: cannot download snapshot from {location}: {e}")
            return self.recover_bytes(name, data, req.get("checksum"))
        return self.snapshot_file(method, folder, rest)

    def recover_bytes(self, name, data, checksum):
        if checksum and hashlib.sha256(data).hexdigest() != checksum:
            return self.reply(400, error=f"Bad request: Snapshot checksum mismatch: expected {checksum}, got {hashlib.sha256(data).hexdigest()}")
        tmp = os.path.join(SNAPSHOTS, f".upload-{uuid.uuid4()}")
        with open(tmp, "wb") as f:
            f.write(data)
        try:
            COLLECTIONS[name] = read_collection_snapshot(tmp)
        except Exception as e:
            return self.reply(400, error=f"Bad request: invalid snapshot: {e}")
        finally:
            os.remove(tmp)
        return self.reply(200, True)

    def multipart_file(self):
        ctype = self.headers.get("Content-Type", "")
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        body = self.body()
        if not ctype.startswith("multipart/form-data") or not m:
            return None
        boundary = b"--" + m.group(1).encode()
        for part in body.split(boundary):
            head, sep, content = part.partition(b"\r\n\r\n")
            if sep and b'name="snapshot"' in head:
                return content[:-2] if content.endswith(b"\r\n") else content
        return None

    def full_snapshots(self, method, rest):
        folder = os.path.join(SNAPSHOTS, "__full")
        os.makedirs(folder, exist_ok=True)
        if not rest and method == "POST":
            path = os.path.join(folder, f"full-snapshot-{time.strftime('%Y-%m-%d-%H-%M-%S')}-{int(time.time()*1000)}.snapshot")
            with tarfile.open(path, "w") as tar:
                for name, col in sorted(COLLECTIONS.items()):
                    inner = os.path.join(folder, f".{name}.part")
                    write_collection_snapshot(name, col, inner)
                    tar.add(inner, arcname=f"{name}.snapshot")
                    os.remove(inner); os.remove(inner + ".checksum")
                add_bytes(tar, "config.json", json.dumps({"collections": {n: {} for n in COLLECTIONS}}).encode())
            with open(path + ".checksum", "w") as f:
                f.write(sha256_file(path))
            return self.reply(200, describe(path))
        return self.snapshot_file(method, folder, rest)

    def snapshot_file(self, method, folder, rest):
        """GET (download) or DELETE one snapshot file of `folder`."""
        if len(rest) == 1 and method == "GET":
            return self.send_file(os.path.join(folder, rest[0]))
        if len(rest) == 1 and method == "DELETE":
            path = os.path.join(folder, rest[0])
            if not os.path.exists(path):
                return self.reply(404, error="Snapshot not found")
            os.remove(path); os.remove(path + ".checksum")
            return self.reply(200, True)
        self.body()
        return self.reply(404, error="Unknown snapshot endpoint")

    def do_GET(self): self.handle_any("GET")
    def do_POST(self): self.handle_any("POST")
    def do_PUT(self): self.handle_any("PUT")
    def do_DELETE(self): self.handle_any("DELETE")


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
