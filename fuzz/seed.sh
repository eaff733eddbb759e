#!/usr/bin/env bash
# Writes seed inputs into fuzz/corpus/TARGET/ from the repository's test
# vectors: tests/data/rfc/*.json (tokens and JWKs), tests/data/keys/* (PEM,
# DER, JWK) and tests/data/attacks/*.json (attack tokens, assembled from
# their header, payload and signature, once as given and once MACed with the
# RFC 7515 A.1 HS256 key that the `validate` target trusts, so seeds reach
# the claim checks). The corpus directories are git-ignored; running this
# again only adds files. Needs python3 (standard library only).
set -euo pipefail

cd "$(dirname "$0")/.."

python3 - <<'PY'
import base64, glob, hashlib, hmac, json, os, zlib

ROOT = "fuzz/corpus"
TARGETS = ["validate", "mutate_token", "jwk", "key_formats", "decode_unverified",
           "api_key", "authorization_header", "introspect"]
for t in TARGETS:
    os.makedirs(os.path.join(ROOT, t), exist_ok=True)

def write(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]
    digest = hashlib.sha1(data).hexdigest()[:10]
    with open(os.path.join(ROOT, target, f"{safe}-{digest}"), "wb") as f:
        f.write(data)

def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)

rfc = {os.path.basename(p)[:-5]: load(p) for p in sorted(glob.glob("tests/data/rfc/*.json"))}
HS_KEY = base64.urlsafe_b64decode(rfc["rfc7515_a1_hs256"]["jwk"]["k"] + "==")

def hs256(signing_input):
    return b64(hmac.new(HS_KEY, signing_input.encode(), hashlib.sha256).digest())

GOOD = ('{"iss":"https://auth.example.com","sub":"user-1","aud":"https://api.example.com",'
        '"iat":1750000000,"exp":1750000600}')
HS_HEADER = '{"alg":"HS256","kid":"hs256-1","typ":"JWT"}'
HEADERS = {"ed25519": '{"alg":"EdDSA","kid":"ed-1","typ":"JWT"}',
           "es256": '{"alg":"ES256","kid":"es256-1","typ":"JWT"}',
           "es384": '{"alg":"ES384","kid":"es384-1","typ":"JWT"}',
           "rs256": '{"alg":"RS256","kid":"rs256-1","typ":"JWT"}',
           "hs256": HS_HEADER}

tokens = []  # (name, token)
for name, v in rfc.items():
    tokens.append((name, v["token"]))
    for member in ("jwk", "public_jwk"):
        if v.get(member):
            write("jwk", f"{name}-{member}", json.dumps(v[member]))

for path in sorted(glob.glob("tests/data/attacks/*.json")):
    group = os.path.basename(path)[:-5]
    for case in load(path):
        name = f"{group}-{case['name']}"
        if "token" in case:
            tokens.append((name, case["token"]))
        inp = case.get("input")
        if not isinstance(inp, dict):
            continue
        if "header_hex" in inp:
            header = b64(bytes.fromhex(inp["header_hex"]))
        elif "header_raw" in inp:
            header = inp["header_raw"]
        else:
            header = b64(inp.get("header") or HEADERS.get(inp.get("key"), HS_HEADER))
        if "payload_hex" in inp:
            payload = b64(bytes.fromhex(inp["payload_hex"]))
        elif "payload_raw" in inp:
            payload = inp["payload_raw"]
        else:
            payload = b64(inp.get("payload") or GOOD)
        if "signature_hex" in inp:
            signature = b64(bytes.fromhex(inp["signature_hex"]))
        elif "signature" in inp:
            signature = inp["signature"]
        else:
            signature = b64(b"\x00" * 64)
        tokens.append((name, f"{header}.{payload}.{signature}"))
        tokens.append((name + "-hs", f"{header}.{payload}.{hs256(header + '.' + payload)}"))
        if "payload" in inp:
            signing_input = f"{b64(HS_HEADER)}.{b64(inp['payload'])}"
            tokens.append((name + "-hs-claims", f"{signing_input}.{hs256(signing_input)}"))

signing_input = f"{b64(HS_HEADER)}.{b64(GOOD)}"
tokens.append(("good-hs256", f"{signing_input}.{hs256(signing_input)}"))

for name, token in tokens:
    for target in ("validate", "decode_unverified", "introspect"):
        write(target, name, token)
    write("authorization_header", name, f"Bearer {token}")

# Key files: every format for key_formats, the JWKs for jwk too.
public_jwks = []
for path in sorted(glob.glob("tests/data/keys/*")):
    base = os.path.basename(path)
    if base.endswith(".md"):
        continue
    with open(path, "rb") as f:
        data = f.read()
    if base.endswith(".jwk.json"):
        write("jwk", base, data)
        if "public" in base:
            public_jwks.append(json.loads(data))
    elif base.endswith(".json"):
        continue
    else:
        write("key_formats", base, data)
write("jwk", "jwks-all-public", json.dumps({"keys": public_jwks}))

# API key and refresh token shapes: lead, 12 + 33 (or 43) base62 characters,
# and a valid CRC32 checksum; unknown ids, so they reach the store lookup.
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def checksum(body):
    n, out = zlib.crc32(body.encode()), ""
    for _ in range(6):
        n, d = divmod(n, 62)
        out = B62[d] + out
    return out
def shaped(lead, secret_len, fill):
    body = lead + (fill * 60)[:12 + secret_len]
    return body + checksum(body)
keys = [shaped("acme_live_", 33, f) for f in ("A1b2C3", "zzzz", "0")]
keys += [shaped("acme_test_", 33, "k"), "acme_live_", "acme_live_" + "x" * 51]
refresh = [shaped("rt_", 43, f) for f in ("Rt9", "q")]
for i, k in enumerate(keys):
    write("api_key", f"key{i}", k)
    write("introspect", f"key{i}", k)
    write("authorization_header", f"key{i}", f"Bearer {k}")
for i, r in enumerate(refresh):
    write("introspect", f"refresh{i}", r)
for i, h in enumerate(["Basic dXNlcjpwYXNz", "bearer    abc.def.ghi", "Bearer", "Bearer ",
                       "BEARER abc==", "Bearer abc def", "Bearer\tabc"]):
    write("authorization_header", f"header{i}", h)

for t in TARGETS:
    print(f"{t}: {len(os.listdir(os.path.join(ROOT, t)))} files")
PY
