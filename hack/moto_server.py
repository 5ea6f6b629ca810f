"""Runs moto's server for the conformance tests: `python moto_server.py PORT`.

moto 5.2.x generates VPC Lattice IDs such as `sn-de524a4f-5d89-4b6`, which do not match AWS's ID
pattern (17 characters of [0-9a-z]) and so fail the operator's CRD validation. Its vpclattice
models take IDs from `uuid.uuid4()`; swapping that module reference for one whose `uuid4()` returns
the hex form yields AWS-shaped IDs. Everything else is moto as released.
"""

import sys
import types
import uuid

import moto.vpclattice.models as models
from moto.server import ThreadedMotoServer


class _HexUUID(types.SimpleNamespace):
    pass


models.uuid = _HexUUID(uuid4=lambda: uuid.uuid4().hex)

port = int(sys.argv[1])
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print(f"moto listening on http://127.0.0.1:{port}", flush=True)
try:
    sys.stdin.read()  # runs until the parent closes stdin or dies
finally:
    server.stop()
