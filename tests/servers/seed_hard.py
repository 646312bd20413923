#!/usr/bin/env python3
"""Seed the integration-test bucket, and write the independent record of what the server holds.

usage: seed_hard.py ENDPOINT BUCKET MANIFEST
Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Region us-east-1, path style.

This is a second S3 client, written apart from s3meta (Python's http.client, SigV4 signed by hand,
no SDK), so that the tests compare s3meta with something that is not s3meta.

Contents (deterministic):
  bulk/{i:05d}   i in 0..2599; metadata idx=i, kind=bulk for i % 3 != 0; none for i % 3 == 0
  ascii/...      every printable ASCII character c, alone, doubled, at the start and the end of a
                 segment, around a `/`, next to every other character, and at the start and end of a
                 whole key; metadata c=<hex of c>
  hard/...       keys and metadata that break naive clients

MANIFEST (JSON) records, for the tests:
  "puts":  every PUT: key, metadata, and whether the server stored it (and why not: its answer)
  "holds": what the server holds, in listing order: each key as a plain listing (no encoding-type)
           gives it, its size, and what a HEAD of it returns (status, user metadata, RFC 2047 words
           decoded by Python's email package)
A refused PUT of a hard or ascii key (any error answer) is the server's business, recorded and
counted; anything else that goes wrong (a refused bulk PUT, a network error, a
listing that cannot be read, a HEAD that is neither 200 nor 404) fails the seeding with exit 1.
"""
import base64
import datetime
import email.header
import hashlib
import hmac
import http.client
import json
import os
import re
import sys
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

BULK = 2600
REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# An object may carry 100+ metadata headers; http.client refuses more than 100 by default.
http.client._MAXHEADERS = 10000

PRINTABLE = [chr(b) for b in range(0x20, 0x7F)]


def ascii_keys():
    """(key, the character's hex) for every key of the ascii set."""
    keys = []
    for c in PRINTABLE:
        h = "%02x" % ord(c)
        keys += [(k, h) for k in [
            "ascii/%s/%s" % (h, c),  # alone
            "ascii/%s/%s%s" % (h, c, c),  # doubled
            "ascii/%s/%sx" % (h, c),  # at the start of a segment
            "ascii/%s/x%s" % (h, c),  # at the end of a segment
            "ascii/%s/%s/%s" % (h, c, c),  # `/`-separated
            "ascii/%s/pairs-%s" % (h, "".join(c + d for d in PRINTABLE)),  # next to every other one
            "%sascii-start-%s" % (c, h),  # at the start of a whole key
            "ascii-end-%s%s" % (h, c),  # at the end of a whole key
        ]]
    return keys


HARD_KEYS = [
    "hard/space key.txt",
    "hard/plus+key",
    "hard/percent%41%zz",
    "hard/amp&lt<gt>",
    "hard/quotes'\"",
    "hard/unicode-\u65e5\u672c\u8a9e-\u00f6-\U0001F431",
    "hard/control\x01char",
    "hard/escape\x1b[31mred",
    "hard//double//slash",
    "hard/trailing/",
    "hard/semi;colon=equals\\backslash\ttab",
    "hard/pipe|key",
    "hard/bidi-\u202egnp.exe",
]
# A 1,024-byte key, in 200-byte path segments (file-system backed servers cap a name at 255 bytes).
LONG = "hard/long/"
while len(LONG) < 1024:
    LONG += ("k" * 199 + "/") if 1024 - len(LONG) > 200 else "k" * (1024 - len(LONG))
assert len(LONG.encode()) == 1024
HARD_KEYS.append(LONG)

HARD_META = {
    "hard/meta-empty": [("x-amz-meta-empty", ""), ("x-amz-meta-plain", "x")],
    "hard/meta-rfc2047-b": [("x-amz-meta-b", "=?UTF-8?B?5pel5pys6Kqe?=")],
    "hard/meta-rfc2047-q": [("x-amz-meta-q", "=?UTF-8?Q?Mini=C3=B6?=")],
    "hard/meta-100": [("x-amz-meta-m%03d" % i, "value-%d" % i) for i in range(100)],
    "hard/meta-big": [("x-amz-meta-big", "v" * 2100)],
    "hard/meta-specials": [("x-amz-meta-specials", "a;b=c\\d \"q\" <x> & 'y'")],
    # Names that differ only by case: one object with each spelling; both print as "case".
    "hard/meta-case-upper": [("x-amz-meta-CASE", "upper")],
    "hard/meta-case-mixed": [("x-amz-meta-CaSe", "mixed"), ("x-amz-meta-Other-Name", "v")],
    "hard/no-metadata": [],
}


class Failure(Exception):
    """Something went wrong that is not the server's right to refuse a key."""


class Client:
    """A tiny S3 client: one keep-alive connection per thread, requests signed with SigV4."""

    def __init__(self, endpoint):
        u = urllib.parse.urlsplit(endpoint)
        if u.scheme != "http":
            raise Failure("only http:// endpoints: %s" % endpoint)
        self.host, self.port, self.netloc = u.hostname, u.port or 80, u.netloc
        self.key_id = os.environ["AWS_ACCESS_KEY_ID"]
        self.secret = os.environ["AWS_SECRET_ACCESS_KEY"]
        self.local = threading.local()

    def _sign(self, method, path, query, headers, payload_hash):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        sent = [("host", self.netloc), ("x-amz-content-sha256", payload_hash), ("x-amz-date", amz_date)]
        sent += headers
        names = sorted({n.lower() for n, _ in sent})
        canon = "".join(
            "%s:%s\n" % (n, ",".join(" ".join(v.split()) for m, v in sent if m.lower() == n)) for n in names
        )
        creq = "\n".join([method, path, query, canon, ";".join(names), payload_hash])
        scope = "%s/%s/s3/aws4_request" % (day, REGION)
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.secret).encode()
        for part in (day, REGION, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            self.key_id, scope, ";".join(names), sig)
        return sent + [("authorization", auth)]

    def request(self, method, path, query="", headers=(), body=b""):
        """(status, [(header name, raw value bytes)], body bytes); one retry on a dropped connection."""
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        for attempt in range(3):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                conn.putrequest(method, path + ("?" + query if query else ""), skip_host=True,
                                skip_accept_encoding=True)
                for n, v in self._sign(method, path, query, list(headers), payload_hash):
                    conn.putheader(n, v.encode("utf-8"))
                if body or method == "PUT":
                    conn.putheader("content-length", str(len(body)))
                conn.endheaders(body if body else None)
                r = conn.getresponse()
                data = r.read()
                # http.client reads header values as ISO-8859-1: encoding them back gives the bytes.
                raw = [(n.lower(), v.encode("iso-8859-1")) for n, v in r.getheaders()]
                return r.status, raw, data
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise Failure("%s %s: %s" % (method, path[:80], e))


def object_path(bucket, key):
    return "/%s/%s" % (bucket, urllib.parse.quote(key.encode("utf-8"), safe="/-_.~"))


def query_string(params):
    return "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                    for k, v in sorted(params.items()))


def xml_unescape(raw):
    """XML text (bytes) with the five entities and character references resolved."""
    named = {b"amp": b"&", b"lt": b"<", b"gt": b">", b"quot": b'"', b"apos": b"'"}

    def one(m):
        name = m.group(1)
        if name.startswith(b"#x") or name.startswith(b"#X"):
            return chr(int(name[2:], 16)).encode("utf-8")
        if name.startswith(b"#"):
            return chr(int(name[1:])).encode("utf-8")
        if name in named:
            return named[name]
        raise Failure("unknown XML entity &%s;" % name.decode("latin-1"))

    return re.sub(rb"&(#?[0-9A-Za-z]+);", one, raw)


def decoded_metadata(headers):
    """User metadata from raw headers: names lower-cased without x-amz-meta-, repeated names joined
    with ',', a value made of RFC 2047 encoded words decoded (by Python's email package)."""
    meta = {}
    for name, value in headers:
        if not name.startswith("x-amz-meta-"):
            continue
        text = value
        words = value.decode("ascii", "replace").strip()
        if re.fullmatch(r"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=\s*)+", words):
            parts = email.header.decode_header(words)
            text = b"".join(p if cs is None else p.decode(cs).encode("utf-8") for p, cs in parts)
        short = name[len("x-amz-meta-"):]
        meta[short] = meta[short] + b"," + text if short in meta else text
    return meta


def b64(b):
    return base64.b64encode(b).decode()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    endpoint, bucket, manifest_path = sys.argv[1:]
    client = Client(endpoint)

    status, _, body = client.request("PUT", "/" + bucket)
    if status not in (200, 409):
        raise Failure("creating bucket %s: HTTP %d %s" % (bucket, status, body[:200]))

    jobs = [("bulk/%05d" % i, [] if i % 3 == 0 else [("x-amz-meta-idx", str(i)), ("x-amz-meta-kind", "bulk")])
            for i in range(BULK)]
    jobs += [(k, [("x-amz-meta-c", h)]) for k, h in ascii_keys()]
    jobs += [(k, [("x-amz-meta-kind", "hard-key")]) for k in HARD_KEYS]
    jobs += list(HARD_META.items())
    # The ascii set writes some keys twice ("xx" is both `x` doubled and `x` before an x): once is enough.
    seen = set()
    jobs = [j for j in jobs if not (j[0] in seen or seen.add(j[0]))]

    def put(job):
        key, headers = job
        status, _, answer = client.request("PUT", object_path(bucket, key), headers=headers, body=b"x" * 10)
        why = None
        if status != 200:
            # A key the server will not store is the server's business (s3s-fs answers 500 for what
            # its file system cannot hold); a bulk object it will not store is a broken seeding.
            code = re.search(rb"<Code>(.*?)</Code>", answer)
            why = "HTTP %d%s" % (status, " " + code.group(1).decode("utf-8", "replace") if code else "")
            if key.startswith("bulk/"):
                raise Failure("PUT %r: %s" % (key[:80], why))
        return {"key": b64(key.encode("utf-8")), "metadata": {n.lower()[len("x-amz-meta-"):]: v for n, v in headers},
                "stored": status == 200, "why": why}

    # Bulk objects in parallel; the others one after another, in order: on a file-system store `a/!`
    # and `a/!/!` cannot both exist, and which one is stored must not depend on timing.
    bulk = [j for j in jobs if j[0].startswith("bulk/")]
    with ThreadPoolExecutor(16) as ex:
        puts = list(ex.map(put, bulk))
    puts += [put(j) for j in jobs if not j[0].startswith("bulk/")]

    # What the server holds: a plain listing (no encoding-type, so nothing to decode), page by page.
    listed, token = [], None
    while True:
        params = {"list-type": "2", "max-keys": "1000"}
        if token:
            params["continuation-token"] = token
        status, _, page = client.request("GET", "/" + bucket, query_string(params))
        if status != 200:
            raise Failure("listing: HTTP %d %s" % (status, page[:300]))
        for contents in re.findall(rb"<Contents>(.*?)</Contents>", page, re.S):
            key = re.search(rb"<Key>(.*?)</Key>", contents, re.S)
            size = re.search(rb"<Size>(\d+)</Size>", contents)
            if not key or not size:
                raise Failure("a listing entry without Key or Size: %r" % contents[:200])
            listed.append((xml_unescape(key.group(1)), int(size.group(1))))
        truncated = re.search(rb"<IsTruncated>(true|false)</IsTruncated>", page)
        if not truncated:
            raise Failure("a listing page without IsTruncated")
        if truncated.group(1) == b"false":
            break
        nxt = re.search(rb"<NextContinuationToken>(.*?)</NextContinuationToken>", page, re.S)
        if not nxt:
            raise Failure("a truncated listing page without NextContinuationToken")
        token = xml_unescape(nxt.group(1)).decode("utf-8")

    def head(item):
        key, size = item
        path = "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/-_.~"))
        status, headers, _ = client.request("HEAD", path)
        if status not in (200, 404):
            raise Failure("HEAD %r: HTTP %d" % (key[:80], status))
        meta = decoded_metadata(headers) if status == 200 else {}
        return {"key": b64(key), "size": size, "head_status": status,
                "metadata": {n: b64(v) for n, v in sorted(meta.items())}}

    with ThreadPoolExecutor(16) as ex:
        holds = list(ex.map(head, listed))

    stored = {p["key"] for p in puts if p["stored"]}
    held = {h["key"] for h in holds}
    with open(manifest_path, "w") as f:
        json.dump({"endpoint": endpoint, "bucket": bucket, "puts": puts, "holds": holds}, f, indent=0)
    refused = [p for p in puts if not p["stored"]]
    print("seeded bucket=%s puts=%d stored=%d refused=%d held=%d held_not_put=%d stored_not_held=%d "
          "head_404=%d manifest=%s" % (
              bucket, len(puts), len(stored), len(refused), len(holds), len(held - stored), len(stored - held),
              sum(h["head_status"] == 404 for h in holds), manifest_path))
    for p in refused[:10]:
        print("  refused %r: %s" % (base64.b64decode(p["key"])[:60], p["why"]))


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        sys.exit("seed_hard.py: %s" % e)
