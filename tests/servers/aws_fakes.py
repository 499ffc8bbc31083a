#!/usr/bin/python3
"""Fake AWS credential endpoints on 127.0.0.1, for the credential-source tests.

One server answers as
  - EC2 instance metadata, IMDSv2: PUT /latest/api/token (needs
    X-aws-ec2-metadata-token-ttl-seconds) gives a session token; GET
    /latest/meta-data/iam/security-credentials/[ROLE] needs it;
  - container credentials: GET /container-creds (needs the Authorization
    header given with --container-auth);
  - STS: POST / with Action=AssumeRoleWithWebIdentity&... (needs the web
    identity token given with --web-token).
Every answer hands out the access key given with --key ID:SECRET and the
session token --session-token, expiring --expires-in seconds from now.
Each request is logged to --log: "<what> <method> <path>".

  aws_fakes.py --port-file FILE --log FILE [--key ID:SECRET] [--session-token T]
               [--expires-in S] [--container-auth A] [--web-token T]
"""
import argparse
import datetime
import http.server
import json
import os
import socketserver
import sys
import threading
import urllib.parse

IMDS_TOKEN = "fake-imds-session-token"
ROLE = "zipllm-test-role"


class Fakes(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, what):
        with self.server.lock:
            with open(self.server.log_path, "a") as f:
                f.write("%s %s %s\n" % (what, self.command, self.path))

    def send(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def creds(self, token_key="Token"):
        key_id, secret = self.server.key.split(":", 1)
        expires = datetime.datetime.utcnow() + datetime.timedelta(seconds=self.server.expires_in)
        return {
            "Code": "Success",
            "AccessKeyId": key_id,
            "SecretAccessKey": secret,
            token_key: self.server.session_token,
            "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.record("imds-token")
            self.send(200, IMDS_TOKEN, "text/plain")
        else:
            self.record("refused")
            self.send(400, "")

    def do_GET(self):
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path.startswith(base):
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                self.record("imds-unauthorized")
                self.send(401, "")
            elif self.path == base:
                self.record("imds-role")
                self.send(200, ROLE, "text/plain")
            elif self.path == base + ROLE:
                self.record("imds-creds")
                self.send(200, json.dumps(self.creds()))
            else:
                self.send(404, "")
        elif self.path == "/container-creds":
            if self.headers.get("Authorization") != self.server.container_auth:
                self.record("container-unauthorized")
                self.send(403, "")
            else:
                self.record("container-creds")
                self.send(200, json.dumps(self.creds()))
        else:
            self.send(404, "")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)).decode()
        form = urllib.parse.parse_qs(body)
        if form.get("Action") == ["AssumeRoleWithWebIdentity"] and form.get("WebIdentityToken") == [self.server.web_token]:
            self.record("sts-creds")
            c = self.creds("SessionToken")
            self.send(
                200,
                "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                "<AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
                "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
                "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
                % (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], c["Expiration"]),
                "text/xml",
            )
        else:
            self.record("sts-refused")
            self.send(
                403,
                "<ErrorResponse><Error><Code>AccessDenied</Code><Message>Not authorized</Message></Error></ErrorResponse>",
                "text/xml",
            )


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--key", default="S3RVER:S3RVER")
    ap.add_argument("--session-token", default="fake-session-token")
    ap.add_argument("--expires-in", type=int, default=3600)
    ap.add_argument("--container-auth", default="fake-container-auth")
    ap.add_argument("--web-token", default="fake-web-identity-token")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Fakes)
    srv.lock = threading.Lock()
    srv.log_path = a.log
    srv.key = a.key
    srv.session_token = a.session_token
    srv.expires_in = a.expires_in
    srv.container_auth = a.container_auth
    srv.web_token = a.web_token
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
