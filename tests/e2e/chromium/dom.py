#!/usr/bin/env python3
"""Print the DOM of a page as headless chromium rendered it, with scripts disabled.

chromium's --dump-dom reads the DOM with a script of its own, which
--blink-settings=scriptEnabled=false blocks (it prints nothing). This drives chromium
over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages ended by
NUL on descriptors 3 and 4) and reads the DOM with DOM.getOuterHTML, which runs no
script in the page: it opens about:blank, navigates to URL, waits for the load event,
then prints the document's outer HTML.

    dom.py [CHROMIUM FLAG...] URL

The caller bounds the wait (timeout(1)); chromium's own output goes to stderr.
"""
import fcntl
import json
import os
import subprocess
import sys


def main():
    flags, url = sys.argv[1:-1], sys.argv[-1]
    to_chromium = os.pipe()    # we write, chromium reads on 3
    from_chromium = os.pipe()  # chromium writes on 4, we read
    # Out of the way of 3 and 4 before the child dup2s onto them.
    rd = fcntl.fcntl(to_chromium[0], fcntl.F_DUPFD, 5)
    wr = fcntl.fcntl(from_chromium[1], fcntl.F_DUPFD, 5)

    def child():
        os.dup2(rd, 3)
        os.dup2(wr, 4)

    proc = subprocess.Popen(
        ["chromium", "--headless=new", "--remote-debugging-pipe", *flags, "about:blank"],
        preexec_fn=child, pass_fds=(3, 4), stdout=sys.stderr, stderr=sys.stderr)
    for fd in (rd, wr, to_chromium[0], from_chromium[1]):
        os.close(fd)
    out = os.fdopen(to_chromium[1], "wb", buffering=0)
    inp = os.fdopen(from_chromium[0], "rb", buffering=0)
    pending = b""
    next_id = 0

    def read_message():
        nonlocal pending
        while b"\0" not in pending:
            chunk = inp.read(65536)
            if not chunk:
                sys.exit("dom.py: chromium closed the pipe")
            pending += chunk
        msg, pending = pending.split(b"\0", 1)
        return json.loads(msg)

    def send(method, params=None, session=None):
        nonlocal next_id
        next_id += 1
        msg = {"id": next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        out.write(json.dumps(msg).encode() + b"\0")
        return next_id

    def call(method, params=None, session=None, until_event=None):
        """Send, and wait for the answer (and the event until_event, when given)."""
        want = send(method, params, session)
        answer, seen = None, until_event is None
        while answer is None or not seen:
            msg = read_message()
            if msg.get("id") == want:
                if "error" in msg:
                    sys.exit("dom.py: %s: %s" % (method, msg["error"]))
                answer = msg["result"]
            elif until_event and msg.get("method") == until_event:
                seen = True
        return answer

    target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    call("Page.enable", session=session)
    call("Page.navigate", {"url": url}, session, until_event="Page.loadEventFired")
    root = call("DOM.getDocument", {"depth": -1}, session)["root"]
    html = call("DOM.getOuterHTML", {"nodeId": root["nodeId"]}, session)["outerHTML"]
    sys.stdout.write(html + "\n")
    sys.stdout.flush()
    send("Browser.close")
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
