#!/usr/bin/env python3
"""A small TLS-terminating proxy for tests: accepts TLS on 127.0.0.1:PORT with CERT/KEY and
forwards the plain bytes to UPSTREAM (host:port), both ways, one thread per direction.
Chroma and Qdrant cannot serve TLS themselves; this stands in for the ingress in front of them.

Usage: tls-proxy.py PORT UPSTREAM CERT KEY [--client-ca CA] [--cut-after BYTES] [--log FILE]
  --client-ca   require client certificates signed by CA
  --cut-after   drop the first connection once it has carried BYTES towards the client (a
                download that breaks mid-body, once)
  --log         append each request's head lines (method, path, Range) to FILE
Prints "ready" once it listens."""
import socket, ssl, sys, threading

def option(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None

CUT_AFTER = int(option("--cut-after") or 0)
LOG = option("--log")
state = {"cut": False}
lock = threading.Lock()

def log_request(data):
    if not LOG:
        return
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1", "replace").split("\r\n")
    if not head or " HTTP/1." not in head[0]:
        return
    lines = [head[0]] + [h for h in head[1:] if h.lower().startswith("range:")]
    with lock, open(LOG, "a") as f:
        f.write(" | ".join(lines) + "\n")

def pump(src, dst, towards_client=False):
    carried = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if not towards_client:
                log_request(data)
            if towards_client and CUT_AFTER:
                carried += len(data)
                with lock:
                    cut = not state["cut"] and carried > CUT_AFTER
                    if cut:
                        state["cut"] = True
                if cut:
                    dst.sendall(data[: len(data) - (carried - CUT_AFTER)])
                    break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

def main():
    port, upstream, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    host, uport = upstream.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if option("--client-ca"):
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(option("--client-ca"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print("ready", flush=True)
    while True:
        raw, _ = listener.accept()
        def serve(raw=raw):
            try:
                client = context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()
                return
            try:
                server = socket.create_connection((host, int(uport)))
            except OSError:
                client.close()
                return
            threading.Thread(target=pump, args=(client, server), daemon=True).start()
            pump(server, client, towards_client=True)
        threading.Thread(target=serve, daemon=True).start()

if __name__ == "__main__":
    main()
