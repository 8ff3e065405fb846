"""``alabel export`` (a bundle for a colleague), ``alabel serve`` (the dashboard) and ``alabel passwd``."""
from __future__ import annotations

import sys
from pathlib import Path

from .common import config_error, is_data_file
from .common import DEFAULT_CONFIG


def cmd_export(args) -> int:
    from alabel.core.bundle import export_bundle
    from alabel.core.config import SessionConfig

    config = SessionConfig.load(args.config)
    path = export_bundle(config, args.out, data=args.data, with_model=args.with_model)
    print(f"exported the session to {path} (open it with: alabel train {path})")
    return 0


def cmd_serve(args) -> int:
    from alabel.core.registry import allow_bundle_plugins
    from alabel.dashboard.app import serve
    from alabel.dashboard.auth import AuthOptions

    allow_bundle_plugins(args.allow_plugins)
    auth = AuthOptions(password_file=args.password_file, oauth_provider=args.oauth_provider,
                       oauth_key=args.oauth_key, oauth_redirect_uri=args.oauth_redirect_uri,
                       cookie_secret_file=args.cookie_secret_file)
    options = dict(address=args.address, port=args.port, show=args.show, num_threads=args.num_threads,
                   layout=args.layout, allow_hosts=tuple(args.allow_host), auth=auth)
    if is_data_file(Path(args.config)):  # no config yet: the setup page writes one next to the data
        from alabel.dashboard.setup_page import SetupServer

        data = Path(args.config)
        out = data.resolve().parent / DEFAULT_CONFIG
        if out.exists():
            raise config_error(f"{out}: already exists; serve it (alabel serve {out}) or move it away to set "
                                f"up {data.name} again")
        serve(None, setup=SetupServer([data], out), **options)
        return 0
    config = Path(args.config)
    if args.config == DEFAULT_CONFIG and not config.exists():
        shipped = Path(__file__).resolve().parents[2] / DEFAULT_CONFIG  # the repository's example session
        config = shipped if shipped.exists() else config
    serve(config, **options)
    return 0


def cmd_passwd(args) -> int:
    from alabel.dashboard.passwords import check_user_name, set_password

    check_user_name(args.user)
    if args.delete:
        existed = set_password(args.file, args.user, None)
        print(f"{args.file}: {'removed' if existed else 'no'} user {args.user}")
        return 0
    password = _read_new_password()
    existed = set_password(args.file, args.user, password)
    print(f"{args.file}: {'changed the password of' if existed else 'added'} user {args.user}")
    return 0


def _read_new_password() -> str:
    """The new password: typed twice on a terminal, else the first line of standard input."""
    import getpass

    if sys.stdin.isatty():
        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            raise config_error("passwd: the two passwords differ; nothing written")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise config_error("passwd: the password is too short (at least 8 characters); nothing written")
    return password
