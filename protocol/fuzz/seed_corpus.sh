#!/usr/bin/env bash
# Seeds corpus/decode_request/ with every captured frame (and its payload
# without the length prefix) from ../tests/captures/*.hex.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/decode_request
mkdir -p "$out"
python3 - "$out" ../tests/captures/*.hex <<'PY'
import hashlib, os, sys
out = sys.argv[1]
n = 0
for path in sys.argv[2:]:
    for line in open(path):
        if line[:2] in ("> ", "< "):
            frame = bytes.fromhex(line[2:].strip())
            for blob in (frame, frame[4:]):
                name = hashlib.sha1(blob).hexdigest()
                with open(os.path.join(out, name), "wb") as f:
                    f.write(blob)
                n += 1
print("seeded %d inputs into %s" % (n, out))
PY
