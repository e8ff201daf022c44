"""Signs EIP-712 typed data the way a member's wallet would, for trying the API by hand.

    curl ... /v1/gifts/typed-data | .venv/api/bin/python tools/sign_typed_data.py MEMBER_PRIVATE_KEY

Reads the gateway's typed-data answer (or bare typed data) on standard input and prints the
0x signature. `--new-key` prints a fresh member key and address instead.
"""

from __future__ import annotations

import json
import sys

from eth_account import Account
from eth_account.messages import encode_typed_data


def main(argv: list[str]) -> int:
    if argv[:1] == ["--new-key"]:
        account = Account.create()
        print(
            json.dumps({"private_key": "0x" + bytes(account.key).hex(), "address": account.address})
        )
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    doc = json.load(sys.stdin)
    typed = doc.get("typed_data", doc)
    signed = Account.sign_message(encode_typed_data(full_message=typed), argv[0])
    print("0x" + bytes(signed.signature).hex())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
