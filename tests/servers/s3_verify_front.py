#!/usr/bin/python3
"""A front for the S3 test double that checks every request the way AWS does.

s3rver (the test double behind it) does not verify SigV4 signatures. This
front recomputes each signed request's signature with botocore (Debian's
python3-botocore: the AWS SDK's own signer), refuses what AWS would refuse,
and forwards the rest to s3rver, relaying its answers:

  - a signature that does not match                  -> 403 SignatureDoesNotMatch
  - a header named in SignedHeaders but not sent     -> 403 (AWS: "'expect' is named as a
                                                        SignedHeader, but it does not exist in
                                                        the HTTP request")
  - an unknown access key id                         -> 403 InvalidAccessKeyId
  - a scope for another region than the bucket's     -> 400 AuthorizationHeaderMalformed,
                                                        x-amz-bucket-region naming the bucket's
  - x-amz-content-sha256 / x-amz-checksum-sha256 that do not match the body -> 400
  - a request time more than 15 minutes off          -> 403 RequestTimeTooSkewed

Virtual-hosted requests (Host: BUCKET.host) are forwarded path-style. Each
request is logged: "VERIFIED", "UNSIGNED" or "REFUSED <why>", method, path.

  s3_verify_front.py --upstream HOST:PORT --port-file FILE --log FILE
                     [--port N] [--region us-east-1] [--key ID:SECRET]... [--bucket NAME]...
"""
import argparse
import base64
import datetime
import hashlib
import http.client
import http.server
import re
import socketserver
import sys
import threading

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?"
    r"SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$"
)
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class ExactHeaders(S3SigV4Auth):
    """Signs exactly the headers the client says it signed."""

    def __init__(self, credentials, region, names):
        super().__init__(credentials, "s3", region)
        self.names = names

    def headers_to_sign(self, request):
        h = HTTPHeaders()
        for n in self.names:
            h[n] = request.headers[n]
        return h


def error_xml(code, message, extra=""):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>%s</Error>'
        % (code, message, extra)
    ).encode()


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: our own log says what matters
        pass

    def record(self, verdict):
        with self.server.log_lock:
            with open(self.server.log_path, "a") as f:
                f.write("%s %s %s\n" % (verdict, self.command, self.path))

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def refuse(self, status, code, message, headers=(), extra=""):
        self.record("REFUSED %s: %s" % (code, message))
        self.answer(status, error_xml(code, message, extra), [("Content-Type", "application/xml")] + list(headers))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))

    def check(self, body):
        """None if the request is acceptable, else (status, code, message, headers, extra)."""
        auth = self.headers.get("Authorization")
        if auth is None:
            return None
        m = AUTH.match(auth)
        if not m:
            return (400, "AuthorizationHeaderMalformed", "cannot parse the Authorization header", (), "")
        key_id, date, region, signed, signature = m.groups()
        secret = self.server.keys.get(key_id)
        if secret is None:
            return (403, "InvalidAccessKeyId", "the access key id %s does not exist" % key_id, (), "")
        if region != self.server.region:
            return (
                400,
                "AuthorizationHeaderMalformed",
                "the authorization header is malformed; the region '%s' is wrong; expecting '%s'"
                % (region, self.server.region),
                [("x-amz-bucket-region", self.server.region)],
                "<Region>%s</Region>" % self.server.region,
            )
        lower = {k.lower(): v for k, v in self.headers.items()}
        names = signed.split(";")
        for n in names:
            if n not in lower:
                return (
                    403,
                    "AccessDenied",
                    "'%s' is named as a SignedHeader, but it does not exist in the HTTP request" % n,
                    (),
                    "",
                )
        amz_date = lower.get("x-amz-date", "")
        if not amz_date.startswith(date):
            return (403, "SignatureDoesNotMatch", "x-amz-date does not match the credential scope", (), "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return (403, "AccessDenied", "bad x-amz-date", (), "")
        if abs((datetime.datetime.utcnow() - when).total_seconds()) > 900:
            return (403, "RequestTimeTooSkewed", "the request time is more than 15 minutes off", (), "")
        payload = lower.get("x-amz-content-sha256", "")
        if payload not in ("UNSIGNED-PAYLOAD", "") and not payload.startswith("STREAMING-"):
            if hashlib.sha256(body).hexdigest() != payload:
                return (400, "XAmzContentSHA256Mismatch", "the body does not hash to x-amz-content-sha256", (), "")
        if "x-amz-checksum-sha256" in lower:
            if base64.b64encode(hashlib.sha256(body).digest()).decode() != lower["x-amz-checksum-sha256"]:
                return (400, "BadDigest", "the body does not match x-amz-checksum-sha256", (), "")
        req = AWSRequest(
            method=self.command,
            url="http://%s%s" % (lower.get("host", ""), self.path),
            headers={n: lower[n] for n in names},
            data=body,
        )
        req.context["timestamp"] = amz_date
        signer = ExactHeaders(Credentials(key_id, secret), region, names)
        canonical = signer.canonical_request(req)
        expected = signer.signature(signer.string_to_sign(req, canonical), req)
        if expected != signature:
            return (
                403,
                "SignatureDoesNotMatch",
                "the request signature we calculated does not match the signature you provided",
                (),
                "<CanonicalRequest>%s</CanonicalRequest>" % canonical.replace("&", "&amp;").replace("<", "&lt;"),
            )
        return None

    def forward(self, body):
        path = self.path
        host = self.headers.get("Host", "")
        for bucket in self.server.buckets:
            if host.startswith(bucket + "."):  # virtual-hosted style
                path = "/" + bucket + path
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP and k.lower() != "host"}
        headers["Content-Length"] = str(len(body))
        try:
            conn = http.client.HTTPConnection(self.server.upstream, timeout=300)
            conn.request(self.command, path, body=body if body or self.command in ("PUT", "POST") else None,
                         headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP and k.lower() != "content-length"]
            conn.close()
        except OSError as e:
            self.record("UPSTREAM-DOWN %s" % e)
            self.answer(503, error_xml("ServiceUnavailable", "the store behind the front is down: %s" % e),
                        [("Content-Type", "application/xml")])
            return
        self.send_response(resp.status)
        for k, v in out:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)) if self.command != "HEAD" else
                         resp.getheader("Content-Length", "0"))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        body = self.read_body()
        problem = self.check(body)
        if problem:
            status, code, message, headers, extra = problem
            self.refuse(status, code, message, headers, extra)
            return
        self.record("VERIFIED" if "Authorization" in self.headers else "UNSIGNED")
        self.forward(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--key", action="append", default=[])
    ap.add_argument("--bucket", action="append", default=[])
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Front)
    srv.upstream = a.upstream
    srv.log_path = a.log
    srv.log_lock = threading.Lock()
    srv.region = a.region
    srv.keys = dict(k.split(":", 1) for k in (a.key or ["S3RVER:S3RVER"]))
    srv.buckets = a.bucket
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
