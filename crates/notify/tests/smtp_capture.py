#!/usr/bin/env python3
"""A loopback SMTP server for crates/notify/tests/integrations.rs, built on aiosmtpd.

Every message received is written to OUT_DIR/<n>.json with the envelope, the HELO/EHLO name,
whether the session was under TLS, the AUTH exchange (mechanism, identity, login, password),
the raw message, its headers and its decoded MIME parts. Prints "READY" once it accepts
connections and runs until killed.

usage: smtp_capture.py PORT OUT_DIR [--tls CERT KEY] [--auth USER PASS] [--mechs PLAIN,LOGIN]
"""

import argparse
import asyncio
import base64
import email
import email.policy
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Capture:
    def __init__(self, out_dir, user, password):
        self.out_dir = out_dir
        self.user = user
        self.password = password
        self.count = 0

    def _check(self, session, mechanism, identity, login, password):
        session.pharos_auth = {
            "mechanism": mechanism,
            "identity": identity,
            "login": login,
            "password": password,
        }
        ok = login == self.user and password == self.password
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(login, password))

    # AUTH PLAIN and LOGIN implemented here (instead of aiosmtpd's) to see the identity too.
    async def auth_PLAIN(self, server, args):
        if len(args) >= 2:
            raw = base64.b64decode(args[1])
        else:
            raw = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(raw, bytes):
                return AuthResult(success=False)
        try:
            identity, login, password = raw.decode().split("\0")
        except ValueError:
            return AuthResult(success=False, handled=False)
        return self._check(server.session, "PLAIN", identity, login, password)

    async def auth_LOGIN(self, server, args):
        login = await server.challenge_auth("Username:")
        if not isinstance(login, bytes):
            return AuthResult(success=False)
        password = await server.challenge_auth("Password:")
        if not isinstance(password, bytes):
            return AuthResult(success=False)
        return self._check(server.session, "LOGIN", "", login.decode(), password.decode())

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            parts.append(
                {
                    "content_type": part.get("Content-Type"),
                    "transfer_encoding": part.get("Content-Transfer-Encoding"),
                    "raw": part.get_payload(decode=False),
                    "body": payload.decode("utf-8", "replace"),
                }
            )
        record = {
            "helo": session.host_name,
            "tls": session.ssl is not None,
            "auth": getattr(session, "pharos_auth", None),
            "authenticated": bool(session.authenticated),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "raw": raw.decode("utf-8", "replace"),
            "headers": [[k, v] for k, v in msg.items()],
            "content_type": msg.get_content_type(),
            "parts": parts,
        }
        self.count += 1
        path = os.path.join(self.out_dir, "%03d.json" % self.count)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, path)
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("out_dir")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth", nargs=2, metavar=("USER", "PASS"))
    ap.add_argument("--mechs", default="PLAIN,LOGIN")
    a = ap.parse_args()

    user, password = a.auth if a.auth else (None, None)
    handler = Capture(a.out_dir, user, password)
    kwargs = {}
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        kwargs["tls_context"] = ctx
    wanted = set(a.mechs.split(",")) if a.auth else set()
    # aiosmtpd advertises every auth_* method; leave out the ones this run does not offer.
    kwargs["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m not in wanted]
    if not wanted:
        # No AUTH at all: exclude everything so EHLO does not list AUTH.
        kwargs["auth_exclude_mechanism"] = ["PLAIN", "LOGIN", "CRAM-MD5"]
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=a.port,
        auth_require_tls=False,
        auth_required=False,
        decode_data=False,
        **kwargs,
    )
    controller.start()
    print("READY", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
