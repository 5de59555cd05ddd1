#!/usr/bin/env python3
"""A docker-registry token server (the bearer flow of docker/distribution's `auth: token`),
for tests. Tokens are RS256 JWTs signed with the openssl CLI; the signing certificate goes in
the `x5c` header, so a registry whose `rootcertbundle` is that certificate accepts them.

usage: token_server.py KEY_PEM CERT_PEM PORT_FILE LOG_FILE --user USER:PASSWORD
           [--issuer NAME] [--service NAME]
Serves on 127.0.0.1 (a free port, written to PORT_FILE):
  GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...]
      Basic credentials of --user → 200 {"token", "access_token"} granting every scope asked;
      wrong credentials → 401; none → a token granting nothing.
Each request is logged to LOG_FILE as "user=<name or -> scopes=<scope> <scope>".
"""
import base64
import http.server
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main():
    key, cert, port_file, log_file = sys.argv[1:5]
    opts = {"--user": "", "--issuer": "cbuild-test-issuer", "--service": "cbuild-test"}
    args = sys.argv[5:]
    for i in range(0, len(args) - 1, 2):
        opts[args[i]] = args[i + 1]
    user, password = opts["--user"].split(":", 1)
    with open(cert) as f:
        pem = f.read()
    der_b64 = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))

    def sign(claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [der_b64]}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                                   capture_output=True, check=True).stdout
        return signing_input + "." + b64url(signature)

    class Handler(http.server.BaseHTTPRequestHandler):
        def reply(self, status, doc):
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path != "/token":
                return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
            query = urllib.parse.parse_qs(url.query)
            scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
            who = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                given = base64.b64decode(auth[6:]).decode(errors="replace")
                if given != f"{user}:{password}":
                    self.log(given.split(":", 1)[0] + "(refused)", scopes)
                    return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
                who = user
            self.log(who or "-", scopes)
            access = []
            for scope in scopes if who else []:
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
            now = int(time.time())
            token = sign({"iss": opts["--issuer"], "sub": who or "", "aud": opts["--service"], "exp": now + 300,
                          "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access})
            self.reply(200, {"token": token, "access_token": token, "expires_in": 300})

        def log(self, who, scopes):
            with open(log_file, "a") as f:
                f.write(f"user={who} scopes={' '.join(scopes)}\n")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
