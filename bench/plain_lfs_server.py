#!/usr/bin/env python3
"""A plain Git LFS server for benchmarks: what a git host's LFS storage does
(every object kept whole, as uploaded). Batch API + basic adapter, no auth,
no locks (404, which git-lfs skips quietly).

    plain_lfs_server.py STORE_DIR PORT_FILE   (listens on 127.0.0.1, any port)
"""
import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STORE = sys.argv[1]
os.makedirs(STORE, exist_ok=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="application/vnd.git-lfs+json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.path.endswith("/objects/batch"):
            return self.reply(404, b'{"message":"not found"}')
        req = json.loads(body)
        base = "http://%s%s" % (self.headers["Host"], self.path[: -len("batch")])
        out = []
        for o in req["objects"]:
            item = {"oid": o["oid"], "size": o["size"], "authenticated": True}
            have = os.path.exists(os.path.join(STORE, o["oid"]))
            href = {"href": base + o["oid"]}
            if req["operation"] == "upload" and not have:
                item["actions"] = {"upload": href}
            elif req["operation"] == "download":
                if have:
                    item["actions"] = {"download": href}
                else:
                    item["error"] = {"code": 404, "message": "not found"}
            out.append(item)
        self.reply(200, json.dumps({"transfer": "basic", "objects": out}).encode())

    def do_PUT(self):
        oid = self.path.rsplit("/", 1)[1]
        left = int(self.headers["Content-Length"])
        tmp = os.path.join(STORE, ".tmp-%s-%d" % (oid, os.getpid()))
        sha = hashlib.sha256()
        with open(tmp, "wb") as f:
            while left > 0:
                piece = self.rfile.read(min(left, 1 << 20))
                if not piece:
                    break
                sha.update(piece)
                f.write(piece)
                left -= len(piece)
            f.flush()
            os.fsync(f.fileno())
        if left or sha.hexdigest() != oid:
            os.unlink(tmp)
            return self.reply(422, b'{"message":"wrong bytes"}')
        os.rename(tmp, os.path.join(STORE, oid))
        self.reply(200)

    def do_GET(self):
        path = os.path.join(STORE, self.path.rsplit("/", 1)[1])
        if not os.path.exists(path):
            return self.reply(404, b'{"message":"not found"}')
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(path, "rb") as f:
            os.sendfile(self.wfile.fileno(), f.fileno(), 0, size)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
