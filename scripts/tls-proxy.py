#!/usr/bin/env python3
"""A small TLS-terminating proxy for tests: accepts TLS on 127.0.0.1:PORT with CERT/KEY and
forwards the plain bytes to UPSTREAM (host:port), both ways, one thread per direction.
Chroma and Qdrant cannot serve TLS themselves; this stands in for the ingress in front of them.

Usage: tls-proxy.py PORT UPSTREAM CERT KEY [--client-ca CA]   (--client-ca: require client certs)
Prints "ready" once it listens."""
import socket, ssl, sys, threading

def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
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
    if "--client-ca" in sys.argv:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(sys.argv[sys.argv.index("--client-ca") + 1])
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
            pump(server, client)
        threading.Thread(target=serve, daemon=True).start()

if __name__ == "__main__":
    main()
