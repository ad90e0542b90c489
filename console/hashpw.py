"""`python -m console.hashpw [USER] [--role operator]`: read a password (twice, not echoed) and print the
argon2id hash, or a ready [console.users.USER] table, to paste into edihub.toml."""
from __future__ import annotations

import argparse
import getpass
import sys


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher
    return PasswordHasher().hash(password)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m console.hashpw", description=__doc__)
    ap.add_argument("user", nargs="?", help="console user name: print a whole [console.users.<user>] table")
    ap.add_argument("--role", choices=["viewer", "operator"], default="viewer")
    ap.add_argument("--stdin", action="store_true", help="read the password from standard input (one line)")
    a = ap.parse_args(argv)
    if a.stdin:
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = getpass.getpass("password: ")
        if getpass.getpass("again: ") != pw:
            print("console.hashpw: the passwords differ", file=sys.stderr)
            return 2
    if len(pw) < 8:
        print("console.hashpw: use at least 8 characters", file=sys.stderr)
        return 2
    h = hash_password(pw)
    if a.user:
        print(f'[console.users.{a.user}]\npassword_hash = "{h}"\nrole = "{a.role}"')
    else:
        print(h)
    return 0


if __name__ == "__main__":
    sys.exit(main())
