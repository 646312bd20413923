#!/usr/bin/env python3
"""Seed the integration-test bucket with boto3 (an independent S3 client).

usage: seed_hard.py ENDPOINT BUCKET
Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Region us-east-1, path style.

Contents (deterministic; tests/scan_real_servers.rs knows them):
  bulk/{i:05d}   i in 0..2599; metadata idx=i, kind=bulk for i % 3 != 0; none for i % 3 == 0
  hard/...       keys that break naive clients, with metadata that breaks naive clients
A PUT the server refuses is printed as `refused KEY: ERROR` and skipped: what each server stores is
then pinned by the golden files, not by this script.
"""
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config

BULK = 2600

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
]
# A 1,024-byte key, in 200-byte path segments (file-system backed servers cap a name at 255 bytes).
LONG = "hard/long/"
while len(LONG) < 1024:
    LONG += ("k" * 199 + "/") if 1024 - len(LONG) > 200 else "k" * (1024 - len(LONG))
assert len(LONG.encode()) == 1024
HARD_KEYS.append(LONG)

HARD_META = {
    "hard/meta-empty": {"empty": "", "plain": "x"},
    "hard/meta-rfc2047-b": {"b": "=?UTF-8?B?5pel5pys6Kqe?="},
    "hard/meta-rfc2047-q": {"q": "=?UTF-8?Q?Mini=C3=B6?="},
    "hard/meta-100": {"m%03d" % i: "value-%d" % i for i in range(100)},
    "hard/meta-big": {"big": "v" * 2100},
    "hard/meta-specials": {"specials": "a;b=c\\d \"q\" <x> & 'y'"},
}


def put_raw(endpoint, bucket, key, headers):
    """PUT with headers exactly as given (boto3 merges names that differ only by case), signed by hand."""
    u = urllib.parse.urlsplit(endpoint)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    body = b"x" * 10
    payload = hashlib.sha256(body).hexdigest()
    path = "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/-_.~"))
    sent = [("host", u.netloc), ("x-amz-content-sha256", payload), ("x-amz-date", amz_date)] + headers
    names = sorted({n.lower() for n, _ in sent})
    canon = "".join("%s:%s\n" % (n, ",".join(v.strip() for m, v in sent if m.lower() == n)) for n in names)
    creq = "\n".join(["PUT", path, "", canon, ";".join(names), payload])
    scope = "%s/us-east-1/s3/aws4_request" % day
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        os.environ["AWS_ACCESS_KEY_ID"], scope, ";".join(names), sig)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
    for n, v in sent:
        conn.putheader(n, v)
    conn.putheader("authorization", auth)
    conn.putheader("content-length", str(len(body)))
    conn.endheaders(body)
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        print("refused %r: HTTP %d" % (key, r.status), file=sys.stderr)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    endpoint, bucket = sys.argv[1], sys.argv[2]
    cfg = botocore.config.Config(
        s3={"addressing_style": "path"}, max_pool_connections=16, retries={"max_attempts": 5, "mode": "standard"}
    )
    c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
    try:
        c.create_bucket(Bucket=bucket)
    except Exception as e:  # already there: fine, PUTs overwrite
        print("create_bucket: %s" % str(e)[:200], file=sys.stderr)

    def put(key, meta):
        try:
            c.put_object(Bucket=bucket, Key=key, Body=b"x" * 10, Metadata=meta)
        except Exception as e:
            print("refused %r: %s" % (key[:60], str(e)[:200]), file=sys.stderr)

    jobs = [("bulk/%05d" % i, {} if i % 3 == 0 else {"idx": str(i), "kind": "bulk"}) for i in range(BULK)]
    jobs += [(k, {"kind": "hard-key"}) for k in HARD_KEYS]
    jobs += [(k, m) for k, m in HARD_META.items()]
    jobs.append(("hard/no-metadata", {}))
    with ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda j: put(*j), jobs))
    # Metadata names that differ only by case. Sent as two headers, both RGW and s3s-fs refuse the PUT
    # (HTTP header names are case-insensitive), so one object has each spelling; both must print as "case".
    put_raw(endpoint, bucket, "hard/meta-case-upper", [("x-amz-meta-CASE", "upper")])
    put_raw(endpoint, bucket, "hard/meta-case-mixed", [("x-amz-meta-CaSe", "mixed"), ("x-amz-meta-Other-Name", "v")])
    print("seeded bucket=%s objects=%d" % (bucket, len(jobs)))


if __name__ == "__main__":
    main()
