"""A real, throw-away IMAP server for the mailbox tests: Debian's ``dovecot-imapd`` on 127.0.0.1.

``running_dovecot()`` writes a minimal configuration into a fresh temporary directory (plain IMAP on a
free port, no TLS, one user from a passwd-file, maildir storage, logs and sockets all inside that
directory), starts ``dovecot -F`` in the foreground, waits for its greeting and yields an
``ImapServer``; on exit it stops dovecot and removes the directory. Mail is delivered by IMAP APPEND,
so no MTA is needed.

It works as root (the CI container, this development VM) and as an ordinary user: dovecot refuses to
run its login processes as root and to give mail to uid 0, so as root the login/internal processes use
the package's ``dovenull``/``dovecot`` users and the mail belongs to ``nobody``; as an ordinary user
everything runs as that user with chroot switched off (only root may chroot).

Without dovecot installed the tests are skipped, except on CI (``CI`` set), where a missing server
means a broken image and must fail loudly rather than pass by skipping.
"""

import contextlib
import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

STARTUP_TIMEOUT = 15.0


class ImapServer(NamedTuple):
    """Where the running test server listens and whom it lets in."""

    host: str
    port: int
    user: str
    password: str

    def settings(self, **overrides) -> dict:
        """The ``settings.IMAP`` dict that points the poller at this server."""
        return {
            "HOST": self.host,
            "PORT": self.port,
            "USER": self.user,
            "PASSWORD": self.password,
            "FOLDER": "INBOX",
            "SSL": False,
            "STARTTLS": False,
            **overrides,
        }

    def mailbox(self):
        """A logged-in imap-tools client (use as a context manager)."""
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted(self.host, self.port, timeout=10).login(self.user, self.password)


def dovecot_binary() -> str:
    """The dovecot executable, or skip (fail on CI) when the package is not installed."""
    found = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
    if found:
        return found
    message = "dovecot is not installed (apt-get install -y dovecot-imapd)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must provide it", pytrace=False)
    pytest.skip(message)


def dovecot_version(binary: str) -> tuple[int, int]:
    output = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"(\d+)\.(\d+)", output.strip())
    if not match:
        raise RuntimeError(f"unrecognised dovecot version {output!r}")
    return int(match.group(1)), int(match.group(2))


def free_port() -> int:
    # The port is released before dovecot binds it; a collision in that instant is possible but rare,
    # and would show as a clear "Address already in use" in the log quoted by the failure.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Accounts(NamedTuple):
    internal_user: str
    internal_group: str
    login_user: str
    mail_uid: int
    mail_gid: int
    chroot: bool


def _accounts() -> _Accounts:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        return _Accounts(me.pw_name, group, me.pw_name, me.pw_uid, me.pw_gid, chroot=False)
    try:
        internal = pwd.getpwnam("dovecot")
        login = pwd.getpwnam("dovenull")
    except KeyError:
        pytest.fail("running as root needs the dovecot and dovenull users that dovecot-core creates")
    nobody = pwd.getpwnam("nobody")
    return _Accounts(
        internal.pw_name,
        grp.getgrgid(internal.pw_gid).gr_name,
        login.pw_name,
        nobody.pw_uid,
        nobody.pw_gid,
        chroot=True,
    )


def _config(version: tuple[int, int], root: Path, port: int, accounts: _Accounts) -> str:
    """A complete dovecot.conf; nothing from /etc/dovecot is read."""
    no_chroot = "" if accounts.chroot else "  chroot =\n"
    services = f"""
service imap-login {{
{no_chroot}  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
{no_chroot}}}
"""
    if os.geteuid() == 0:
        # The passwd-file sits in a directory only root may enter; auth runs as its default user
        # (the internal one) otherwise and could not read it.
        services += "service auth {\n  user = root\n}\nservice auth-worker {\n  user = root\n}\n"
    common = f"""listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
auth_mechanisms = plain login
default_internal_user = {accounts.internal_user}
default_internal_group = {accounts.internal_group}
default_login_user = {accounts.login_user}
first_valid_uid = {min(accounts.mail_uid, 500)}
first_valid_gid = {min(accounts.mail_gid, 500)}
"""
    if version >= (2, 4):
        # 2.4 renamed most settings and requires the version header first. Written from the 2.4
        # documentation; Debian 12 (CI, development) ships 2.3, so this branch is the less exercised.
        return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
protocols = imap
{common}auth_allow_cleartext = yes
mail_home = {root}/mail/%{{user}}
mail_driver = maildir
mail_path = ~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb passwd-file {{
  passwd_file_path = {root}/passwd
}}
userdb static {{
  fields {{
    uid = {accounts.mail_uid}
    gid = {accounts.mail_gid}
    home = {root}/mail/%{{user}}
  }}
}}
{services}"""
    return f"""protocols = imap
{common}disable_plaintext_auth = no
mail_location = maildir:{root}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={accounts.mail_uid} gid={accounts.mail_gid} home={root}/mail/%u
}}
{services}"""


def _wait_for_greeting(process: subprocess.Popen, port: int, root: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        time.sleep(0.1)
    output = "".join(
        path.read_text(errors="replace")
        for path in (root / "stderr.log", root / "dovecot.log")
        if path.exists()
    )
    raise RuntimeError(f"dovecot did not start on 127.0.0.1:{port}:\n{output[-3000:]}")


@contextlib.contextmanager
def running_dovecot(user: str = "chief", password: str = "mailbox-secret") -> Iterator[ImapServer]:
    """Start a private dovecot for the duration of the block."""
    binary = dovecot_binary()
    version = dovecot_version(binary)
    accounts = _accounts()
    # Not pytest's tmp_path: its parents are mode 0700, and the unprivileged dovecot processes
    # (as root: nobody for mail) must be able to reach their directories.
    root = Path(tempfile.mkdtemp(prefix="minsheng-dovecot-"))
    process = None
    stderr = None
    try:
        root.chmod(0o711)
        mail = root / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            os.chown(mail, accounts.mail_uid, accounts.mail_gid)
        passwd = root / "passwd"
        passwd.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        passwd.chmod(0o600)
        port = free_port()
        conf = root / "dovecot.conf"
        conf.write_text(_config(version, root, port, accounts))
        # Configuration errors are printed before the log file is open: keep stderr for the failure.
        stderr = open(root / "stderr.log", "wb")  # closed in the finally block
        process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=stderr)
        _wait_for_greeting(process, port, root)
        yield ImapServer("127.0.0.1", port, user, password)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if stderr is not None:
            stderr.close()
        shutil.rmtree(root, ignore_errors=True)
