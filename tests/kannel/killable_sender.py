"""The real SMS sender, made to stop at one chosen point of its Nth send so a test can SIGKILL it there.

    python tests/kannel/killable_sender.py after_accept 3   # Kannel answered 202; our row still 'sending'
    python tests/kannel/killable_sender.py before_request 3 # row marked 'sending'; no request made yet

It prints ``PAUSED <message id>`` when it reaches the point and then waits to be killed. Settings come
from the environment (DATABASE_URL, KANNEL_*, SMS_*), as for ``minsheng sms-sender``.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")

import django

django.setup()

from minsheng.sms.backends.kannel import KannelBackend  # noqa: E402
from minsheng.sms.sender import Sender  # noqa: E402

MODE, NTH = sys.argv[1], int(sys.argv[2])
_send = KannelBackend.send
_count = 0


def _pause(message):
    print(f"PAUSED {message.pk}", flush=True)
    time.sleep(600)


def send(self, message):
    global _count
    _count += 1
    if _count == NTH and MODE == "before_request":
        _pause(message)
    result = _send(self, message)
    if _count == NTH and MODE == "after_accept":
        _pause(message)
    return result


KannelBackend.send = send
sender = Sender()
while True:
    sender.run_once()
    time.sleep(0.05)
