#!/usr/bin/env python3
"""A read-only registry serving one OCI image layout, for tests that need a misbehaving
registry (docker-registry verifies what it stores, so it cannot serve bad blobs).

usage: fake_registry.py LAYOUT_DIR PORT_FILE [--corrupt DIGEST]...
Serves on 127.0.0.1 (a free port, written to PORT_FILE):
  GET /v2/                        200 {}
  GET /v2/<repo>/manifests/<ref>  a tag: the first manifest of index.json; a digest: that blob
  GET /v2/<repo>/blobs/<digest>   blobs/sha256/<hex>; a --corrupt digest is served with its
                                  bytes altered (same length)
"""
import http.server
import json
import os
import sys


def main():
    layout, port_file = sys.argv[1], sys.argv[2]
    corrupt = {sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--corrupt"}
    with open(os.path.join(layout, "index.json")) as f:
        first = json.load(f)["manifests"][0]

    def blob(digest):
        path = os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])
        with open(path, "rb") as f:
            data = f.read()
        if digest in corrupt:
            data = bytes(b ^ 0xFF for b in data)
        return data

    class Handler(http.server.BaseHTTPRequestHandler):
        def send_bytes(self, data, ctype="application/octet-stream", status=200):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_GET(self):
            parts = self.path.split("/")
            try:
                if self.path == "/v2/":
                    return self.send_bytes(b"{}", "application/json")
                if len(parts) >= 5 and parts[-2] == "manifests":
                    ref = parts[-1]
                    desc = first if not ref.startswith("sha256:") else {"digest": ref, "mediaType": first["mediaType"]}
                    return self.send_bytes(blob(desc["digest"]), desc["mediaType"])
                if len(parts) >= 5 and parts[-2] == "blobs":
                    return self.send_bytes(blob(parts[-1]))
            except (OSError, IndexError, ValueError):
                pass
            body = json.dumps({"errors": [{"code": "NOT_FOUND", "message": "not found"}]}).encode()
            self.send_bytes(body, "application/json", 404)

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
