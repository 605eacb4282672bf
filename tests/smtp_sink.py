#!/usr/bin/python3
"""smtp_sink: a small SMTP server that keeps what it is sent, for tests.

    smtp_sink.py PORT OUTDIR [--tls CERT KEY]

Listens on 127.0.0.1:PORT (0: any free port).  The first line on stdout is
always "port=N", flushed, so a test can start it on port 0 and read where
it listens.  Python standard library only; one thread per connection.

It speaks ESMTP: EHLO (PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES, and
STARTTLS with --tls), HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.  RCPT is
answered by the local part of the address:

    slow...        sleep 2 s, then answer as below
    reject...      550 5.1.1
    temp...        451 4.3.0
    anything else  250 2.1.5

and, at DATA and after the message, by the accepted recipients (checked in
this order):

    drop...        after the 354 reply to DATA, read nothing, close the
                   sending side (FIN), and 0.5 s later reset the
                   connection (RST): a relay that dies mid-message, so
                   that the client's next write fails with EPIPE
    datareject...  554 5.6.0 for the whole message, nothing saved
    datatemp...    451 4.3.0 for the whole message, nothing saved

Each accepted message is saved as OUTDIR/NNNNNN.eml (the bytes received
after dot-unstuffing, line ends as received, without the terminating
".") and OUTDIR/NNNNNN.env (first line the MAIL FROM address, "" for the
null sender, then one accepted recipient per line).  Both are written to a
temporary name and renamed, the .eml first: once the .env exists, both are
complete.  Numbering continues after the highest number already in OUTDIR.

OUTDIR/session.log gets one line per connection event and per command:
"conn=N cmd=... reply=NNN".  SIGTERM or SIGINT stops it with exit 0.

Deliberate limits: no AUTH, no SMTPUTF8, no DSN, no BDAT/CHUNKING; replies
are written one at a time, so a pipelining client simply finds them
waiting.
"""

import os
import re
import signal
import socketserver
import socket
import ssl
import struct
import sys
import threading
import time

MAX_SIZE = 52428800
COMMAND_LIMIT = 4096
DATA_CHUNK = 65536
IDLE_TIMEOUT = 300

lock = threading.Lock()
state = {"next": 1, "conn": 0}
settings = {"outdir": ".", "tls": None}


def clean(raw):
    """A received line made safe for one log line."""
    text = raw.decode("latin-1").rstrip("\r\n")
    return "".join(c if " " <= c <= "~" else "\\x%02x" % ord(c) for c in text)


def log(conn, text):
    """Append one line to OUTDIR/session.log."""
    line = "%s conn=%d %s\n" % (time.strftime("%H:%M:%S"), conn, text)
    with lock:
        with open(os.path.join(settings["outdir"], "session.log"), "a") as f:
            f.write(line)


def first_number(outdir):
    """The number after the highest NNNNNN.* already in outdir."""
    high = 0
    for name in os.listdir(outdir):
        m = re.match(r"^(\d{6})\.(eml|env)$", name)
        if m:
            high = max(high, int(m.group(1)))
    return high + 1


def write_atomic(path, data):
    """Write data to a temporary name beside path, then rename it."""
    tmp = os.path.join(os.path.dirname(path),
                       "." + os.path.basename(path) + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def save(sender, rcpts, data):
    """Save one message and its envelope; returns its number as text."""
    with lock:
        num = "%06d" % state["next"]
        state["next"] += 1
    outdir = settings["outdir"]
    write_atomic(os.path.join(outdir, num + ".eml"), data)
    env = "".join(a + "\n" for a in [sender] + rcpts)
    write_atomic(os.path.join(outdir, num + ".env"), env.encode("latin-1"))
    return num


def path_arg(arg, prefix):
    """The address of "FROM:<a> params" or "TO:<a> params" and the params;
    None when it does not parse."""
    m = re.match(prefix + r"\s*<([^<>]*)>(.*)$", arg, re.IGNORECASE)
    if m is None:
        return None
    return m.group(1), m.group(2).split()


def local_part(address):
    return address.rsplit("@", 1)[0].lower()


class Session(socketserver.BaseRequestHandler):
    """One SMTP connection."""

    def setup(self):
        with lock:
            state["conn"] += 1
            self.conn = state["conn"]
        self.request.settimeout(IDLE_TIMEOUT)
        self.rfile = self.request.makefile("rb")
        self.greeted = False
        self.tls = False
        self.reset()

    def reset(self):
        self.sender = None
        self.rcpts = []

    def reply(self, text):
        """Send a reply (lines joined with CRLF); returns its code."""
        self.request.sendall(text.encode("latin-1") + b"\r\n")
        return int(text[:3])

    def handle(self):
        peer = "%s:%d" % self.client_address[:2]
        log(self.conn, "event=connect peer=%s" % peer)
        try:
            self.reply("220 sink.localhost ESMTP smtp_sink")
            self.loop()
        except (OSError, ssl.SSLError) as e:
            log(self.conn, "event=error error=%s" % clean(str(e).encode()))
        log(self.conn, "event=close")

    def loop(self):
        """Read and answer commands until QUIT or end of input."""
        while True:
            line = self.rfile.readline(COMMAND_LIMIT)
            if not line:
                log(self.conn, "event=eof")
                return
            if not line.endswith(b"\n"):
                code = self.reply("500 5.5.2 Line too long")
                log(self.conn, "cmd=%s... reply=%d" % (clean(line[:64]), code))
                return
            text = line.decode("latin-1").rstrip("\r\n")
            verb = text.split(" ", 1)[0].upper()
            arg = text[len(verb) :].strip()
            handler = getattr(self, "cmd_" + verb, None)
            if handler is None:
                code = self.reply("500 5.5.2 Command not recognized")
            else:
                code = handler(arg)
            log(self.conn, "cmd=%s reply=%d" % (clean(line), code))
            if verb == "QUIT" or code == 421:
                return
            if verb == "DATA" and code == 354:
                if any(local_part(r).startswith("drop") for r in self.rcpts):
                    self.drop()
                    return
                self.data()
            if verb == "STARTTLS" and code == 220:
                if not self.starttls():
                    return

    def cmd_EHLO(self, arg):
        if not arg:
            return self.reply("501 5.5.4 EHLO needs a name")
        self.greeted = True
        self.reset()
        lines = ["sink.localhost greets " + arg, "PIPELINING", "8BITMIME",
                 "SIZE %d" % MAX_SIZE, "ENHANCEDSTATUSCODES"]
        if settings["tls"] is not None and not self.tls:
            lines.append("STARTTLS")
        text = "\r\n".join("250-" + l for l in lines[:-1])
        return self.reply(text + "\r\n250 " + lines[-1])

    def cmd_HELO(self, arg):
        if not arg:
            return self.reply("501 5.5.4 HELO needs a name")
        self.greeted = True
        self.reset()
        return self.reply("250 sink.localhost")

    def cmd_STARTTLS(self, arg):
        if settings["tls"] is None or self.tls:
            return self.reply("502 5.5.1 STARTTLS not available")
        if arg:
            return self.reply("501 5.5.4 No parameters allowed")
        return self.reply("220 2.0.0 Ready to start TLS")

    def starttls(self):
        """Wrap the connection in TLS; False when the handshake failed."""
        try:
            self.request = settings["tls"].wrap_socket(self.request,
                                                       server_side=True)
        except (OSError, ssl.SSLError) as e:
            log(self.conn,
                "event=tls_failed error=%s" % clean(str(e).encode()))
            return False
        self.rfile = self.request.makefile("rb")
        self.tls = True
        self.greeted = False
        self.reset()
        log(self.conn, "event=tls version=%s" % self.request.version())
        return True

    def cmd_MAIL(self, arg):
        if not self.greeted:
            return self.reply("503 5.5.1 Send EHLO or HELO first")
        if self.sender is not None:
            return self.reply("503 5.5.1 Nested MAIL command")
        parsed = path_arg(arg, "FROM:")
        if parsed is None:
            return self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
        sender, params = parsed
        for p in params:
            if p.upper().startswith("SIZE=") and p[5:].isdigit():
                if int(p[5:]) > MAX_SIZE:
                    return self.reply("552 5.3.4 Message size exceeds limit")
        self.sender = sender
        return self.reply("250 2.1.0 Ok")

    def cmd_RCPT(self, arg):
        if self.sender is None:
            return self.reply("503 5.5.1 Need MAIL command")
        parsed = path_arg(arg, "TO:")
        if parsed is None or parsed[0] == "":
            return self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
        rcpt = parsed[0]
        local = local_part(rcpt)
        if local.startswith("slow"):
            time.sleep(2)
        if local.startswith("reject"):
            return self.reply("550 5.1.1 <%s>: Recipient address rejected: "
                              "User unknown" % rcpt)
        if local.startswith("temp"):
            return self.reply("451 4.3.0 <%s>: Temporary failure, "
                              "try again later" % rcpt)
        self.rcpts.append(rcpt)
        return self.reply("250 2.1.5 Ok")

    def cmd_DATA(self, arg):
        if self.sender is None:
            return self.reply("503 5.5.1 Need MAIL command")
        if not self.rcpts:
            return self.reply("554 5.5.1 No valid recipients")
        return self.reply("354 End data with <CR><LF>.<CR><LF>")

    def data(self):
        """Read the message up to the lone ".", unstuff it, then answer."""
        chunks = []
        size = 0
        at_line_start = True
        while True:
            chunk = self.rfile.readline(DATA_CHUNK)
            if not chunk:
                log(self.conn, "event=eof_in_data")
                raise ClientGone()
            if at_line_start and chunk == b".\r\n":
                break
            if at_line_start and chunk.startswith(b"."):
                chunk = chunk[1:]
            at_line_start = chunk.endswith(b"\n")
            size += len(chunk)
            if size <= MAX_SIZE:
                chunks.append(chunk)
        code = self.end_of_data(b"".join(chunks), size)
        self.reset()
        log(self.conn, "cmd=. size=%d reply=%d" % (size, code))

    def end_of_data(self, data, size):
        """Answer the final "." of a message."""
        locals_ = [local_part(r) for r in self.rcpts]
        if size > MAX_SIZE:
            return self.reply("552 5.3.4 Message size exceeds limit")
        if any(l.startswith("datareject") for l in locals_):
            return self.reply("554 5.6.0 Message content rejected")
        if any(l.startswith("datatemp") for l in locals_):
            return self.reply("451 4.3.0 Message deferred, try again later")
        num = save(self.sender, self.rcpts, data)
        return self.reply("250 2.0.0 Ok: queued as %s" % num)

    def drop(self):
        """FIN, then a reset (SO_LINGER 0) with the message unread."""
        log(self.conn, "event=drop")
        self.request.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
        self.request.close()

    def cmd_RSET(self, arg):
        self.reset()
        return self.reply("250 2.0.0 Ok")

    def cmd_NOOP(self, arg):
        return self.reply("250 2.0.0 Ok")

    def cmd_QUIT(self, arg):
        return self.reply("221 2.0.0 Bye")


class ClientGone(OSError):
    """The client went away in the middle of a message."""

    def __str__(self):
        return "end of input inside DATA"


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False


def main(argv):
    """Parse the arguments, serve until SIGTERM or SIGINT."""
    if len(argv) not in (3, 6) or (len(argv) == 6 and argv[3] != "--tls"):
        sys.stderr.write("usage: smtp_sink.py PORT OUTDIR [--tls CERT KEY]\n")
        return 64
    port, outdir = int(argv[1]), argv[2]
    os.makedirs(outdir, exist_ok=True)
    settings["outdir"] = outdir
    state["next"] = first_number(outdir)
    if len(argv) == 6:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(argv[4], argv[5])
        settings["tls"] = ctx

    server = Server(("127.0.0.1", port), Session)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print("port=%d" % server.server_address[1], flush=True)

    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
