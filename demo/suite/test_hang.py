# SPDX-License-Identifier: MIT
"""hang (deadlock): two workers move money between accounts, each locking the source account
first. When two transfers go opposite ways at the same moment, each holds one account's lock and
waits for the other's: a deadlock, stopped by --fh-timeout and named in the hang snapshot."""
import itertools
import threading
import time

_runs = itertools.count(1)


class Account:
    def __init__(self, balance):
        self.balance = balance
        self.lock = threading.Lock()


def transfer(src, dst, amount, pause):
    with src.lock:
        time.sleep(pause)      # an audit call; long enough for the other transfer to start
        with dst.lock:
            src.balance -= amount
            dst.balance += amount


def test_transfers():
    a, b = Account(100), Account(100)
    # every third attempt, the two transfers overlap
    pause = 0.05 if next(_runs) % 3 == 0 else 0.0
    one = threading.Thread(target=transfer, args=(a, b, 10, pause), name="transfer-a-to-b",
                           daemon=True)
    two = threading.Thread(target=transfer, args=(b, a, 5, pause), name="transfer-b-to-a",
                           daemon=True)
    one.start()
    if not pause:
        one.join()
    two.start()
    one.join()
    two.join()
    assert (a.balance, b.balance) == (95, 105)
