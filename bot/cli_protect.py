"""`checkins` commands for data protection: keygen, rotate-key, purge, mentee export / erase."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register(sub: Any, mentee: Any) -> None:
    """Add the commands to the top-level (`sub`) and `mentee` subparsers."""
    p = mentee.add_parser("export", help="subject-access export: everything held about a mentee")
    p.add_argument("mentee")
    p.add_argument("--out", required=True, help="folder to write the JSON, text and HTML files to")
    p.set_defaults(func=cmd_mentee_export)
    p = mentee.add_parser("erase", help="remove a mentee's personal data (keeps anonymous figures)")
    p.add_argument("mentee")
    p.add_argument("--force", action="store_true", help="erase even with an alert open (needs --reason)")
    p.add_argument("--reason", default="", help="why it cannot wait for the alert to be closed")
    p.add_argument("--yes", action="store_true", help="do not ask to confirm")
    p.set_defaults(func=cmd_mentee_erase)

    p = sub.add_parser("purge", help="apply the retention rules now ([service] retention_days)")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.set_defaults(func=cmd_purge)
    p = sub.add_parser("rotate-key", help="re-encrypt stored data under the active key (resumable)")
    p.add_argument("--batch", type=int, default=200, help="rows per transaction")
    p.set_defaults(func=cmd_rotate_key)
    p = sub.add_parser("keygen", help="make encryption keys (prints a [security] section)")
    p.add_argument("--out", default="", help="write a new key file here (0600) instead of printing")
    p.add_argument("--add-key", action="store_true",
                   help="add a new key to the key file in use and make it active (then run rotate-key)")
    p.set_defaults(func=cmd_keygen)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def cmd_mentee_export(args: argparse.Namespace) -> int:
    from bot.app import protect
    from bot.cli_commands import _me, _services

    done = protect.export(_services(args), _me(), args.mentee)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"mentee-{done.mentee_id}-export"
    for suffix, content in ((".json", done.json), (".txt", done.text), (".html", done.html)):
        _write_private(out / f"{stem}{suffix}", content)
        print(f"wrote {out / (stem + suffix)}")
    print("records: " + ", ".join(f"{k} {n}" for k, n in done.counts.items()))
    print("check it for other people's details (staff notes name others) before you send it")
    return 0


def cmd_mentee_erase(args: argparse.Namespace) -> int:
    from bot.app import protect
    from bot.cli import CliError
    from bot.cli_commands import _me, _services

    if args.reason and not args.force:
        raise CliError("--reason goes with --force")
    if not args.yes and sys.stdin.isatty():
        answer = input(f"erase mentee {args.mentee!r} for good? this cannot be undone [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing erased")
            return 1
    done = protect.erase(_services(args), _me(), args.mentee, force=args.force, reason=args.reason)
    print(f"erased: the record is now {done.name!r}")
    for kind, n in done.cleared.items():
        if n:
            print(f"  {kind}: {n}")
    if done.alerts_closed:
        print(f"  alerts closed: {', '.join(done.alerts_closed)}")
    print("kept: dates, statuses, answer values and mood numbers, alert categories (for the digests)")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.app import protect
    from bot.cli_commands import _me, _services

    done = protect.purge(_services(args), _me(), dry_run=args.dry_run)
    if done.cutoff is None:
        print("retention is off ([service] retention_days = 0): nothing is removed")
        return 0
    verb = "would remove" if done.dry_run else "removed"
    total = sum(done.by_kind.values())
    print(f"{verb} the words of {total} records from before {done.cutoff.date().isoformat()}")
    for kind, n in done.by_kind.items():
        print(f"  {kind}: {n}")
    for mentee_id, n in sorted(done.by_mentee.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        who = f"mentee {mentee_id} ({done.names.get(mentee_id, '?')})" if mentee_id else "no mentee"
        print(f"  {who}: {n}")
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    from bot.app import protect
    from bot.cli_commands import _me, _services
    from bot.storage.rekey import Progress

    def progress(p: Progress) -> None:
        print(f"{p.table}: {p.rows_seen} of {p.rows_total} rows checked, {p.rewritten} re-encrypted",
              flush=True)

    try:
        done = protect.rotate_keys(_services(args), _me(), batch=args.batch, progress=progress)
    except KeyboardInterrupt:
        print("stopped: what was done is kept; run `checkins rotate-key` again to carry on",
              file=sys.stderr)
        return 130
    print(f"done: every stored value is under key {done.active}" if set(done.usage) <= {done.active}
          else f"done, but some values are not under {done.active}: {done.usage}")
    print("values per key: " + (", ".join(f"{k} {n}" for k, n in sorted(done.usage.items())) or "none"))
    old = [k for k in _known_keys(args) if k != done.active]
    if old:
        print(f"older keys ({', '.join(old)}) are no longer used by the database; keep them while "
              "backups made before today are kept")
    return 0


def _known_keys(args: argparse.Namespace) -> list[str]:
    from bot.cli import _config
    from bot.keyring import keyring_for

    cfg = _config(args)
    return sorted(keyring_for(cfg.security, cfg.service.database_url).keys)


def cmd_keygen(args: argparse.Namespace) -> int:
    from bot.cli import CliError, _config
    from bot.keyring import Keyring, add_key, beside, read_key_file, render_key_file, sqlite_file, write_key_file

    if args.add_key:
        cfg = _config(args)
        if cfg.security.keys:
            ring = add_key(Keyring.from_settings(cfg.security.keys, cfg.security.active_key,
                                                 cfg.security.lookup_key, source="config"))
            new_line = render_key_file(ring).splitlines()[-1]
            print(f"# add this to [security] keys, set active_key = \"{ring.active}\", then run "
                  "`checkins rotate-key`:")
            print(new_line)
            return 0
        path_text = cfg.security.key_file or os.environ.get("CHECKINS_SECURITY_KEY_FILE", "")
        db_file = sqlite_file(cfg.service.database_url)
        path = Path(path_text) if path_text else (beside(db_file) if db_file else None)
        if path is None or not path.exists():
            raise CliError("no key file in use: run `checkins init` or `checkins keygen --out FILE` first")
        ring = add_key(read_key_file(path))
        write_key_file(path, ring, replace=True)
        print(f"added key {ring.active} to {path} and made it active; now run `checkins rotate-key`")
        print("back up the key file again: the new key is only in it")
        return 0
    ring = Keyring.generate(source="new")
    text = render_key_file(ring)
    if args.out:
        try:
            write_key_file(Path(args.out), ring)
        except FileExistsError:
            raise CliError(f"{args.out} already exists: keys are never overwritten") from None
        print(f"wrote {args.out} (readable by you only); set [security] key_file = \"{args.out}\"")
        print("back it up now, apart from the database backups: without it the data cannot be read")
        return 0
    print(text.replace('active_key', '[security]\nactive_key', 1).replace('[keys]\n', '[security.keys]\n'))
    return 0
