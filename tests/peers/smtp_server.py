#!/usr/bin/env python3
"""A real SMTP server on loopback for zatan's mail tests (aiosmtpd + trustme).

Modes:
  starttls  plain connect, STARTTLS required before anything else
  tls       TLS from the first byte (SMTPS)
  plain     no encryption
With --user/--password, AUTH (PLAIN or LOGIN) is required before MAIL.

The server certificate (for 127.0.0.1, ::1 and localhost) is issued by a
private CA kept in --ca-dir as ca.pem/ca.key: created on the first start,
reused by a restart, so a client trusting ca.pem keeps trusting the server.

Each accepted message N is written to --out as N.eml (raw), N.att-K.bin (the
decoded bytes of attachment K) and N.json (a summary), the JSON last and by
rename, so a reader that sees N.json sees a complete message. Before that,
the Kth DATA received, accepted or not, leaves an empty K.data the moment it
has arrived (before any --stall-data): the client now waits for the answer.

Prints "ready PORT" on stdout once listening.

  smtp_server.py --write-ca FILE   writes a fresh, unrelated CA certificate and exits
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
import trustme

# aiosmtpd warns (log and UserWarning) about AUTH without STARTTLS, which is
# what implicit TLS looks like to it, and about its own deprecated attribute.
logging.getLogger("mail.log").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", module="aiosmtpd")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["starttls", "tls", "plain"], default="starttls")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--out", help="directory for received messages")
    p.add_argument("--ca-dir", help="directory for the CA (created or reused)")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--reject-rcpt", metavar="SUBSTRING", help="RCPT TO containing this gets 550")
    p.add_argument("--tempfail", type=int, default=0, metavar="N", help="the first N messages after each start get 451 after DATA")
    p.add_argument("--stall-data", type=float, default=0.0, metavar="SECONDS", help="wait this long before answering the end of DATA")
    p.add_argument("--data-size-limit", type=int, default=64 * 1024 * 1024)
    p.add_argument("--write-ca", metavar="FILE")
    args = p.parse_args()
    if not args.write_ca and not args.out:
        p.error("--out is required")
    if args.mode != "plain" and not args.write_ca and not args.ca_dir:
        p.error("--ca-dir is required for tls and starttls")
    if (args.user is None) != (args.password is None):
        p.error("give --user and --password together")
    return args


def load_or_create_ca(ca_dir):
    os.makedirs(ca_dir, exist_ok=True)
    cert_path = os.path.join(ca_dir, "ca.pem")
    key_path = os.path.join(ca_dir, "ca.key")
    if os.path.exists(cert_path) and os.path.exists(key_path):
        with open(cert_path, "rb") as c, open(key_path, "rb") as k:
            return trustme.CA.from_pem(c.read(), k.read())
    ca = trustme.CA()
    ca.private_key_pem.write_to_path(key_path)
    ca.cert_pem.write_to_path(cert_path)
    return ca


def server_context(ca):
    cert = ca.issue_cert("127.0.0.1", "::1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


def summarize(raw, envelope, session, tls, n, out):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    raw_headers = email.message_from_bytes(raw, policy=email.policy.compat32)
    subject_raw = raw_headers.get("Subject", "")
    attachments = []
    body_text = None
    for part, raw_part in zip(msg.walk(), raw_headers.walk()):
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment" or part.get_filename() is not None:
            data = part.get_payload(decode=True) or b""
            name = f"{n:04}.att-{len(attachments)}.bin"
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
            attachments.append({
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "transfer_encoding": part.get("Content-Transfer-Encoding", ""),
                "content_disposition_raw": raw_part.get("Content-Disposition", ""),
                "size": len(data),
                "file": name,
            })
        elif part.get_content_type() == "text/plain" and body_text is None:
            body_text = part.get_content()
    return {
        "mail_from": envelope.mail_from,
        "rcpt_tos": list(envelope.rcpt_tos),
        "auth_login": session.auth_data.decode() if isinstance(session.auth_data, bytes) else session.auth_data,
        "tls": tls,
        "header_from": str(msg.get("From", "")),
        "header_to": str(msg.get("To", "")),
        "message_id": str(msg.get("Message-ID", "")),
        "subject_raw": subject_raw,
        "subject": str(msg.get("Subject", "")),
        "subject_ascii": all(ord(c) < 128 for c in subject_raw),
        "body_text": body_text,
        "message_ascii": all(b < 128 for b in raw),
        "attachments": attachments,
        "eml": f"{n:04}.eml",
        "size": len(raw),
    }


class Handler:
    def __init__(self, args):
        self.args = args
        # a restart with the same --out numbers on after what is there
        self.count = sum(1 for name in os.listdir(args.out) if name.endswith(".json"))
        self.data_received = sum(1 for name in os.listdir(args.out) if name.endswith(".data"))
        self.tempfailed = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.reject_rcpt and self.args.reject_rcpt in address:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_received += 1
        open(os.path.join(self.args.out, f"{self.data_received:04}.data"), "w").close()
        if self.args.stall_data > 0:
            await asyncio.sleep(self.args.stall_data)
        if self.tempfailed < self.args.tempfail:
            self.tempfailed += 1
            return "451 4.3.0 Temporary local problem, try again later"
        self.count += 1
        n = self.count
        out = self.args.out
        raw = envelope.original_content or envelope.content
        with open(os.path.join(out, f"{n:04}.eml"), "wb") as f:
            f.write(raw)
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        summary = summarize(raw, envelope, session, tls, n, out)
        tmp = os.path.join(out, f"{n:04}.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(summary, f, ensure_ascii=False, indent=1)
        os.replace(tmp, os.path.join(out, f"{n:04}.json"))
        return "250 2.0.0 OK: queued"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        # handled=False: aiosmtpd then answers 535 itself
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)
    return check


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = Handler(args)
    ctx = server_context(load_or_create_ca(args.ca_dir)) if args.mode != "plain" else None
    auth = {}
    if args.user is not None:
        auth = dict(
            authenticator=authenticator(args.user, args.password),
            auth_required=True,
            # aiosmtpd only knows about STARTTLS; under implicit TLS or in
            # plain mode it must not insist on it before AUTH.
            auth_require_tls=args.mode == "starttls",
        )

    def factory():
        return SMTP(
            handler,
            hostname="localhost",
            data_size_limit=args.data_size_limit,
            tls_context=ctx if args.mode == "starttls" else None,
            require_starttls=args.mode == "starttls",
            loop=loop,
            **auth,
        )

    server = await loop.create_server(
        factory, host=args.host, port=args.port,
        ssl=ctx if args.mode == "tls" else None,
        reuse_address=True,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main():
    args = parse_args()
    if args.write_ca:
        trustme.CA().cert_pem.write_to_path(args.write_ca)
        return
    os.makedirs(args.out, exist_ok=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
