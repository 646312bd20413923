#!/usr/bin/env python3
"""What a hostile server can make s3meta spend: peak RSS, CPU and time for each attack of issue 7.

usage: benches/hostile.py [--s3meta BIN] [--only CASE[,CASE...]]

A scripted asyncio server on 127.0.0.1 (a port below 32768, stopped at the end) plays each attack;
s3meta scans it (anonymous, --format text, output to /dev/null) under /usr/bin/time. Prints one row
per case: exit code, wall seconds, CPU seconds (user + system, from wait4) and peak RSS, and what the
scan said. Cases:
  stall-30k      the first HEAD stalls 8 s; the other 9,999 objects carry 30 KB of metadata each
                 (just under the default --max-header-bytes): what the byte budget has to hold back
  stall-headers  the same with 240 metadata headers of 128 bytes each (30 KB: as many and as long as
                 the default limits allow)
  stall-900k     the same with 900 KB each (issue 7's case): refused by the default header limit
  stall-900k-1m  the same with --max-header-bytes 1048576, so the records are accepted
  list-flood     one LIST page of 6,100,000 <Contents/> (67 MB)
  list-fat       200 pages of one entry with a 4 MiB <DisplayName>, the first HEAD stalled 8 s
  rfc2047        100 objects, each with a 1 MiB x-amz-meta-x of `=?a?b?x` (--max-header-bytes 2 MiB)
  token-cycle    continuation tokens A, B, A, B...
Each stall case runs at -j 256 (the default) and -j 4096.
"""
import argparse
import asyncio
import os
import re
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import REPO, free_port, timed  # noqa: E402

OBJECTS = 10_000
STALL_SECONDS = 8.0
PAGE = 1000


def listing(keys, token=None, truncated=False):
    parts = ["<ListBucketResult><IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false")]
    if token:
        parts.append("<NextContinuationToken>%s</NextContinuationToken>" % token)
    for k in keys:
        parts.append("<Contents><Key>%s</Key><ETag>&quot;e&quot;</ETag><Size>1</Size></Contents>" % k)
    parts.append("</ListBucketResult>")
    return "".join(parts).encode()


class Attack:
    """One scripted server: `answer(method, target)` gives (status, headers, body) or sleeps."""

    def __init__(self, case):
        self.case = case
        self.started = None
        m = re.match(r"stall-(\d+)k", case)
        self.meta = b"v" * (int(m.group(1)) * 1000) if m else b"1"
        self.headers = [(b"x-amz-meta-%04d" % i, b"v" * 109) for i in range(240)] if case == "stall-headers" else None
        if case == "list-fat":
            self.fat = "o" * (4 << 20)
        if case == "list-flood":
            self.flood = b"<ListBucketResult><IsTruncated>false</IsTruncated>" + b"<Contents/>" * 6_100_000 + \
                b"</ListBucketResult>"
        if case == "rfc2047":
            self.bomb = (b"=?a?b?x" * ((1 << 20) // 7 + 1))[: 1 << 20]

    async def answer(self, method, target):
        loop = asyncio.get_running_loop()
        if self.started is None:
            self.started = loop.time()
        if target.startswith("/bkt?"):
            if self.case == "list-flood":
                return 200, [], self.flood
            if self.case == "token-cycle":
                second = "continuation-token=B" in target
                keys = ["c", "d"] if second else ["a", "b"]
                return 200, [], listing(keys, "A" if second else "B", True)
            if self.case == "list-fat":
                page = int(re.search(r"continuation-token=p(\d+)", target).group(1)) if "continuation-token" in target else 0
                more = page + 1 < 200
                body = ("<ListBucketResult><IsTruncated>%s</IsTruncated>%s<Contents><Key>k%05d</Key><Size>1</Size>"
                        "<Owner><DisplayName>%s</DisplayName></Owner></Contents></ListBucketResult>" % (
                            "true" if more else "false",
                            "<NextContinuationToken>p%d</NextContinuationToken>" % (page + 1) if more else "",
                            page, self.fat))
                return 200, [], body.encode()
            n = 100 if self.case == "rfc2047" else OBJECTS
            page = int(re.search(r"continuation-token=p(\d+)", target).group(1)) if "continuation-token" in target else 0
            keys = ["k%05d" % i for i in range(page * PAGE, min(n, (page + 1) * PAGE))]
            more = (page + 1) * PAGE < n
            return 200, [], listing(keys, "p%d" % (page + 1) if more else None, more)
        if self.case == "rfc2047":
            return 200, [(b"x-amz-meta-x", self.bomb)], b""
        if target == "/bkt/k00000":
            await asyncio.sleep(max(0.0, self.started + STALL_SECONDS - loop.time()))
        return 200, self.headers or [(b"x-amz-meta-v", self.meta)], b""


async def serve(attack, port, ready):
    async def client(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target = head.split(b"\r\n", 1)[0].decode().split(" ")[:2]
                status, headers, body = await attack.answer(method, target)
                out = [b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n" % (status, len(body))]
                out += [n + b": " + v + b"\r\n" for n, v in headers]
                out.append(b"\r\n")
                writer.write(b"".join(out))
                if method != "HEAD":
                    writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", port, backlog=8192, limit=1 << 16)
    ready.set()
    async with server:
        await server.serve_forever()


def run_case(binary, case, jobs, extra, tmp):
    attack = Attack(case)
    port = free_port(23000)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    def run_server():
        try:
            loop.run_until_complete(serve(attack, port, ready))
        except RuntimeError:  # stopped at the end of the case
            pass

    t = threading.Thread(target=run_server, daemon=True)
    t.start()
    ready.wait(10)
    argv = [binary, "scan", "s3://bkt", "--endpoint-url", "http://127.0.0.1:%d" % port, "--no-sign-request",
            "--format", "text", "--progress", "never", "-o", "/dev/null", "-j", str(jobs)] + extra
    code, wall, user, sys_, rss = timed(argv, os.environ.copy(), os.path.join(tmp, "out"))
    err = open(os.path.join(tmp, "out.err"), errors="replace").read().strip().splitlines()
    summary = next((l for l in reversed(err) if "listed=" in l), "")
    said = summary.replace("s3meta: ", "")
    said = re.sub(r" seconds=.*", "", said)
    first = err[0][:110] if err and not err[0].startswith("s3meta: listed=") else ""
    loop.call_soon_threadsafe(loop.stop)
    return code, wall, user + sys_, rss / 1024, said, first


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--s3meta", default=os.path.join(REPO, "target", "release", "s3meta"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    cases = [
        ("stall-30k", 256, []), ("stall-30k", 4096, []),
        ("stall-headers", 256, []), ("stall-headers", 4096, []),
        ("stall-900k", 256, []), ("stall-900k", 4096, []),
        ("stall-900k-1m", 256, ["--max-header-bytes", "1048576"]),
        ("stall-900k-1m", 4096, ["--max-header-bytes", "1048576"]),
        ("list-flood", 256, []),
        ("list-fat", 256, []),
        ("rfc2047", 256, ["--max-header-bytes", "2097152"]),
        ("token-cycle", 256, []),
    ]
    only = set(filter(None, args.only.split(",")))
    print("| case | -j | exit | wall s | CPU s | peak RSS MiB | what the scan said |")
    print("|---|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="s3meta-hostile.") as tmp:
        for case, jobs, extra in cases:
            if only and case not in only:
                continue
            server_case = "stall-900k" if case == "stall-900k-1m" else case
            code, wall, cpu, rss, said, first = run_case(args.s3meta, server_case, jobs, extra, tmp)
            note = said + ("; " + first if first else "")
            print("| %s | %d | %d | %.2f | %.2f | %.1f | %s |" % (case, jobs, code, wall, cpu, rss, note), flush=True)
    print("\nCommand: `benches/hostile.py%s`" % (" --only " + args.only if args.only else ""))


if __name__ == "__main__":
    main()
